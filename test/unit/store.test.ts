import assert from 'node:assert/strict';
import { readFileSync, statSync, utimesSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { test } from 'node:test';
import { ScoreStore, storeKey, defaultStorePath } from '../../src/core/store';
import { MEMORY_STORE_LIMIT, STORE_FLUSH_DELAY_MS } from '../../src/core/store/scoreStore';
import { siftAsync } from '../helpers/cli';
import { tempDir } from '../helpers/paths';
import { waitFor } from '../helpers/waitFor';

const parts = { texts: ['prompt', 'response'], template: 'plain', metric: 'ifd', modelId: 'm', methodVersion: 'v1', boundary: 'clean' };
const key = (n: number): string => storeKey({ ...parts, texts: [`prompt ${n}`, 'response'] });

/** Rows in the database file, read with a connection of our own (what another process sees). */
function rows(path: string, sql = 'SELECT count(*) AS n FROM scores'): number {
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    return Number((db.prepare(sql).get() as { n: number | bigint }).n);
  } finally {
    db.close();
  }
}

test('store keys change with every part and do not collide on concatenation', () => {
  const base = storeKey(parts);
  assert.equal(base, storeKey({ ...parts }));
  for (const change of [{ texts: ['prompt', 'responsE'] }, { template: 'alpaca' }, { metric: 'rifd' }, { modelId: 'n' }, { methodVersion: 'v2' }, { boundary: 'faithful' }]) {
    assert.notEqual(storeKey({ ...parts, ...change }), base, JSON.stringify(change));
  }
  assert.notEqual(storeKey({ ...parts, texts: ['ab', 'c'] }), storeKey({ ...parts, texts: ['a', 'bc'] }));
});

test('the store is .sift/sift.db beside the dataset', () => {
  assert.equal(defaultStorePath(join('data', 'd.jsonl')), join('data', '.sift', 'sift.db'));
});

test('entries survive a reopen, NaN, unscorable and notes included; other keys than hashes too', async () => {
  const path = join(tempDir(), '.sift', 'sift.db');
  const store = await ScoreStore.open(path);
  store.put(key(1), { losses: [0.5, 10, Number.NaN, 0], truncated: true, at: 123, unscorable: [null, 'empty'], notes: ['token prefix'] });
  store.put('plain-key', { losses: [1, 2], truncated: false, at: 5 });
  await store.close();
  const again = await ScoreStore.open(path);
  const entry = again.get(key(1));
  assert.ok(entry);
  assert.equal(entry.losses[0], 0.5);
  assert.equal(entry.losses[1], 10);
  assert.ok(Number.isNaN(entry.losses[2]));
  assert.equal(entry.truncated, true);
  assert.equal(entry.at, 123);
  assert.deepEqual(entry.unscorable, [null, 'empty']);
  assert.deepEqual(entry.notes, ['token prefix']);
  assert.equal(entry.foreign, undefined, 'computed by this installation');
  assert.deepEqual(again.get('plain-key')?.losses, [1, 2]);
  assert.equal(again.size, 2);
  await again.close();
});

test('later entries win, in memory and in the database', async () => {
  const path = join(tempDir(), '.sift', 'sift.db');
  const store = await ScoreStore.open(path);
  store.put(key(1), { losses: [1, 1], truncated: false, at: 1 });
  store.put(key(1), { losses: [2, 2], truncated: false, at: 2 });
  assert.deepEqual(store.get(key(1))?.losses, [2, 2]);
  await store.flush();
  store.put(key(1), { losses: [3, 3], truncated: false, at: 3 });
  await store.close();
  const again = await ScoreStore.open(path);
  assert.deepEqual(again.get(key(1))?.losses, [3, 3]);
  assert.equal(again.size, 1);
  await again.close();
});

test('a memory store writes nothing and keeps at most its limit, dropping the oldest', async () => {
  const store = ScoreStore.memory(3);
  for (let i = 0; i < 5; i++) store.put(key(i), { losses: [i, 1], truncated: false, at: i });
  await store.close();
  assert.equal(store.path, undefined);
  assert.equal(store.size, 3);
  assert.equal(store.get(key(0)), undefined);
  assert.equal(store.get(key(1)), undefined);
  assert.deepEqual(store.get(key(4))?.losses, [4, 1]);
  assert.ok(MEMORY_STORE_LIMIT >= 100_000, 'the default limit holds a large run');
});

