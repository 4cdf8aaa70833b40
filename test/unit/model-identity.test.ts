import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { userCacheDir } from '../../src/core/io/userCacheDir';
import { defaultModelsDir } from '../../src/core/models/store';
import { ggufIdentity, MODEL_HASH_CACHE_FILE, modelFileSha256 } from '../../src/core/scoring/local/modelIdentity';
import { tempDir } from '../helpers/paths';

const MiB = 1024 * 1024;

function sha256Of(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/** A 9 MiB file: deterministic bytes, with `middle` at offset 4.5 MiB (outside the first and last 4 MiB). */
function writeModel(path: string, middle: number): void {
  const bytes = Buffer.alloc(9 * MiB);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 31 + (i >> 12)) & 0xff;
  bytes[4.5 * MiB] = middle;
  writeFileSync(path, bytes);
}

test('model identity: two files alike in size, name, first and last 4 MiB but not in one middle byte differ', async () => {
  const dir = tempDir();
  const cacheDir = join(dir, 'cache');
  mkdirSync(join(dir, 'a'));
  mkdirSync(join(dir, 'b'));
  const a = join(dir, 'a', 'model.gguf');
  const b = join(dir, 'b', 'model.gguf');
  writeModel(a, 1);
  writeModel(b, 2);
  const edges = (path: string): Buffer => {
    const bytes = readFileSync(path);
    return Buffer.concat([bytes.subarray(0, 4 * MiB), bytes.subarray(bytes.length - 4 * MiB)]);
  };
  assert.ok(edges(a).equals(edges(b)), 'the files share their first and last 4 MiB');

  const idA = await ggufIdentity(a, { cacheDir });
  const idB = await ggufIdentity(b, { cacheDir });
  assert.notEqual(idA, idB);
  assert.equal(idA, `gguf:model.gguf:${sha256Of(a).slice(0, 16)}`);
  assert.equal(idB, `gguf:model.gguf:${sha256Of(b).slice(0, 16)}`);
  // The hashes are remembered in the cache folder, not beside the model (a dataset's folder).
  assert.deepEqual(readdirSync(join(dir, 'a')), ['model.gguf']);
  const cache = JSON.parse(readFileSync(join(cacheDir, MODEL_HASH_CACHE_FILE), 'utf8')) as { files: Record<string, { sha256: string; size: number }> };
  assert.deepEqual(Object.keys(cache.files).sort(), [a, b].sort());
  assert.equal(cache.files[a].sha256, sha256Of(a));
  assert.equal(cache.files[a].size, 9 * MiB);
});

test('model identity: a second call takes the remembered hash without reading the file; another mtime hashes it again', async () => {
  const dir = tempDir();
  const cacheDir = join(dir, 'cache');
  const model = join(dir, 'model.gguf');
  const seconds = 1_700_000_000;
  writeModel(model, 1);
  utimesSync(model, seconds, seconds);
  const first = sha256Of(model);
  assert.equal(await modelFileSha256(model, { cacheDir }), first);

  // New content of the same size under the same path and mtime: only a call that reads the file can see it.
  writeModel(model, 7);
  utimesSync(model, seconds, seconds);
  const second = sha256Of(model);
  assert.notEqual(second, first);
  assert.equal(await modelFileSha256(model, { cacheDir }), first, 'the remembered hash, so the file was not read');

  utimesSync(model, seconds + 1, seconds + 1);
  assert.equal(await modelFileSha256(model, { cacheDir }), second, 'a changed mtime re-hashes');
  assert.equal(await ggufIdentity(model, { cacheDir }), `gguf:model.gguf:${second.slice(0, 16)}`);

  // A different size with the old mtime re-hashes too.
  writeFileSync(model, 'short');
  utimesSync(model, seconds + 1, seconds + 1);
  assert.equal(await modelFileSha256(model, { cacheDir }), createHash('sha256').update('short').digest('hex'));
});

test('model identity: a corrupt or foreign cache file is ignored and replaced, not fatal', async () => {
  const dir = tempDir();
  const cacheDir = join(dir, 'cache');
  mkdirSync(cacheDir);
  const cachePath = join(cacheDir, MODEL_HASH_CACHE_FILE);
  const model = join(dir, 'm.gguf');
  writeFileSync(model, 'weights');
  const expected = createHash('sha256').update('weights').digest('hex');
  for (const junk of ['{"files": {', 'null', '[1,2]', JSON.stringify({ files: { [model]: { size: 7, mtimeNs: 'x', sha256: 'zz', hashedAt: 1 } } })]) {
    writeFileSync(cachePath, junk);
    assert.equal(await modelFileSha256(model, { cacheDir }), expected, junk);
    const rewritten = JSON.parse(readFileSync(cachePath, 'utf8')) as { files: Record<string, { sha256: string }> };
    assert.equal(rewritten.files[model].sha256, expected, junk);
  }
});

test('model identity: concurrent calls for one file agree', async () => {
  const dir = tempDir();
  const model = join(dir, 'm.gguf');
  writeModel(model, 3);
  const ids = await Promise.all([1, 2, 3].map(() => ggufIdentity(model, { cacheDir: join(dir, 'cache') })));
  assert.deepEqual(ids, Array(3).fill(`gguf:m.gguf:${sha256Of(model).slice(0, 16)}`));
});

test('userCacheDir: $SIFT_CACHE_DIR, else $XDG_CACHE_HOME/sift; the models folder is inside it unless $SIFT_MODELS_DIR', () => {
  assert.equal(userCacheDir({ SIFT_CACHE_DIR: '/x/cache', XDG_CACHE_HOME: '/c' }), '/x/cache');
  assert.equal(userCacheDir({ XDG_CACHE_HOME: '/c' }), '/c/sift');
  assert.match(userCacheDir({}), /[\\/]\.cache[\\/]sift$/);
  assert.equal(defaultModelsDir({ SIFT_CACHE_DIR: '/x/cache' }), '/x/cache/models');
  assert.equal(defaultModelsDir({ SIFT_MODELS_DIR: '/m', SIFT_CACHE_DIR: '/x/cache' }), '/m');
});
