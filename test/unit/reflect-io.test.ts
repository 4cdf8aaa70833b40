import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { test } from 'node:test';
import { parseFile } from '../../src/core/dataset/parse';
import { ReflectionCache, defaultReflectionCachePath, reflectionKey, type CachedReflection } from '../../src/core/reflect/cache';
import { FileChangedError, rewriteLines, type LineEdit } from '../../src/core/reflect/rewriteLines';
import { tempDir } from '../helpers/paths';
import { storeRows } from '../helpers/store';

async function rewrite(path: string, edits: LineEdit[]): Promise<Buffer> {
  const parts: Buffer[] = [];
  await rewriteLines(path, edits, async (bytes) => {
    parts.push(Buffer.from(bytes));
  });
  return Buffer.concat(parts);
}

/** Edits located the way the CLI locates them: from parseFile's offsets and texts. */
async function editsFor(path: string, changes: Map<number, string | undefined>): Promise<LineEdit[]> {
  const edits: LineEdit[] = [];
  for await (const record of parseFile(path, { name: 'alpaca' })) {
    if (changes.has(record.line)) edits.push({ offset: record.offset!, original: record.text, replacement: changes.get(record.line) });
  }
  return edits;
}

test('rewriteLines: replaced and dropped lines; everything else byte for byte (BOM, CRLF, lone CR, bad UTF-8, no final newline)', async () => {
  const dir = tempDir();
  const path = join(dir, 'data.jsonl');
  const a = '{"instruction":"a","output":"1"}';
  const b = '{"instruction":"bé","output":"2"}';
  const c = '{"instruction":"c","output":"3"}';
  const d = '{"instruction":"d","output":"4"}';
  const bad = Buffer.from([0x7b, 0xff, 0x7d]);
  const source = Buffer.concat([
    Buffer.from([0xef, 0xbb, 0xbf]),
    Buffer.from(`${a}\r\n${b}\r\n`),
    bad,
    Buffer.from(`\n${c}\r${d}`),
  ]);
  writeFileSync(path, source);
  const edits = await editsFor(path, new Map([[1, '{"instruction":"A","output":"1"}'], [2, undefined], [5, '{"x":"é"}']]));
  assert.equal(edits.length, 3);
  const out = await rewrite(path, edits);
  const expected = Buffer.concat([
    Buffer.from([0xef, 0xbb, 0xbf]),
    Buffer.from('{"instruction":"A","output":"1"}\r\n'),
    bad,
    Buffer.from(`\n${c}\r{"x":"é"}`),
  ]);
  assert.deepEqual(out, expected);
  assert.deepEqual(await rewrite(path, []), source);
});

test('rewriteLines: dropping a line ending in a lone CR or the last line', async () => {
  const dir = tempDir();
  const path = join(dir, 'data.jsonl');
  writeFileSync(path, '{"instruction":"a","output":"1"}\r{"instruction":"b","output":"2"}\n');
  assert.equal((await rewrite(path, await editsFor(path, new Map([[1, undefined]])))).toString(), '{"instruction":"b","output":"2"}\n');
  assert.equal((await rewrite(path, await editsFor(path, new Map([[2, undefined]])))).toString(), '{"instruction":"a","output":"1"}\r');
});

test('rewriteLines: a file that changed since it was read is refused before the edited line is written', async () => {
  const dir = tempDir();
  const path = join(dir, 'data.jsonl');
  writeFileSync(path, '{"instruction":"a","output":"1"}\n{"instruction":"b","output":"2"}\n');
  const edits = await editsFor(path, new Map([[2, '{"instruction":"B","output":"2"}']]));
  writeFileSync(path, '{"instruction":"a","output":"1"}\n{"instruction":"x","output":"2"}\n');
  await assert.rejects(rewrite(path, edits), FileChangedError);
});

const entry = (response: string): CachedReflection => ({ critique: 'c', instruction: 'i', response, usage: { promptTokens: 10, completionTokens: 5 }, structured: true, at: 1 });

test('reflection cache: in the store database beside the dataset; persists across opens, later entries win', async () => {
  const dir = tempDir();
  const path = defaultReflectionCachePath(join(dir, 'data.jsonl'));
  assert.equal(path, join(dir, '.sift', 'sift.db'));
  const first = await ReflectionCache.open(path);
  await first.put('k1', entry('one'));
  await first.put('k2', entry('two'));
  await first.put('k1', entry('uno'));
  assert.equal(storeRows(path, 'reflections'), 2, 'written at once, not held back');
  await first.close();
  const second = await ReflectionCache.open(path);
  assert.equal(second.get('k1')?.response, 'uno');
  assert.deepEqual(second.get('k2'), entry('two'));
  assert.equal(second.has('k3'), false);
  assert.equal(second.size, 2);
  await second.close();
});

