import assert from 'node:assert/strict';
import { appendFileSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ScoreStore, storeKey } from '../../src/core/store';
import { STORE_FLUSH_DELAY_MS } from '../../src/core/store/scoreStore';
import { tempDir } from '../helpers/paths';
import { waitFor } from '../helpers/waitFor';

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

test('an entry reaches the file within the flush delay, without waiting for 256 entries or close (kill -9 loses at most that)', async () => {
  const path = join(tempDir(), '.sift', 'scores.jsonl');
  const store = await ScoreStore.open(path);
  store.put('a', { losses: [1, 2], truncated: false, at: 1 });
  await waitFor('the entry in the file, without close()', () => existsSync(path) && readFileSync(path, 'utf8').includes('"k":"a"'), { timeoutMs: 10 * STORE_FLUSH_DELAY_MS });
  assert.match(existsSync(path) ? readFileSync(path, 'utf8') : '', /"k":"a"/, 'written without close()');
  await store.close();
});

test('an unwritable store is reported once, keeps every entry, and a later flush writes them all', async () => {
  const dir = tempDir();
  const path = join(dir, '.sift', 'scores.jsonl');
  const store = await ScoreStore.open(path);
  const heard: (string | undefined)[] = [];
  store.onWriteStatus = (error) => heard.push(error?.message);
  // A file where the store's folder should be: no append can succeed (whoever runs the test, root included).
  writeFileSync(join(dir, '.sift'), '');
  store.put('a', { losses: [1, 2], truncated: false, at: 1 });
  await store.flush();
  store.put('b', { losses: [3, 4], truncated: false, at: 2 });
  await store.flush();
  assert.equal(heard.length, 1, 'reported once, not once per flush');
  assert.ok(heard[0]);
  assert.ok(store.writeError);
  assert.equal(store.unsaved, 2);
  assert.deepEqual(store.get('a')?.losses, [1, 2], 'still served from memory');

  rmSync(join(dir, '.sift'));
  store.put('c', { losses: [5, 6], truncated: false, at: 3 });
  await store.flush();
  assert.deepEqual(heard, [heard[0], undefined], 'told once that writing works again');
  assert.equal(store.writeError, undefined);
  assert.equal(store.unsaved, 0);
  await store.close();
  const reopened = await ScoreStore.open(path);
  assert.deepEqual(['a', 'b', 'c'].map((k) => reopened.get(k)?.losses), [[1, 2], [3, 4], [5, 6]]);
});
