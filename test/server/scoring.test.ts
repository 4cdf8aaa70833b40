/**
 * The real server over stdio on a real file scored by the bundled model: diagnostics, inlay hints
 * (checked against `sift score`), LineScores, hover, code actions and the drop edit, and Filter
 * (checked against `sift filter`).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { DidChangeConfigurationNotification, type CodeAction, type InlayHint, type MarkupContent, type TextDocumentEdit } from 'vscode-languageserver-protocol';
import { Commands, type FilterResult } from '../../src/protocol';
import { cliPath, examplesDir, tempDir } from '../helpers/paths';
import { waitFor } from '../helpers/waitFor';
import { TestClient } from './lspClient';

const run = promisify(execFile);

interface CliRow {
  line: number;
  ifd: number | null;
  rifd: number | null;
  loss_y_given_x: number | null;
  loss_y: number | null;
  tokens: { y_given_x: number | null; y: number | null };
}

const dir = tempDir('sift-server-');
const file = join(dir, 'mixed.jsonl');
// malformed.jsonl (a valid record, invalid JSON, a wrong type, an empty response, a valid record)
// followed by three records of the TinyStories example and a blank line.
const stories = readFileSync(join(examplesDir, 'tinystories-instructions.jsonl'), 'utf8').split('\n').slice(1, 4);
const text = readFileSync(join(examplesDir, 'malformed.jsonl'), 'utf8') + stories.join('\n') + '\n\n';
writeFileSync(file, text);
const lines = text.split('\n');
const RECORD_LINES = [0, 4, 5, 6, 7];

let client: TestClient;
let uri: string;
let cli: Map<number, CliRow>;

/** `sift score FILE --out OUT --template plain`; exit code 1 only says some lines could not be scored. */
async function cliScore(path: string, out: string): Promise<Map<number, CliRow>> {
  try {
    await run(process.execPath, [cliPath, 'score', path, '--out', out, '--template', 'plain', '--quiet', '--threads', '1']);
  } catch (error) {
    if ((error as { code?: number }).code !== 1) throw error;
  }
  const rows = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as CliRow);
  return new Map(rows.map((r) => [r.line - 1, r]));
}

/**
 * Checks a label's number against the value it shows: rounded to its own decimals (two at least),
 * on the same side of the rule's threshold 1 as the value, and with no more decimals than that needs.
 */
function assertDecides(text: string, v: number, what: string): void {
  const decimals = text.split('.')[1]?.length ?? 0;
  assert.ok(decimals >= 2, `${what}: ${text} has at least two decimals`);
  assert.ok(Math.abs(Number(text) - v) <= 0.5 * 10 ** -decimals + 1e-15, `${what}: ${text} is ${v} rounded`);
  const side = (x: number) => (x < 1 ? 'below' : x === 1 ? 'at' : 'above');
  assert.equal(side(Number(text)), side(v), `${what}: ${text} falls on the side of 1 that ${v} does`);
  if (decimals > 2) assert.notEqual(side(Number(v.toFixed(decimals - 1))), side(v), `${what}: ${text} has no digit more than needed`);
}

/** A label `IFD a · r-IFD b` matches the CLI's values. */
function assertLabel(label: string, row: CliRow, what: string): void {
  const m = /^IFD (\S+) · r-IFD (\S+)$/.exec(label);
  assert.ok(m, `${what}: ${label}`);
  assertDecides(m[1], row.ifd!, `${what} IFD`);
  assertDecides(m[2], row.rifd!, `${what} r-IFD`);
}

before(async () => {
  // The CLI scores an identical copy in another folder (so with its own store): its numbers are
  // computed independently of the server's, at the same time.
  const cliDir = join(dir, 'cli');
  mkdirSync(cliDir);
  copyFileSync(file, join(cliDir, 'mixed.jsonl'));
  const cliRun = cliScore(join(cliDir, 'mixed.jsonl'), join(cliDir, 'out.jsonl'));
  // One thread each: llama.cpp's threads spin, and the test machine may be busy with other work.
  client = await TestClient.start({ settings: { template: 'plain', metrics: ['ifd', 'rifd'], threads: 1 }, rootDir: dir });
  uri = await client.open(file, text);
  cli = await cliRun;
});

after(async () => {
  await client.stop();
});

