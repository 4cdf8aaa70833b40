/**
 * Scores another process adds to an open dataset's store (a `sift score` run while the file is open
 * in the editor) are shown without the server scoring anything: the server notices the database
 * changed (PRAGMA data_version) and looks the stored scores up again.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { InlayHint } from 'vscode-languageserver-protocol';
import { siftAsync } from '../helpers/cli';
import { examplesDir, tempDir } from '../helpers/paths';
import { TestClient } from './lspClient';

const stories = readFileSync(join(examplesDir, 'tinystories-instructions.jsonl'), 'utf8').trim().split('\n');
let client: TestClient;
const dir = tempDir('sift-server-refresh-');

before(async () => {
  client = await TestClient.start({ settings: { template: 'plain', metrics: ['ifd'], threads: 1, autoScoreOnOpen: false }, rootDir: dir });
});

after(async () => {
  await client.stop();
});

test('scores a CLI run adds to the store of an open dataset are shown, and the server scores nothing', async () => {
  const path = join(dir, 'stories.jsonl');
  const text = stories.slice(0, 4).join('\n') + '\n';
  writeFileSync(path, text);
  const uri = await client.open(path, text);
  await client.waitFor('the open file to be looked up (nothing stored yet)', () => client.logs.find((l) => l.includes('stored scores looked up for every line, 0 found')));
  assert.equal(client.lastStatus(uri)?.scored ?? 0, 0);

  const out = join(dir, 'out.jsonl');
  const run = await siftAsync(['score', path, '--out', out, '--template', 'plain', '--metrics', 'ifd', '--quiet', '--threads', '1']);
  assert.equal(run.status, 0, run.stderr);
  const status = await client.waitFor('the CLI\'s scores in the editor', () => {
    const last = client.lastStatus(uri);
    return last && last.scored === 4 ? last : undefined;
  }, 30_000);
  assert.equal(status.total, 4);
  assert.ok(client.logs.some((l) => l.includes('written by another process')), 'found by the store poll');
  assert.equal(client.logs.filter((l) => /job \d+ done/.test(l)).length, 0, 'the server scored nothing itself');
  const rows = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { ifd: number });
  const hints = (await client.inlayHints(uri, 0, 4)) as InlayHint[];
  assert.deepEqual(hints.map((h) => String(h.label)), rows.map((r) => `IFD ${r.ifd.toFixed(2)}`));
});
