/**
 * Reading records one by one, through the real server over stdio on a file scored by the bundled
 * model: document symbols (the outline and Go to Symbol), a record's turns and scores for the record
 * view, and next / previous record by score, walked end to end and compared with an order computed
 * here from the values the server reports.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { DidChangeConfigurationNotification, DocumentSymbolRequest, type DocumentSymbol, type MarkupContent } from 'vscode-languageserver-protocol';
import { RecordByScoreRequest, RecordRequest, type RecordByScoreResult, type ScoreDirection } from '../../src/protocol';
import type { RecordDetails } from '../../src/protocol/recordView';
import { examplesDir, tempDir } from '../helpers/paths';
import { waitFor } from '../helpers/waitFor';
import { TestClient } from './lspClient';

const dir = tempDir('sift-records-');
const file = join(dir, 'records.jsonl');
// Six `messages` records (a system prompt, a user turn, an answer), a blank line, a record whose
// messages are not a list, and two more records.
const messages = readFileSync(join(examplesDir, 'messages-sample.jsonl'), 'utf8').split('\n');
const lines = [...messages.slice(0, 6), '', '{"messages": 7}', ...messages.slice(6, 8)];
const text = lines.join('\n') + '\n';
writeFileSync(file, text);
const RECORD_LINES = [0, 1, 2, 3, 4, 5, 8, 9];
const BLANK = 6;
const INVALID = 7;

let client: TestClient;
let uri: string;

before(async () => {
  client = await TestClient.start({ settings: { template: 'plain', metrics: ['ifd', 'rifd'], threads: 1 }, rootDir: dir });
  uri = await client.open(file, text);
  await client.waitScored(uri, 120_000);
});

after(async () => {
  await client.stop();
});

function symbols(): Promise<DocumentSymbol[]> {
  return client.connection.sendRequest(DocumentSymbolRequest.type, { textDocument: { uri } }) as Promise<DocumentSymbol[]>;
}

function details(line: number): Promise<RecordDetails | null> {
  return client.connection.sendRequest(RecordRequest, { uri, line });
}

function byScore(line: number, direction: ScoreDirection): Promise<RecordByScoreResult | null> {
  return client.connection.sendRequest(RecordByScoreRequest, { uri, line, direction });
}

test('one symbol per non-blank line, named with the line label and the first words of the instruction', async () => {
  const got = await symbols();
  const labels = new Map((await client.lineScores(uri, 0, lines.length)).scores.map((s) => [s.line, s.label]));
  assert.deepEqual(got.map((s) => s.range.start.line), [...RECORD_LINES.slice(0, 6), INVALID, ...RECORD_LINES.slice(6)]);
  for (const symbol of got) {
    const i = symbol.range.start.line;
    assert.deepEqual(symbol.range, { start: { line: i, character: 0 }, end: { line: i, character: lines[i].length } });
    assert.deepEqual(symbol.selectionRange, symbol.range);
    assert.equal(symbol.detail, `line ${i + 1}`);
    if (i === INVALID) {
      assert.match(symbol.name, /^✖ not a valid record: \/messages: expected an array/);
      continue;
    }
    const user = (JSON.parse(lines[i]) as { messages: { role: string; content: string }[] }).messages.filter((m) => m.role === 'user').at(-1)!.content;
    const flat = user.replace(/\s+/g, ' ').trim();
    const words = flat.length <= 60 ? flat : `${flat.slice(0, 59).trimEnd()}…`;
    assert.equal(symbol.name, `${labels.get(i)} · ${words}`, `line ${i + 1}`);
    assert.match(symbol.name, /^IFD \d/);
  }
});

test('a record: every turn in order with its part, the scores with their meaning, the line problems', async () => {
  for (const i of RECORD_LINES) {
    const d = (await details(i))!;
    const turns = (JSON.parse(lines[i]) as { messages: { role: string; content: string }[] }).messages;
    assert.deepEqual(
      d.turns.map((t) => [t.role, t.part, t.content]),
      turns.map((t, k) => [t.role, k === turns.length - 1 ? 'response' : k === turns.length - 2 ? 'instruction' : 'history', t.content]),
    );
    assert.equal(d.state, 'scored');
    assert.equal(d.format, 'messages');
    assert.equal(d.line, i);
    assert.equal(d.lineCount, lines.length + 1);
    assert.deepEqual(d.metrics.map((m) => m.label), ['IFD', 'r-IFD']);
    // The hover prints each value to 4 decimals: the view's value is the same number.
    const hover = ((await client.hover(uri, i))!.contents as MarkupContent).value;
    for (const m of d.metrics) {
      assert.ok(m.meaning.length > 20);
      if (m.value === null) {
        assert.ok(m.reason, `${m.label} of line ${i + 1} has neither a value nor a reason`);
        continue;
      }
      assert.ok(hover.includes(`**${m.label} ${m.value.toFixed(4)}**`), `${m.label} ${m.value} not in the hover of line ${i + 1}`);
      assert.equal(m.verdict?.startsWith(m.value < 1 ? 'below 1' : 'at or above 1'), true);
      assert.ok(m.percentile! > 0 && m.percentile! <= 100);
    }
  }
  const invalid = (await details(INVALID))!;
  assert.equal(invalid.state, 'invalid');
  assert.deepEqual(invalid.turns, []);
  assert.match(invalid.problems[0], /expected an array/);
  assert.equal(invalid.rank, undefined);
  assert.equal((await details(BLANK))!.state, 'blank');
  assert.equal(await details(lines.length + 5), null);
  assert.equal(await client.connection.sendRequest(RecordRequest, { uri: 'file:///not/open.jsonl', line: 0 }), null);
});

test('next / previous by score walk every scored record worst first, and stop at either end', async () => {
  // The order computed here: IFD at or above 1 first (highest first), then the rest from the lowest IFD up; ties in file order.
  const ifd = new Map<number, number>();
  for (const i of RECORD_LINES) {
    const value = (await details(i))!.metrics.find((m) => m.label === 'IFD')!.value;
    if (value !== null) ifd.set(i, value);
  }
  const over = [...ifd].filter(([, v]) => v >= 1).sort((a, b) => b[1] - a[1] || a[0] - b[0]);
  const under = [...ifd].filter(([, v]) => v < 1).sort((a, b) => a[1] - b[1] || a[0] - b[0]);
  const expected = [...over, ...under].map(([line]) => line);
  assert.ok(expected.length >= 6, `only ${expected.length} records have an IFD`);

  // From a line with no place in the order, next starts at the worst record.
  const walked: number[] = [];
  let at = BLANK;
  for (;;) {
    const step = (await byScore(at, 'next'))!;
    assert.equal(step.of, expected.length);
    assert.equal(step.metric, 'IFD');
    if (!step.target) {
      assert.equal(step.message, 'This is the best record by IFD.');
      break;
    }
    assert.equal(step.target.position, walked.length + 1);
    assert.equal((await details(step.target.line))!.rank?.position, step.target.position);
    walked.push((at = step.target.line));
  }
  assert.deepEqual(walked, expected);

  const back: number[] = [];
  at = INVALID;
  for (;;) {
    const step = (await byScore(at, 'previous'))!;
    if (!step.target) {
      assert.equal(step.message, 'This is the worst record by IFD.');
      break;
    }
    back.push((at = step.target.line));
  }
  assert.deepEqual(back, [...expected].reverse());
});

test('with a non-default ifdWarnAt the view decides IFD against it, as the labels and colours do', async () => {
  const ifd = new Map<number, number>();
  for (const i of RECORD_LINES) {
    const value = (await details(i))!.metrics.find((m) => m.label === 'IFD')!.value;
    if (value !== null) ifd.set(i, value);
  }
  // A threshold between two of the file's IFDs, chosen so that some record is on the other side of it than of 1.
  const sorted = [...new Set(ifd.values())].sort((a, b) => a - b);
  const flips = (t: number): number => [...ifd.values()].filter((v) => v < 1 !== v < t).length;
  const warnAt = sorted.slice(1).map((v, k) => Number(((v + sorted[k]) / 2).toFixed(4))).find((t) => t !== 1 && flips(t) > 0);
  assert.ok(warnAt !== undefined, `no threshold between the IFDs ${sorted.join(', ')} changes a decision`);
  const probe = [...ifd.keys()][0];
  const change = (settings: object) =>
    client.connection.sendNotification(DidChangeConfigurationNotification.type, { settings: { sift: { template: 'plain', metrics: ['ifd', 'rifd'], threads: 1, ...settings } } });
  try {
    await change({ ifdWarnAt: warnAt });
    await waitFor('the view to use the new threshold', async () => (await details(probe))!.metrics[0].verdict?.includes(`IFD < ${warnAt} rule`));
    const labels = new Map((await client.lineScores(uri, 0, lines.length)).scores.map((s) => [s.line, s]));
    for (const [i, value] of ifd) {
      const m = (await details(i))!.metrics.find((x) => x.label === 'IFD')!;
      const above: boolean = value >= warnAt;
      assert.equal(m.verdict, above ? `at or above ${warnAt}: the instruction does not help, so the IFD < ${warnAt} rule drops this record` : `below ${warnAt}: kept by the IFD < ${warnAt} rule`, `line ${i + 1}, IFD ${value}`);
      // The colour: IFD at or above ifdWarnAt is always the worst bucket, in the view and on the line.
      assert.equal(m.bucket === 4, above, `line ${i + 1}: the view's colour`);
      assert.equal(labels.get(i)!.bucket, m.bucket, `line ${i + 1}: the line's colour is the view's`);
      // The printed value falls on the value's side of the threshold.
      assert.equal(Number(m.text) >= warnAt, above, `line ${i + 1}: ${m.text} against ${warnAt}`);
    }
  } finally {
    const statuses = client.statuses.length;
    await change({ ifdWarnAt: 1 });
    await waitFor('the default threshold back', async () => (await details(probe))!.metrics[0].verdict?.includes('IFD < 1 rule'));
    // The status the change sends is out before the next test counts statuses.
    await client.waitFor('the status after the change', () => client.statuses.slice(statuses).some((s) => s.uri === uri));
  }
});

test('an edit takes the record out of the order until it is scored again', async () => {
  const first = (await byScore(BLANK, 'next'))!.target!.line;
  const seen = client.statuses.length;
  await client.replaceLine(uri, first, lines[first].replace(/"content": "/, '"content": "Edited. '));
  const now = (await details(first))!;
  assert.ok(now.turns[0].content.startsWith('Edited. '));
  if (now.state !== 'scored') assert.equal(now.rank, undefined);
  await client.waitFor('the edited record scored', () => client.statuses.slice(seen).some((s) => s.uri === uri && !s.running && s.scored === s.total && s.total > 0), 120_000);
  assert.equal((await details(first))!.state, 'scored');
  assert.equal((await byScore(BLANK, 'next'))!.of, RECORD_LINES.length);
});
