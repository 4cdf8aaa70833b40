/**
 * What the status item and its hover say about the endpoints' health (src/client/endpointHealthModel.ts
 * via describeStatus): short, since VS Code shows a language status item's text and detail on one row.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { StatusParams } from '../../src/protocol';
import { shortReason } from '../../src/client/endpointHealthModel';
import { describeStatus } from '../../src/client/statusModel';

const downSince = new Date(2026, 11, 2, 8, 1, 12).getTime();
const now = downSince + 20_000;
const status = (over: Partial<StatusParams>): StatusParams => ({ scored: 17, total: 18, running: false, endpoint: 'http://gpu:8000', model: 'vllm:qwen', reachable: true, ...over });
const down = { url: 'http://gpu:8000', up: false, downSince, lastError: 'tokenize: gave up after 6 attempts; last error (connection) at http://gpu:8000: fetch failed: connect ECONNREFUSED 10.0.0.2:8000 (ECONNREFUSED)', nextProbeAt: now + 3_400 };

test('every endpoint down: an error naming it, since when, why, when it is tried again, and the records waiting', () => {
  const view = describeStatus(status({ reachable: false, endpoints: [down], waiting: 1 }), 'running', now);
  assert.equal(view.text, 'Sift: endpoint unreachable');
  assert.equal(view.severity, 'error');
  assert.equal(view.action, 'showLog');
  assert.equal(view.detail, 'gpu:8000 since 08:01:12 (ECONNREFUSED), retry in 4 s; 1 waiting');
});

test('one replica of two down: the count of replicas up, a warning, scoring goes on', () => {
  const endpoints = [{ url: 'http://gpu-a:8000', up: true }, { ...down, url: 'http://gpu-b:8000/v2', lastError: 'HTTP 503: loading' }];
  const view = describeStatus(status({ endpoint: 'http://gpu-a:8000, http://gpu-b:8000/v2', endpoints, running: true, scored: 5 }), 'running', now);
  assert.equal(view.text, '5 / 18 scored · 1 of 2 up');
  assert.equal(view.severity, 'warning');
  assert.equal(view.busy, true);
  assert.equal(view.action, 'cancel');
  assert.equal(view.detail, 'gpu-b:8000/v2 unreachable since 08:01:12 (HTTP 503), retry in 4 s');
});

test('every endpoint up: the usual status, nothing about health', () => {
  const view = describeStatus(status({ endpoints: [{ url: 'http://gpu:8000', up: true }] }), 'running', now);
  assert.equal(view.text, '17 / 18 scored');
  assert.equal(view.severity, 'information');
  assert.equal(view.detail, 'http://gpu:8000 · vllm:qwen');
});

test('the gist of a failure', () => {
  assert.equal(shortReason('no complete response within 120000 ms'), 'timed out');
  assert.equal(shortReason('fetch failed: getaddrinfo ENOTFOUND gpu (ENOTFOUND)'), 'ENOTFOUND');
  assert.equal(shortReason('HTTP 429: rate limited'), 'HTTP 429');
  assert.equal(shortReason('socket hang up'), 'socket hang up');
});
