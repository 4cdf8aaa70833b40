import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ChecksumMismatch, DownloadPaused, pullModel } from '../../src/core/models/pull';
import { readManifest, resolveModel } from '../../src/core/models/store';
import { FileServer } from '../helpers/fileServer';
import { bundledModel, tempDir } from '../helpers/paths';

const model = readFileSync(bundledModel);
const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');
const HF_URI = 'hf:sift-test/stories-GGUF/stories260K.gguf';
// node-llama-cpp's file name for a hf: URI: hf_<user>_<file> when the file name carries the repo's.
const HF_FILE = 'hf_sift-test_stories260K.gguf';
/** Larger than ipull's 5 MiB chunks several times over, so a stopped download has whole chunks to keep. */
const big = Buffer.concat(Array.from({ length: 30 }, () => model));

let server: FileServer;
let base: string;
before(async () => {
  server = new FileServer(model);
  base = await server.start();
});
after(() => server.stop());

function reset(body: Buffer): void {
  server.body = body;
  server.requests.length = 0;
  server.rangedBytesSent = 0;
  server.trickleMs = 0;
  server.dropOnceAfter = undefined;
  server.dropped = 0;
}

test('pull hf:…: the URI maps to <endpoint>/<user>/<repo>/resolve/main/<file>; progress reaches the size; the sha256 is recorded', async () => {
  reset(model);
  const dir = tempDir();
  const progress: { downloaded: number; total: number }[] = [];
  const pulled = await pullModel({ name: HF_URI, dir, hfEndpoint: base, onProgress: (p) => progress.push(p) });

  assert.ok(server.requests.every((r) => r.path === '/sift-test/stories-GGUF/resolve/main/stories260K.gguf?download=true'), JSON.stringify(server.requests));
  assert.equal(pulled.path, join(dir, HF_FILE));
  assert.deepEqual(readFileSync(pulled.path), model);
  assert.equal(pulled.sha256, sha256(model));
  assert.equal(pulled.checksum, 'first download');
  assert.equal(pulled.reused, false);
  assert.ok(progress.length > 0);
  assert.ok(progress.every((p) => p.total === model.length));
  for (let i = 1; i < progress.length; i++) assert.ok(progress[i].downloaded >= progress[i - 1].downloaded);
  assert.equal(progress.at(-1)!.downloaded, model.length);
  assert.deepEqual(readManifest(dir), [{ source: HF_URI, file: HF_FILE, bytes: model.length, sha256: sha256(model), checksum: 'first download' }]);
  assert.deepEqual(resolveModel(HF_URI, dir), { kind: 'file', path: pulled.path });
});

test('pull again: the file is checked against its recorded sha256 and reused without a request', async () => {
  reset(model);
  const dir = tempDir();
  await pullModel({ name: HF_URI, dir, hfEndpoint: base });
  const requests = server.requests.length;
  const again = await pullModel({ name: HF_URI, dir, hfEndpoint: base });
  assert.equal(again.reused, true);
  assert.equal(server.requests.length, requests);
});

test('a pulled file changed on disk is downloaded afresh; a remote that changed too is refused against the recorded sha256', async () => {
  reset(model);
  const dir = tempDir();
  const first = await pullModel({ name: HF_URI, dir, hfEndpoint: base });
  const damaged = Buffer.from(model);
  damaged[1000] ^= 0xff;
  writeFileSync(first.path, damaged);
  const repaired = await pullModel({ name: HF_URI, dir, hfEndpoint: base });
  assert.equal(repaired.reused, false);
  assert.deepEqual(readFileSync(repaired.path), model);

  writeFileSync(first.path, damaged);
  reset(damaged);
  await assert.rejects(pullModel({ name: HF_URI, dir, hfEndpoint: base }), (error: Error) => {
    assert.ok(error instanceof ChecksumMismatch);
    assert.match(error.message, new RegExp(`expected ${sha256(model)} \\(first download\\)`));
    return true;
  });
  assert.equal(existsSync(first.path), false);
});

test('a corrupt download (sha256 not the expected one) is rejected and deleted; nothing is recorded', async () => {
  const corrupt = Buffer.from(model);
  corrupt[corrupt.length - 10] ^= 0x01;
  reset(corrupt);
  const dir = tempDir();
  await assert.rejects(pullModel({ name: `${base}/models/stories260K.gguf`, dir, sha256: sha256(model) }), (error: Error) => {
    assert.ok(error instanceof ChecksumMismatch, String(error));
    assert.match(error.message, new RegExp(`sha256 is ${sha256(corrupt)}, expected ${sha256(model)} \\(given\\)`));
    return true;
  });
  assert.deepEqual(readdirSync(dir), []);
  assert.equal(resolveModel(`${base}/models/stories260K.gguf`, dir).kind, 'not pulled');
});

test('cancel: the pull stops with DownloadPaused, no file under the final name; the next pull resumes with Range requests and gets the same bytes', async () => {
  reset(big);
  server.trickleMs = 5;
  const dir = tempDir();
  const url = `${base}/models/big.gguf`;
  const abort = new AbortController();
  let seen = 0;
  await assert.rejects(
    pullModel({
      name: url,
      dir,
      signal: abort.signal,
      onProgress: (p) => {
        seen = p.downloaded;
        // Past three of the six 5 MiB chunks: some are complete whatever the streams' split.
        if (p.downloaded > 18_000_000) abort.abort();
      },
    }),
    (error: Error) => error instanceof DownloadPaused,
  );
  assert.ok(seen > 18_000_000 && seen < big.length);
  assert.equal(existsSync(join(dir, 'big.gguf')), false);
  assert.ok(existsSync(join(dir, 'big.gguf.ipull')), `the partial download is kept: ${readdirSync(dir).join(', ')}`);

  reset(big);
  const resumed = await pullModel({ name: url, dir, sha256: sha256(big) });
  assert.deepEqual(readFileSync(resumed.path), big);
  assert.equal(resumed.checksum, 'given');
  assert.ok(server.requests.some((r) => r.range !== undefined && !r.range.startsWith('bytes=0-')));
  // What arrived before the cancel, in whole 5 MiB chunks (ipull keeps complete chunks), is not fetched again.
  assert.ok(server.rangedBytesSent <= big.length - 5 * 1024 * 1024, `${server.rangedBytesSent} bytes fetched again of ${big.length}`);
  assert.equal(existsSync(join(dir, 'big.gguf.ipull')), false);
});

test('a connection dropped mid-file: the downloader retries with a Range and the file is complete and verified', async () => {
  reset(big);
  server.dropOnceAfter = 3 * 1024 * 1024;
  const dir = tempDir();
  const pulled = await pullModel({ name: `${base}/models/big.gguf`, dir, sha256: sha256(big) });
  assert.equal(server.dropped, 1);
  assert.deepEqual(readFileSync(pulled.path), big);
  assert.ok(server.requests.filter((r) => r.range !== undefined).length >= 2);
});