test('an entry reaches the database within the flush delay, without waiting for 256 entries or close (kill -9 loses at most that)', async () => {
  const path = join(tempDir(), '.sift', 'sift.db');
  const store = await ScoreStore.open(path);
  store.put(key(1), { losses: [1, 2], truncated: false, at: 1 });
  assert.equal(rows(path), 0, 'held back for the batch');
  await waitFor('the entry in the database, without close()', () => rows(path) === 1, { timeoutMs: 10 * STORE_FLUSH_DELAY_MS });
  await store.close();
});

test('256 entries are written at once, in one transaction', async () => {
  const path = join(tempDir(), '.sift', 'sift.db');
  const store = await ScoreStore.open(path);
  for (let i = 0; i < 255; i++) store.put(key(i), { losses: [i, 1], truncated: false, at: 1 });
  assert.equal(rows(path), 0);
  store.put(key(255), { losses: [255, 1], truncated: false, at: 1 });
  assert.equal(rows(path), 256);
  await store.close();
});

test('a store sees what another connection wrote, at once (no load at open)', async () => {
  const path = join(tempDir(), '.sift', 'sift.db');
  const reader = await ScoreStore.open(path);
  const writer = await ScoreStore.open(path);
  assert.equal(reader.get(key(1)), undefined);
  writer.put(key(1), { losses: [7, 8], truncated: false, at: 1 });
  await writer.flush();
  assert.deepEqual(reader.get(key(1))?.losses, [7, 8]);
  // Another connection of the same process is not another process: its commits are this process's own.
  const before = reader.foreignCommits();
  writer.put(key(2), { losses: [9, 9], truncated: false, at: 1 });
  await writer.flush();
  assert.equal(reader.foreignCommits(), before, "this process's own commits are not another process's");
  // A commit from another process (the CLI imports an export) is.
  const exported = join(tempDir(), 'export.jsonl');
  writeFileSync(exported, JSON.stringify({ k: key(3), v: [1, 2], t: 0, at: 5 }) + '\n');
  const imported = await siftAsync(['store', 'import', exported, '--store', path]);
  assert.equal(imported.status, 0, imported.stderr);
  assert.equal(reader.foreignCommits(), before! + 1, 'another process committed once');
  await Promise.all([reader.close(), writer.close()]);
});

test('the old .sift/scores.jsonl is imported once, torn lines counted, the file left as it is; a changed file is imported again', async () => {
  const dir = tempDir();
  mkdirSync(join(dir, '.sift'));
  const legacy = join(dir, '.sift', 'scores.jsonl');
  const lines = [
    JSON.stringify({ k: key(1), v: [1, 1], t: 0, at: 1 }),
    'not json',
    JSON.stringify({ k: key(2), v: [null, 0, 2, 3], t: 1, at: 2, u: ['empty', null] }),
    JSON.stringify({ k: key(1), v: [5, 5], t: 0, at: 3 }),
  ];
  const text = lines.join('\n') + '\n{"k":"torn","v":[5,';
  writeFileSync(legacy, text);
  const path = join(dir, '.sift', 'sift.db');
  const store = await ScoreStore.open(path);
  assert.equal(store.importedLegacy, 3);
  assert.equal(store.skippedLines, 2);
  assert.deepEqual(store.get(key(1))?.losses, [5, 5], 'later lines win');
  const second = store.get(key(2))!;
  assert.ok(Number.isNaN(second.losses[0]));
  assert.equal(second.truncated, true);
  assert.deepEqual(second.unscorable, ['empty', null]);
  assert.equal(second.foreign, true, 'imported entries are not this installation\'s');
  assert.equal(readFileSync(legacy, 'utf8'), text, 'the old file is not touched');
  await store.close();

  const reopened = await ScoreStore.open(path);
  assert.equal(reopened.importedLegacy, 0, 'imported once');
  reopened.put(key(1), { losses: [9, 9], truncated: false, at: 9 });
  await reopened.close();
  const third = await ScoreStore.open(path);
  assert.deepEqual(third.get(key(1))?.losses, [9, 9], 'not overwritten by a second import');
  await third.close();

  // A pull brings a new version of the old file: it is imported again.
  writeFileSync(legacy, JSON.stringify({ k: key(3), v: [3, 3], t: 0, at: 4 }) + '\n');
  const later = new Date(statSync(legacy).mtimeMs + 5000);
  utimesSync(legacy, later, later);
  const fourth = await ScoreStore.open(path);
  assert.equal(fourth.importedLegacy, 1);
  assert.deepEqual(fourth.get(key(3))?.losses, [3, 3]);
  await fourth.close();
});