test('parse and schema problems arrive as diagnostics with exact ranges and messages', async () => {
  const diags = await client.waitFor('diagnostics', () => client.diagnostics.get(uri)?.diagnostics);
  const byCode = (code: string) => diags.filter((d) => d.code === code).map((d) => ({ range: d.range, severity: d.severity, message: d.message }));
  assert.deepEqual(byCode('invalid-json'), [
    { range: { start: { line: 1, character: 75 }, end: { line: 1, character: 75 } }, severity: 1, message: "invalid JSON: expected ',' or '}' after property value" },
  ]);
  assert.deepEqual(byCode('schema'), [
    { range: { start: { line: 2, character: 56 }, end: { line: 2, character: 58 } }, severity: 1, message: '/output: expected a string, got number' },
  ]);
  assert.deepEqual(byCode('empty-response'), [
    { range: { start: { line: 3, character: 69 }, end: { line: 3, character: 71 } }, severity: 2, message: 'the response is empty: it cannot be scored' },
  ]);
  for (const d of diags) assert.equal(d.source, 'sift');
});

test('every record is scored; inlay hints show the IFD and r-IFD of `sift score`', async () => {
  const status = await client.waitScored(uri);
  assert.equal(status.total, RECORD_LINES.length);
  assert.match(status.model, /^gguf:stories260K\.gguf:/);
  assert.equal(status.reachable, true);
  const hints = (await client.inlayHints(uri, 0, lines.length)) as InlayHint[];
  assert.deepEqual(hints.map((h) => h.position.line), RECORD_LINES, 'a hint on each record line, none on invalid or blank lines');
  for (const hint of hints) {
    const line = hint.position.line;
    const row = cli.get(line)!;
    // sift.labelPosition's default, `start`: before the record, where a long line cannot hide it.
    assert.equal(hint.position.character, 0, 'at the start of the line');
    assert.equal(hint.paddingRight, true);
    assert.equal(hint.paddingLeft, undefined);
    assertLabel(String(hint.label), row, `line ${line}`);
  }
  // A range asks for its lines only.
  const some = (await client.inlayHints(uri, 4, 5)) as InlayHint[];
  assert.deepEqual(some.map((h) => h.position.line), [4, 5]);
});

test('with labelPosition end the inlay hints sit after the last character of each record', async () => {
  await client.waitScored(uri);
  const change = (labelPosition: string) =>
    client.connection.sendNotification(DidChangeConfigurationNotification.type, { settings: { sift: { template: 'plain', metrics: ['ifd', 'rifd'], threads: 1, labelPosition } } });
  try {
    await change('end');
    const hints = await waitFor('hints at the line ends', async () => {
      const h = (await client.inlayHints(uri, 0, lines.length)) as InlayHint[];
      return h.length === RECORD_LINES.length && h.every((x) => x.position.character > 0) ? h : undefined;
    });
    for (const hint of hints) {
      const line = hint.position.line;
      assert.equal(hint.position.character, lines[line].length, `line ${line}: at the end of the line`);
      assert.equal(hint.paddingLeft, true);
      assertLabel(String(hint.label), cli.get(line)!, `line ${line}`);
    }
  } finally {
    await change('start');
    await waitFor('hints back at the line starts', async () => {
      const h = (await client.inlayHints(uri, 0, lines.length)) as InlayHint[];
      return h.length === RECORD_LINES.length && h.every((x) => x.position.character === 0);
    });
  }
});

test('the server computed exactly the CLI numbers (IFD to 1e-9)', async () => {
  await client.waitScored(uri);
  // `sift score` over the server's own store answers every record from it, so its output carries
  // the server's losses at full precision.
  const server = await cliScore(file, join(dir, 'server-out.jsonl'));
  for (const line of RECORD_LINES) {
    const a = server.get(line)!;
    const b = cli.get(line)!;
    assert.ok(Math.abs(a.ifd! - b.ifd!) < 1e-9, `line ${line}: IFD ${a.ifd} vs ${b.ifd}`);
    assert.ok(Math.abs(a.rifd! - b.rifd!) < 1e-9, `line ${line}: r-IFD ${a.rifd} vs ${b.rifd}`);
    assert.deepEqual(a.tokens, b.tokens);
  }
});

