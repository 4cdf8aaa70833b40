/**
 * The real server over stdio without (much) scoring: the diagnostics cap, line endings and BOMs in
 * ranges and drop edits, the size guard, settings from the client, scoring on request only, and bad
 * requests that must not hurt it.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { CodeAction, InlayHint, MarkupContent, TextDocumentEdit } from 'vscode-languageserver-protocol';
import { Commands, DEFAULT_SETTINGS, SettingsChangedNotification } from '../../src/protocol';
import { tempDir } from '../helpers/paths';
import { TestClient } from './lspClient';

const dir = tempDir('sift-server-docs-');
let client: TestClient;
let n = 0;

before(async () => {
  client = await TestClient.start({ settings: { template: 'plain', autoScoreOnOpen: false, threads: 1 }, rootDir: dir });
});

after(async () => {
  await client.stop();
  assert.ok(client.exited);
});

function record(i: number, output = `Tim saw a dog number ${i}. The dog was happy.`): string {
  return JSON.stringify({ instruction: `Write a story about dog ${i}.`, input: '', output });
}

async function openText(text: string, name = `doc${++n}.jsonl`): Promise<string> {
  const path = join(dir, name);
  writeFileSync(path, text);
  return client.open(path, text);
}

function diagnosticsFor(uri: string) {
  return client.waitFor(`diagnostics of ${uri}`, () => {
    const d = client.diagnostics.get(uri);
    return d && d.version === client.version(uri) ? d.diagnostics : undefined;
  });
}

test('at most 500 diagnostics, errors first, plus one summary of the rest', async () => {
  const lines = [record(0)];
  for (let i = 1; i <= 100; i++) lines.push(record(i, '')); // empty responses: warnings
  for (let i = 0; i < 600; i++) lines.push(`{"instruction": "x", "output": ${i}`); // invalid JSON: errors
  const uri = await openText(lines.join('\n') + '\n');
  const diags = await diagnosticsFor(uri);
  assert.equal(diags.length, 501);
  assert.ok(diags.slice(0, 500).every((d) => d.severity === 1), 'the 500 shown are errors, the most severe');
  assert.deepEqual(diags.slice(0, 3).map((d) => d.range.start.line), [101, 102, 103], 'in line order');
  const summary = diags[500];
  assert.equal(summary.code, 'more-problems');
  assert.match(summary.message, /^200 more problems are not shown \(100 errors, 100 warnings; the first on line 602\): the editor shows at most 500 per file\. `sift score ".*doc\d+\.jsonl"` lists them all\.$/);
  assert.deepEqual(summary.range, { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } });
});

test('CRLF and a BOM: ranges in editor columns; drop keeps every other line ending', async () => {
  const lines = ['\uFEFF' + record(0), '{"instruction": "a", "output": 5}', record(2), record(3)];
  const text = lines.join('\r\n');
  const uri = await openText(text);
  const diags = await diagnosticsFor(uri);
  const schema = diags.find((d) => d.code === 'schema')!;
  assert.deepEqual(schema.range, { start: { line: 1, character: 31 }, end: { line: 1, character: 32 } });
  // A problem on line 0 is shifted by the BOM the client kept.
  await client.replaceLine(uri, 0, '\uFEFF{"instruction": "a", "output": 5}');
  const after0 = await diagnosticsFor(uri);
  assert.deepEqual(after0.filter((d) => d.range.start.line === 0).map((d) => d.range), [{ start: { line: 0, character: 32 }, end: { line: 0, character: 33 } }]);

  // Drop the middle record: its CRLF goes with it.
  let actions = (await client.codeActions(uri, { start: { line: 2, character: 0 }, end: { line: 2, character: 0 } })) as CodeAction[];
  let drop = actions.find((a) => a.title === 'Drop record')!;
  assert.equal(drop.kind, 'refactor.rewrite', 'a refactoring on a line without problems');
  client.applyEdit(drop.edit!);
  assert.equal(client.text(uri), ['\uFEFF{"instruction": "a", "output": 5}', lines[1], record(3)].join('\r\n'));
  // Drop the last line, which has no terminator: the one before it goes instead.
  actions = (await client.codeActions(uri, { start: { line: 2, character: 5 }, end: { line: 2, character: 5 } })) as CodeAction[];
  drop = actions.find((a) => a.title === 'Drop record')!;
  assert.deepEqual((drop.edit!.documentChanges![0] as TextDocumentEdit).edits[0].range, {
    start: { line: 1, character: lines[1].length },
    end: { line: 2, character: record(3).length },
  });
  client.applyEdit(drop.edit!);
  assert.equal(client.text(uri), ['\uFEFF{"instruction": "a", "output": 5}', lines[1]].join('\r\n'));

  // The hover's "Drop record" link runs sift.dropRecord, which asks the editor to apply the same edit.
  assert.deepEqual(await client.execute(Commands.dropRecord, [uri, 0, client.version(uri) - 1]), { applied: false, reason: 'the document changed' });
  assert.deepEqual(await client.execute(Commands.dropRecord, [uri, 0, client.version(uri)]), { applied: true });
  assert.equal(client.text(uri), lines[1]);
});

test('a file over 50M characters: one message pointing to `sift score`, nothing else', async () => {
  const line = record(0);
  const count = Math.ceil(50_000_001 / (line.length + 1));
  const text = (line + '\n').repeat(count);
  const uri = await openText(text, 'huge.jsonl');
  const diags = await client.waitFor('the size diagnostic', () => client.diagnostics.get(uri)?.diagnostics);
  assert.equal(diags.length, 1);
  assert.equal(diags[0].code, 'too-large');
  assert.match(diags[0].message, /^This file has 50,\d{3},\d{3} characters.*`sift score FILE`/);
  const status = await client.waitFor('status', () => client.lastStatus(uri));
  assert.match(status.message ?? '', /sift score/);
  assert.deepEqual(await client.inlayHints(uri, 0, 100), []);
  await assert.rejects(client.execute(Commands.scoreFile, [uri]), /characters/);
  await client.close(uri);
});

test('settings from the client: a format setting re-reads every open document', async () => {
  const uri = await openText([record(0), record(1)].join('\n'));
  assert.deepEqual(await diagnosticsFor(uri), []);
  await client.connection.sendNotification(SettingsChangedNotification, {
    settings: { ...DEFAULT_SETTINGS, template: 'plain', autoScoreOnOpen: false, threads: 1, format: 'sharegpt' },
  });
  const diags = await client.waitFor('schema errors for ShareGPT', () => {
    const d = client.diagnostics.get(uri)?.diagnostics;
    return d && d.length >= 2 ? d : undefined;
  });
  assert.ok(diags.every((d) => d.code === 'schema' && /conversations/.test(d.message)), JSON.stringify(diags));
  await client.connection.sendNotification(SettingsChangedNotification, {
    settings: { ...DEFAULT_SETTINGS, template: 'plain', autoScoreOnOpen: false, threads: 1 },
  });
  await client.waitFor('no problems as detected Alpaca', () => client.diagnostics.get(uri)?.diagnostics.length === 0);
  assert.ok(!client.logs.join('\n').includes('apiKey'));
});

test('without auto-scoring nothing is scored until asked; "Score this record" scores that record only', async () => {
  const uri = await openText([record(10), record(11), record(12)].join('\n') + '\n');
  await diagnosticsFor(uri);
  assert.deepEqual(await client.inlayHints(uri, 0, 3), [], 'no hints, no pending markers');
  const hover = await client.hover(uri, 1);
  const value = (hover!.contents as MarkupContent).value;
  assert.match(value, /not scored yet/);
  assert.match(value, /\[Score now\]\(command:sift\.scoreLines\?/);
  const actions = (await client.codeActions(uri, { start: { line: 1, character: 0 }, end: { line: 1, character: 0 } })) as CodeAction[];
  const score = actions.find((a) => a.title === 'Score this record')!;
  assert.deepEqual(score.command, { title: 'Score this record', command: Commands.scoreLines, arguments: [uri, 1, 1] });
  const result = await client.execute<{ queued: number }>(score.command!.command, score.command!.arguments!);
  assert.deepEqual(result, { queued: 1 });
  const scored = await client.waitFor('line 1 scored', () => {
    const s = client.lastStatus(uri);
    return s && s.scored === 1 && !s.running ? s : undefined;
  });
  assert.equal(scored.total, 3);
  const shown = (await client.inlayHints(uri, 0, 3)) as InlayHint[];
  assert.deepEqual(shown.map((h) => h.position.line), [1]);
  assert.match(String(shown[0].label), /^IFD \d\.\d{2,} · r-IFD (\d\.\d{2,}|— \([a-z ]+\))$/);
});

test('an editor that does not say it renders command links gets none in hovers: the code actions carry them', async () => {
  const plain = await TestClient.start({ settings: { template: 'plain', autoScoreOnOpen: false, threads: 1 }, rootDir: dir, commandLinks: false });
  try {
    const path = join(dir, 'no-links.jsonl');
    const text = [record(20), '{"instruction": "x",'].join('\n') + '\n';
    writeFileSync(path, text);
    const uri = await plain.open(path, text);
    for (const line of [0, 1]) {
      const value = ((await plain.hover(uri, line))!.contents as MarkupContent).value;
      assert.ok(!value.includes('command:'), value);
      assert.match(value, /code actions on this line/);
    }
    const actions = (await plain.codeActions(uri, { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } })) as CodeAction[];
    assert.deepEqual(actions.map((a) => a.command?.command ?? 'edit'), [Commands.scoreLines, Commands.reflect, Commands.reflect, Commands.reflect, 'edit']);
  } finally {
    await plain.stop();
  }
});

test('bad requests get errors, never a crash; other files are not datasets', async () => {
  await assert.rejects(client.execute(Commands.scoreFile, ['file:///nowhere.jsonl']), /not an open dataset/);
  await assert.rejects(client.execute(Commands.scoreLines, [42]), /not an open dataset/);
  await assert.rejects(client.execute('sift.nope', []), /unknown command/);
  assert.equal(await client.hover('file:///nowhere.jsonl', 3), null);
  assert.deepEqual(await client.inlayHints('file:///nowhere.jsonl', 0, 3), []);
  const uri = await openText('[{"a": 1}]\n\u0000\ud800"\n{"instruction": "x", "output": "y"}', 'odd.jsonl');
  const diags = await diagnosticsFor(uri);
  assert.deepEqual(diags.map((d) => d.code), ['json-array-file', 'invalid-json']);
  await assert.rejects(client.execute(Commands.scoreLines, [uri, -1, 2]), /line number/);
  const jsonPath = join(dir, 'config.json');
  writeFileSync(jsonPath, '{"not": "a dataset"');
  const jsonUri = await client.open(jsonPath, '{"not": "a dataset"', 'json');
  // The server handles notifications in order and publishes every dataset it has opened, in the
  // order opened: once a dataset opened after it has its diagnostics, the JSON file would have had its own.
  await diagnosticsFor(await openText(record(0), 'after-config.jsonl'));
  assert.equal(client.diagnostics.get(jsonUri), undefined);
  assert.ok(!client.exited);
  assert.equal(client.stderr.includes('uncaught'), false);
});