test('reflection cache: the old .sift/reflections.jsonl is imported once (torn lines counted, the file left as it is), and its entries are foreign', async () => {
  const dir = tempDir();
  mkdirSync(join(dir, '.sift'));
  const legacy = join(dir, '.sift', 'reflections.jsonl');
  const text = [JSON.stringify({ k: 'k1', v: entry('one') }), JSON.stringify({ k: 'k1', v: entry('uno') }), JSON.stringify({ k: 'k2', v: entry('two') })].join('\n') + '\n{"k":"k3","v":{"critique":"c","resp';
  writeFileSync(legacy, text);
  const path = defaultReflectionCachePath(join(dir, 'data.jsonl'));
  const cache = await ReflectionCache.open(path);
  assert.equal(cache.skippedLines, 1);
  assert.equal(cache.get('k1')?.response, 'uno', 'later lines win');
  assert.equal(cache.get('k2')?.foreign, true, 'not made by this installation');
  assert.equal(cache.has('k3'), false);
  await cache.put('k4', entry('four'));
  assert.equal(cache.get('k4')?.foreign, undefined);
  // A restricted workspace: what came with the folder is not served (it is asked again), our own is.
  cache.acceptForeign = false;
  assert.equal(cache.get('k2'), undefined);
  assert.equal(cache.get('k4')?.response, 'four');
  cache.acceptForeign = true;
  await cache.close();
  assert.equal(readFileSync(legacy, 'utf8'), text, 'the old file is not touched');
  const again = await ReflectionCache.open(path);
  assert.equal(again.skippedLines, 0, 'imported once');
  assert.equal(again.size, 3);
  await again.close();
});

test('reflection cache: a failed write never fails the reflection; the entry is written by the next write that works', async () => {
  const dir = tempDir();
  const path = defaultReflectionCachePath(join(dir, 'data.jsonl'));
  process.env.SIFT_STORE_BUSY_TIMEOUT_MS = '50';
  let cache: ReflectionCache;
  try {
    cache = await ReflectionCache.open(path);
  } finally {
    delete process.env.SIFT_STORE_BUSY_TIMEOUT_MS;
  }
  const heard: (string | undefined)[] = [];
  cache.onWriteStatus = (error) => heard.push(error?.message);
  // Another writer holds the database: no write can succeed until it lets go.
  const locker = new DatabaseSync(path);
  locker.exec('BEGIN IMMEDIATE');
  await cache.put('k1', entry('one'));
  await cache.put('k2', entry('two'));
  assert.equal(heard.length, 1);
  assert.equal(cache.unsaved, 2);
  assert.equal(cache.get('k1')?.response, 'one');
  locker.exec('COMMIT');
  locker.close();
  await cache.put('k3', entry('three'));
  await cache.close();
  assert.equal(heard.length, 2);
  assert.equal(heard[1], undefined);
  const reopened = await ReflectionCache.open(path);
  assert.deepEqual(['k1', 'k2', 'k3'].map((k) => reopened.get(k)?.response), ['one', 'two', 'three']);
  await reopened.close();
});

test('reflection cache: a folder where the database cannot be created keeps the run\'s reflections in memory, reported once', async () => {
  const dir = tempDir();
  // A file where `.sift/` should be, whoever runs the test.
  writeFileSync(join(dir, '.sift'), '');
  const cache = await ReflectionCache.openOrKeepInMemory(defaultReflectionCachePath(join(dir, 'data.jsonl')));
  const heard: (string | undefined)[] = [];
  cache.onWriteStatus = (error) => heard.push(error?.message);
  await cache.put('k1', entry('one'));
  await cache.put('k2', entry('two'));
  assert.equal(heard.length, 1);
  assert.equal(cache.unsaved, 2);
  assert.equal(cache.get('k2')?.response, 'two');
});

test('reflection keys: every part matters, none leaks across parts', () => {
  const base = { promptVersion: 'v1', teacherModel: 'm', kind: 'instruction' as const, temperature: 0, instruction: 'ab', input: '', response: 'c' };
  const key = reflectionKey(base);
  assert.match(key, /^[0-9a-f]{32}$/);
  for (const change of [{ promptVersion: 'v2' }, { teacherModel: 'n' }, { kind: 'response' as const }, { temperature: 0.7 }, { instruction: 'a', input: 'b' }, { response: 'c ' }]) {
    assert.notEqual(reflectionKey({ ...base, ...change }), key, JSON.stringify(change));
  }
  assert.equal(reflectionKey({ ...base }), key);
});