test('scores are not diagnostics by default; with scoreDiagnostics on, IFD >= 1 is a note at that severity', async () => {
  await client.waitScored(uri);
  const scoreCodes = new Set(['ifd-not-helpful', 'unscorable']);
  const current = await client.waitFor('diagnostics of the scored file', () => {
    const d = client.diagnostics.get(uri);
    return d && d.version === client.version(uri) ? d.diagnostics : undefined;
  });
  assert.deepEqual(current.filter((d) => scoreCodes.has(String(d.code))), [], 'no score-based diagnostics by default');
  const flagged = RECORD_LINES.filter((line) => cli.get(line)!.ifd! >= 1);
  assert.ok(flagged.length > 0, 'the file has a record with IFD >= 1 to check');
  const change = (scoreDiagnostics: string) =>
    client.connection.sendNotification(DidChangeConfigurationNotification.type, { settings: { sift: { template: 'plain', metrics: ['ifd', 'rifd'], threads: 1, scoreDiagnostics } } });
  try {
    await change('information');
    const diags = await client.waitFor('IFD notes', () => {
      const d = client.diagnostics.get(uri)?.diagnostics.filter((x) => x.code === 'ifd-not-helpful');
      return d && d.length === flagged.length ? d : undefined;
    });
    assert.deepEqual(diags.map((d) => d.range.start.line), flagged);
    for (const d of diags) {
      assert.equal(d.severity, 3, 'Information, never a warning');
      assert.match(d.message, /^IFD 1\.\d+ ≥ 1: the instruction does not help the student predict the response$/);
    }
    await change('hint');
    await client.waitFor('IFD hints', () => {
      const d = client.diagnostics.get(uri)?.diagnostics.filter((x) => x.code === 'ifd-not-helpful');
      return d && d.length === flagged.length && d.every((x) => x.severity === 4) ? d : undefined;
    });
    const all = client.diagnostics.get(uri)!.diagnostics;
    assert.ok(all.every((d) => !/r-IFD \d/.test(d.message)), 'no diagnostic just reports a score');
  } finally {
    await change('off');
    await client.waitFor('score notes gone', () => !client.diagnostics.get(uri)?.diagnostics.some((d) => scoreCodes.has(String(d.code))));
  }
});

test('LineScores: a label and a colour bucket per record line; IFD >= 1 is always the worst bucket', async () => {
  await client.waitScored(uri);
  const result = await client.lineScores(uri, 0, lines.length);
  assert.equal(result.version, client.version(uri));
  assert.deepEqual(result.scores.map((s) => s.line), RECORD_LINES);
  const below: { ifd: number; bucket: number }[] = [];
  for (const s of result.scores) {
    const row = cli.get(s.line)!;
    assertLabel(s.label, row, `line ${s.line}`);
    if (row.ifd! >= 1) assert.equal(s.bucket, 4);
    else {
      assert.ok(s.bucket >= 0 && s.bucket <= 3);
      below.push({ ifd: row.ifd!, bucket: s.bucket });
    }
  }
  // Among IFD < 1, a higher IFD never gets a worse bucket, and the highest is in the best one.
  below.sort((a, b) => a.ifd - b.ifd);
  for (let i = 1; i < below.length; i++) assert.ok(below[i].bucket <= below[i - 1].bucket);
  if (below.length > 0) assert.equal(below[below.length - 1].bucket, 0);
});