test('clear forgets one dataset\'s scores: another dataset\'s stay, and so do entries both use', async () => {
  const dir = tempDir();
  const path = join(dir, '.sift', 'sift.db');
  const a = await ScoreStore.open(path, { dataset: join(dir, 'a.jsonl') });
  const b = await ScoreStore.open(path, { dataset: join(dir, 'b.jsonl') });
  a.put(key(1), { losses: [1, 1], truncated: false, at: 1 });
  a.put(key(2), { losses: [2, 2], truncated: false, at: 1 });
  b.put(key(3), { losses: [3, 3], truncated: false, at: 1 });
  await Promise.all([a.flush(), b.flush()]);
  // b finds a's entry for a record it shares: it is b's too from then on.
  assert.deepEqual(b.get(key(2))?.losses, [2, 2]);
  await b.flush();
  await a.clear();
  assert.equal(a.get(key(1)), undefined, 'a\'s own entry is gone');
  assert.deepEqual(a.get(key(2))?.losses, [2, 2], 'the entry b uses stays');
  assert.deepEqual(b.get(key(3))?.losses, [3, 3], 'b\'s entry stays');
  assert.equal(rows(path), 2);
  await a.flush();
  await b.clear();
  assert.equal(rows(path), 1, 'now the shared entry is a\'s again (found by a after the clear) and stays');
  await Promise.all([a.close(), b.close()]);
});

test('clearModel forgets the scores of one model (and metric)', async () => {
  const path = join(tempDir(), '.sift', 'sift.db');
  const store = await ScoreStore.open(path);
  store.put(key(1), { losses: [1, 1], truncated: false, at: 1 }, { modelId: 'm1', metric: 'ifd' });
  store.put(key(2), { losses: [2, 2], truncated: false, at: 1 }, { modelId: 'm1', metric: 'ds' });
  store.put(key(3), { losses: [3, 3], truncated: false, at: 1 }, { modelId: 'm2', metric: 'ifd' });
  assert.equal(await store.clearModel('m1', 'ds'), 1);
  assert.equal(store.get(key(2)), undefined);
  assert.equal(await store.clearModel('m1'), 1);
  assert.equal(store.get(key(1)), undefined);
  assert.deepEqual(store.get(key(3))?.losses, [3, 3]);
  assert.equal(await store.clearModel('nobody'), 0);
  await store.close();
});

test('a JSON-lines file given as the store is refused with what to do instead', async () => {
  const path = join(tempDir(), 'scores.jsonl');
  writeFileSync(path, '{"k":"a","v":[1,1]}\n');
  await assert.rejects(ScoreStore.open(path), /is not a Sift store database.*sift store import/);
});

test('a store another writer keeps locked is reported once, keeps every entry, and a later flush writes them all', async () => {
  const path = join(tempDir(), '.sift', 'sift.db');
  process.env.SIFT_STORE_BUSY_TIMEOUT_MS = '50';
  let store: ScoreStore;
  try {
    store = await ScoreStore.open(path);
  } finally {
    delete process.env.SIFT_STORE_BUSY_TIMEOUT_MS;
  }
  const heard: (string | undefined)[] = [];
  store.onWriteStatus = (error) => heard.push(error?.message);
  const locker = new DatabaseSync(path);
  locker.exec('BEGIN IMMEDIATE');
  store.put(key(1), { losses: [1, 2], truncated: false, at: 1 });
  await store.flush();
  store.put(key(2), { losses: [3, 4], truncated: false, at: 2 });
  await store.flush();
  assert.equal(heard.length, 1, 'reported once, not once per flush');
  assert.match(heard[0] ?? '', /locked|busy/i);
  assert.ok(store.writeError);
  assert.equal(store.unsaved, 2);
  assert.deepEqual(store.get(key(1))?.losses, [1, 2], 'still served from memory');

  locker.exec('COMMIT');
  locker.close();
  store.put(key(3), { losses: [5, 6], truncated: false, at: 3 });
  await store.flush();
  assert.deepEqual(heard, [heard[0], undefined], 'told once that writing works again');
  assert.equal(store.writeError, undefined);
  assert.equal(store.unsaved, 0);
  await store.close();
  const reopened = await ScoreStore.open(path);
  assert.deepEqual([1, 2, 3].map((k) => reopened.get(key(k))?.losses), [[1, 2], [3, 4], [5, 6]]);
  await reopened.close();
});
