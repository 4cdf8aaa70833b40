/**
 * Trust in a restricted workspace: stored scores this installation did not compute (here, imported
 * with `sift store import`, as a committed export would be) are shown as unverified; scores the
 * server computed itself are not.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { DocumentSymbolRequest, type DocumentSymbol, type MarkupContent } from 'vscode-languageserver-protocol';
import { RecordRequest } from '../../src/protocol';
import { siftAsync } from '../helpers/cli';
import { examplesDir, tempDir } from '../helpers/paths';
import { TestClient } from './lspClient';

const stories = readFileSync(join(examplesDir, 'tinystories-instructions.jsonl'), 'utf8').trim().split('\n');
let client: TestClient;
const dir = tempDir('sift-server-trust-');
const settings = { template: 'plain' as const, metrics: ['ifd' as const], threads: 1 };

before(async () => {
  client = await TestClient.start({ settings, rootDir: dir, workspaceTrusted: false });
});

after(async () => {
  await client.stop();
});

test('in a restricted workspace, imported scores are marked unverified in the hover, the line label and the record view; the server\'s own are not', async () => {
  // Scores computed elsewhere and shared as an export.
  const elsewhere = tempDir('sift-elsewhere-');
  const source = join(elsewhere, 'stories.jsonl');
  writeFileSync(source, stories.slice(0, 2).join('\n') + '\n');
  const scored = await siftAsync(['score', source, '--out', join(elsewhere, 'out.jsonl'), '--template', 'plain', '--metrics', 'ifd', '--threads', '1', '-q']);
  assert.equal(scored.status, 0, scored.stderr);
  const exported = join(elsewhere, 'scores.export.jsonl');
  assert.equal((await siftAsync(['store', 'export', elsewhere, '--out', exported])).status, 0);
  mkdirSync(join(dir, '.sift'), { recursive: true });
  const imported = await siftAsync(['store', 'import', exported, '--store', dir]);
  assert.equal(imported.status, 0, imported.stderr);

  // The same two records and one new one; the new one is scored by the server.
  const path = join(dir, 'stories.jsonl');
  const text = [stories[0], stories[1], stories[2]].join('\n') + '\n';
  writeFileSync(path, text);
  const uri = await client.open(path, text);
  await client.waitScored(uri);
  const hover = async (line: number): Promise<string> => ((await client.hover(uri, line))!.contents as MarkupContent).value;
  for (const line of [0, 1]) {
    const value = await hover(line);
    assert.match(value, /from the score store/);
    assert.match(value, /\*\*unverified\*\*/, `line ${line + 1}: imported, so unverified`);
  }
  const own = await hover(2);
  assert.doesNotMatch(own, /unverified/, 'computed by this server');

  const labels = (await client.lineScores(uri, 0, 2)).scores.map((s) => s.label);
  assert.equal(labels.length, 3);
  assert.match(labels[0], /^IFD \d.* · unverified$/);
  assert.match(labels[1], /^IFD \d.* · unverified$/);
  assert.match(labels[2], /^IFD \d/);
  assert.doesNotMatch(labels[2], /unverified/);
  const details = async (line: number) => (await client.connection.sendRequest(RecordRequest, { uri, line }))!;
  assert.match((await details(0)).unverified ?? '', /^Unverified: these scores came with the folder/);
  assert.equal((await details(2)).unverified, undefined);
  const symbols = (await client.connection.sendRequest(DocumentSymbolRequest.type, { textDocument: { uri } })) as DocumentSymbol[];
  assert.deepEqual(
    symbols.map((s) => / · unverified · /.test(s.name)),
    [true, true, false],
  );
});
