import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { sift } from '../helpers/cli';
import { examplesDir, tempDir } from '../helpers/paths';

const rows = (path: string): Record<string, unknown>[] => readFileSync(path, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);

test('a metric that cannot be computed is counted apart with its exact reason, not as a failed record (exit 0), also from the store', () => {
  const dir = tempDir();
  const dataset = join(dir, 'long.jsonl');
  // The bundled model's context is 512 tokens: the reverse prompt built from this response does not fit.
  const long = 'Lily went to the park with her mom. She saw a big red ball. '.repeat(40);
  writeFileSync(dataset, `${JSON.stringify({ instruction: 'Write a story about Lily.', input: '', output: 'Lily had a cat.' })}\n${JSON.stringify({ instruction: 'Write a story about Lily.', input: '', output: long })}\n`);
  const out = join(dir, 'scores.jsonl');
  for (const run of ['fresh', 'from the store']) {
    const result = sift(['score', dataset, '--out', out, '-q', '--threads', '1']);
    assert.equal(result.status, 0, `${run}: ${result.stderr}`);
    assert.match(result.stdout, /2 of 2 records scored/, run);
    assert.doesNotMatch(result.stdout, /failed/, run);
    assert.match(result.stdout, /r-IFD not computable for 1 of them/, run);
    assert.match(result.stdout, /^r-IFD\s+1\s+1\s/m, run);
    assert.match(
      result.stderr,
      /long\.jsonl:2: r-IFD not computable: .*the reverse prompt alone is \d+ tokens \(with BOS\); the model context is 512, so no instruction token fits/,
      run,
    );
    const second = rows(out)[1];
    assert.equal(second.error, null, run);
    assert.equal(typeof second.ifd, 'number', run);
    assert.match((second.not_computable as Record<string, string>).rifd, /the reverse prompt alone is \d+ tokens/, run);
  }
});

test('the summary says which way each metric is good and what the >= 1 column counts', () => {
  const dir = tempDir();
  const dataset = join(dir, 'one.jsonl');
  writeFileSync(dataset, `${JSON.stringify({ instruction: 'Write a story about Lily.', input: '', output: 'Lily had a cat.' })}\n`);
  const result = sift(['score', dataset, '-q', '--no-cache', '--threads', '1']);
  assert.equal(result.status, 0, result.stderr);
  assert.match(result.stdout, /^>= 1: the scored records whose value is 1 or more/m);
  assert.match(result.stdout, /^IFD: higher = /m);
  assert.match(result.stdout, /^r-IFD: lower is better/m);
});

test('an endpoint with nothing listening: one line for the failure kind and one with its count, not one per attempt', async () => {
  // A port that was just free: connections to it are refused.
  const port = await new Promise<number>((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const address = server.address() as { port: number };
      server.close(() => resolve(address.port));
    });
  });
  const result = sift(['score', join(examplesDir, 'tinystories-instructions.jsonl'), '--url', `http://127.0.0.1:${port}`, '--no-cache']);
  assert.equal(result.status, 3, result.stderr);
  const lines = result.stderr.trim().split('\n');
  assert.equal(lines.length, 3, result.stderr);
  assert.match(lines[0], /^http:\/\/127\.0\.0\.1:\d+: cannot connect: .*ECONNREFUSED.*; retrying \(up to 6 attempts\)$/);
  assert.match(lines[1], /^http:\/\/127\.0\.0\.1:\d+: cannot connect: .*ECONNREFUSED.*: 6 failed attempts$/);
  assert.match(lines[2], /^sift: list models: gave up after 6 attempts/);
});
