import assert from 'node:assert/strict';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ScoreStore, storeKey } from '../../src/core/store';
import { tempDir } from '../helpers/paths';

const parts = { texts: ['prompt', 'response'], template: 'plain', metric: 'ifd', modelId: 'm', methodVersion: 'v1', boundary: 'clean' };

test('store keys change with every part and do not collide on concatenation', () => {
  const base = storeKey(parts);
  assert.equal(base, storeKey({ ...parts }));
  for (const change of [{ texts: ['prompt', 'responsE'] }, { template: 'alpaca' }, { metric: 'rifd' }, { modelId: 'n' }, { methodVersion: 'v2' }, { boundary: 'faithful' }]) {
    assert.notEqual(storeKey({ ...parts, ...change }), base, JSON.stringify(change));
  }
  assert.notEqual(storeKey({ ...parts, texts: ['ab', 'c'] }), storeKey({ ...parts, texts: ['a', 'bc'] }));
});

test('entries survive a reopen, NaN included', async () => {
  const path = join(tempDir(), '.sift', 'scores.jsonl');
  const store = await ScoreStore.open(path);
  store.put('a', { losses: [0.5, 10, Number.NaN, 0], truncated: true, at: 123 });
  await store.close();
  const again = await ScoreStore.open(path);
  const entry = again.get('a');
  assert.ok(entry);
  assert.equal(entry.losses[0], 0.5);
  assert.equal(entry.losses[1], 10);
  assert.ok(Number.isNaN(entry.losses[2]));
  assert.equal(entry.truncated, true);
  assert.equal(entry.at, 123);
});

test('a torn last entry is ignored on load and the next append starts on a fresh line', async () => {
  const path = join(tempDir(), 'scores.jsonl');
  const store = await ScoreStore.open(path);
  store.put('a', { losses: [1, 2], truncated: false, at: 1 });
  store.put('b', { losses: [3, 4], truncated: false, at: 2 });
  await store.close();
  // A crash in the middle of an append leaves half a line.
  appendFileSync(path, '{"k":"c","v":[5,');
  const reopened = await ScoreStore.open(path);
  assert.equal(reopened.size, 2);
  assert.equal(reopened.skippedLines, 1);
  assert.equal(reopened.get('c'), undefined);
  reopened.put('d', { losses: [7, 8], truncated: false, at: 3 });
  await reopened.close();
  const text = readFileSync(path, 'utf8');
  assert.match(text, /\{"k":"c","v":\[5,\n\{"k":"d"/);
  const third = await ScoreStore.open(path);
  assert.deepEqual(third.get('d')?.losses, [7, 8]);
  assert.equal(third.size, 3);
});

test('later entries win and garbage lines do not stop loading', async () => {
  const path = join(tempDir(), 'scores.jsonl');
  writeFileSync(path, '{"k":"a","v":[1,1],"t":0,"at":1}\nnot json\n{"k":"a","v":[2,2],"t":0,"at":2}\n');
  const store = await ScoreStore.open(path);
  assert.deepEqual(store.get('a')?.losses, [2, 2]);
  assert.equal(store.skippedLines, 1);
});

test('a memory store writes nothing', async () => {
  const store = ScoreStore.memory();
  store.put('a', { losses: [1, 1], truncated: false, at: 1 });
  await store.close();
  assert.equal(store.path, undefined);
  assert.equal(store.size, 1);
});
