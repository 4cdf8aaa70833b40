import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HttpEventDigest } from '../../src/core/scoring/http/eventDigest';
import type { HttpEvent } from '../../src/core/scoring/http/pool';

const url = 'http://127.0.0.1:1';
const retry = (attempt: number, message = 'connect ECONNREFUSED'): HttpEvent => ({
  type: 'retry', url, what: 'list models', attempt, maxAttempts: 6, kind: 'connection', message, delayMs: 10,
});
const down: HttpEvent = { type: 'endpoint-down', url, message: 'connect ECONNREFUSED', avoidForMs: 500 };

describe('HttpEventDigest', () => {
  it('an endpoint with nothing listening: one line when it starts, one with the count when the call gives up', () => {
    const lines: string[] = [];
    const digest = new HttpEventDigest((line) => lines.push(line));
    for (let attempt = 1; attempt <= 5; attempt++) {
      digest.add(down);
      digest.add(retry(attempt));
    }
    digest.add(down);
    digest.add({ type: 'gave-up', url, what: 'list models', attempts: 6, kind: 'connection', message: 'connect ECONNREFUSED' });
    digest.flush();
    assert.deepEqual(lines, [
      `${url}: cannot connect: connect ECONNREFUSED; retrying (up to 6 attempts)`,
      `${url}: cannot connect: connect ECONNREFUSED: 6 failed attempts`,
    ]);
  });

  it('keeps failure kinds apart, and writes counts of retried failures when flushed', () => {
    const lines: string[] = [];
    const digest = new HttpEventDigest((line) => lines.push(line));
    digest.add(retry(1));
    digest.add({ type: 'retry', url, what: 'completions (3 prompts)', attempt: 1, maxAttempts: 6, kind: 'status', status: 503, message: 'busy', delayMs: 10 });
    digest.add({ type: 'retry', url, what: 'completions (4 prompts)', attempt: 1, maxAttempts: 6, kind: 'status', status: 503, message: 'busy', delayMs: 10 });
    digest.add({ type: 'endpoint-up', url });
    assert.deepEqual(lines, [
      `${url}: cannot connect: connect ECONNREFUSED; retrying (up to 6 attempts)`,
      `${url}: HTTP 503: busy; retrying (up to 6 attempts)`,
      `${url}: HTTP 503: busy: 2 failed attempts`,
      `${url}: answering again`,
    ]);
    digest.flush();
    assert.equal(lines.length, 4, 'nothing new to write');
  });

  it('reports a failure that keeps repeating again with its count every 30 s', () => {
    const lines: string[] = [];
    let now = 0;
    const digest = new HttpEventDigest((line) => lines.push(line), () => now);
    digest.add(retry(1));
    now = 10_000;
    digest.add(retry(2));
    assert.equal(lines.length, 1);
    now = 31_000;
    digest.add(retry(3));
    assert.deepEqual(lines.slice(1), [`${url}: cannot connect: connect ECONNREFUSED: 3 failed attempts`]);
  });
});