test('hover: every metric with the losses, perplexities and token counts it came from', async () => {
  await client.waitScored(uri);
  const line = 5;
  const row = cli.get(line)!;
  const hover = await client.hover(uri, line, 3);
  const value = (hover!.contents as MarkupContent).value;
  assert.equal((hover!.contents as MarkupContent).kind, 'markdown');
  assert.match(value, new RegExp(`\\*\\*IFD ${row.ifd!.toFixed(4)}\\*\\* = ppl\\(y\\|x\\) / ppl\\(y\\)`));
  assert.match(value, new RegExp(`\\*\\*r-IFD ${row.rifd!.toFixed(4)}\\*\\*`));
  const lossYX = row.loss_y_given_x!;
  assert.ok(
    value.includes(`L(y|x) = ${lossYX.toFixed(4)} (ppl ${Math.exp(lossYX).toFixed(3)}) over ${row.tokens.y_given_x} tokens`),
    value,
  );
  assert.ok(value.includes(`L(y) = ${row.loss_y!.toFixed(4)} (ppl ${Math.exp(row.loss_y!).toFixed(3)}) over ${row.tokens.y} tokens`));
  assert.match(value, /percentile of 5 scored records in this file/);
  // The legend says in words what the colours, the directions and the percentile mean.
  assert.match(value, /\*\*Legend\*\* · the dot and label are coloured by IFD, by its rank among this file's scored records: green = best/);
  assert.match(value, /\*\*IFD\*\* \(instruction-following difficulty\): below 1, higher is better/);
  assert.match(value, /\*\*r-IFD\*\* \(reversed IFD\): lower is better/);
  assert.match(value, /\*\*Percentile\*\*: the share of this file's scored records whose value is at or below this one/);
  assert.match(value, /model `gguf:stories260K\.gguf:[0-9a-f]+`/);
  assert.match(value, /endpoint `local:[^`]*stories260K\.gguf`/);
  assert.match(value, /template `plain` · boundary `clean`/);
  assert.match(value, /computed \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/);
  const drop = /\[Drop record\]\(command:sift\.dropRecord\?([^ )]+)/.exec(value);
  assert.ok(drop, 'a Drop record link');
  assert.deepEqual(JSON.parse(decodeURIComponent(drop[1])), [uri, line, client.version(uri)]);
  assert.equal(await client.hover(uri, 8), null, 'nothing on a blank line');
});

test('code actions: drop record deletes exactly that line with its terminator; invalid lines can be dropped too', async () => {
  await client.waitScored(uri);
  const actions = (await client.codeActions(uri, { start: { line: 2, character: 3 }, end: { line: 2, character: 3 } })) as CodeAction[];
  const drop = actions.find((a) => a.title === 'Drop record')!;
  assert.ok(drop, 'drop is offered on an invalid line');
  assert.equal(drop.kind, 'quickfix', 'a quick fix for a line with problems');
  assert.deepEqual(drop.diagnostics?.map((d) => d.code), ['schema']);
  assert.ok(!actions.some((a) => a.title === 'Score this record'), 'an invalid line cannot be scored');
  const change = drop.edit!.documentChanges![0] as TextDocumentEdit;
  assert.deepEqual(change.textDocument, { uri, version: client.version(uri) });
  assert.deepEqual(change.edits, [{ range: { start: { line: 2, character: 0 }, end: { line: 3, character: 0 } }, newText: '' }]);

  const onRecord = (await client.codeActions(uri, { start: { line: 6, character: 0 }, end: { line: 6, character: 10 } })) as CodeAction[];
  assert.deepEqual(onRecord.map((a) => a.title), ['Reflect instruction', 'Reflect response', 'Selective reflection', 'Drop record'], 'a scored record offers no "Score this record"');

  // Apply it as an editor would: exactly line 2 is gone, every other byte stays.
  client.applyEdit(drop.edit!);
  const expected = [...lines.slice(0, 2), ...lines.slice(3)].join('\n');
  assert.equal(client.text(uri), expected);
  const diags = await client.waitFor('diagnostics after the drop', () => {
    const d = client.diagnostics.get(uri);
    return d && d.version === client.version(uri) ? d.diagnostics : undefined;
  });
  assert.deepEqual(diags.filter((d) => d.code === 'schema'), [], 'the dropped line took its problem with it');
  // Records that moved up keep their scores (keyed by content, not line number): no re-scoring.
  const hints = (await client.inlayHints(uri, 0, lines.length)) as InlayHint[];
  assert.deepEqual(hints.map((h) => h.position.line), RECORD_LINES.map((l) => (l > 2 ? l - 1 : l)));
  assert.ok(hints.every((h) => String(h.label).startsWith('IFD ')));
});

test('filterFile applies the CLI rules and writes what `sift filter` writes', async () => {
  await client.waitScored(uri);
  const current = client.text(uri);
  const edited = join(dir, 'edited.jsonl');
  writeFileSync(edited, current);
  const out = join(dir, 'kept.jsonl');
  const result = await client.execute<FilterResult>(Commands.filterFile, [uri, { outPath: out, ifdMax: 1, topFraction: 0.5 }]);
  const cliOut = join(dir, 'kept-cli.jsonl');
  await run(process.execPath, [cliPath, 'filter', edited, '--out', cliOut, '--ifd-max', '1', '--top', '50%', '--template', 'plain', '--quiet', '--threads', '1']);
  assert.ok(existsSync(out));
  assert.equal(readFileSync(out, 'utf8'), readFileSync(cliOut, 'utf8'));
  assert.equal(result.outPath, out);
  assert.equal(result.total, 7, 'five records, one with an empty response, one invalid line');
  assert.equal(result.dropped.invalid, 1);
  assert.equal(result.kept, readFileSync(out, 'utf8').split('\n').filter(Boolean).length);
  await assert.rejects(client.execute(Commands.filterFile, [uri, { outPath: out }]), /no filter rule given/);
  await assert.rejects(client.execute(Commands.filterFile, [uri, { outPath: file, ifdMax: 1 }]), /a new file/);
});
