/**
 * A CANDIDATES file in the editor: recognised as the `candidates` format, each line's place in its
 * question's vote in the hover and at the line end, against gold, and kept in step with edits.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { InlayHint, MarkupContent } from 'vscode-languageserver-protocol';
import { OverviewRequest, type OverviewResult } from '../../src/protocol';
import { repoRoot, tempDir } from '../helpers/paths';
import { TestClient } from './lspClient';

const MODELS = ['6b_finetuning', '6b_verification', '175b_finetuning', '175b_verification'];
const dir = tempDir('sift-server-candidates-');
let client: TestClient;

before(async () => {
  client = await TestClient.start({ settings: { template: 'plain', autoScoreOnOpen: false, threads: 1 }, rootDir: dir });
});

after(async () => {
  await client.stop();
});

interface Solution {
  solution: string;
  is_correct: boolean;
}

/** grade-school-math's model solutions as CANDIDATES lines (gold = the gold solution), with their labels. */
function candidatesFile(): { text: string; labels: boolean[] } {
  const source = readFileSync(join(repoRoot, 'test', 'fixtures', 'gsm8k-solutions-sample.jsonl'), 'utf8').trim().split('\n');
  const lines: string[] = [];
  const labels: boolean[] = [];
  source.forEach((text, q) => {
    const row = JSON.parse(text) as Record<string, unknown> & { question: string; ground_truth: string };
    MODELS.forEach((model, i) => {
      const s = row[model] as Solution;
      lines.push(JSON.stringify({ question_id: `q${q + 1}`, question: row.question, candidate: s.solution, answer: null, gold: row.ground_truth, sample_index: i, model }));
      labels.push(s.is_correct);
    });
  });
  return { text: lines.join('\n') + '\n', labels };
}

async function hoverText(uri: string, line: number): Promise<string> {
  const hover = await client.hover(uri, line);
  return (hover!.contents as MarkupContent).value;
}

test('a CANDIDATES file: no problems, the vote at each line end, right or wrong as the labels say', async () => {
  const { text, labels } = candidatesFile();
  const path = join(dir, 'candidates.jsonl');
  writeFileSync(path, text);
  const uri = await client.open(path, text);
  await client.waitFor('diagnostics', () => {
    const d = client.diagnostics.get(uri);
    return d && d.version === client.version(uri) ? d : undefined;
  });
  assert.deepEqual(client.diagnostics.get(uri)!.diagnostics, [], 'the extracted answer being null is not a problem: the response is the candidate');
  const hints = (await client.inlayHints(uri, 0, 36)) as InlayHint[];
  assert.equal(hints.length, 36);
  // Not scored yet: the label is the vote alone. Correct or wrong must match the source's labels.
  hints.forEach((h, i) => assert.match(String(h.label), labels[i] ? / · correct$/ : / · wrong$/, `line ${i}: ${String(h.label)}`));
  // Question 1: four different answers; the first seen (26) is the majority of a tie.
  assert.deepEqual(hints.slice(0, 4).map((h) => String(h.label)), ['26 · majority 1/4 · wrong', '224 · minority (majority 26) · wrong', '4 · minority (majority 26) · wrong', '18 · minority (majority 26) · correct']);
  // Question 2: three solutions say 3, one says 250.
  assert.deepEqual(hints.slice(4, 8).map((h) => String(h.label)), ['3 · majority 3/4 · correct', '3 · majority 3/4 · correct', '250 · minority (majority 3) · wrong', '3 · majority 3/4 · correct']);

  const agreeing = await hoverText(uri, 4);
  assert.match(agreeing, /\*\*Vote\*\* · question `q2` · 4 candidates, 4 with a readable numeric answer/);
  assert.match(agreeing, /Majority `3`: 3 of 4, agreement 75%; normalised entropy 0\.406/);
  assert.match(agreeing, /Answers: `3` ×3, `250` ×1/);
  assert.match(agreeing, /This candidate: `3` — agrees with the majority/);
  assert.match(agreeing, /Gold `3`: this candidate is \*\*correct\*\* \(positive data\); the majority is correct/);
  assert.match(agreeing, /not scored yet/);
  const tie = await hoverText(uri, 3);
  assert.match(tie, /a tie with `224`, `4`, `18`: the first seen wins/);
  assert.match(tie, /This candidate: `18` — disagrees with the majority/);
  assert.match(tie, /this candidate is \*\*correct\*\*.*the majority is wrong/);

  // An edit changes the vote: question 2's 250 becomes 3, so all four agree.
  const edited = JSON.parse(text.split('\n')[6]) as { candidate: string };
  edited.candidate = 'Half of 2 is 1, so 2 + 1 = 3.\nA: 3';
  await client.replaceLine(uri, 6, JSON.stringify(edited));
  // The server handles the change before the next request (LSP keeps their order).
  const after = (await client.inlayHints(uri, 4, 7)) as InlayHint[];
  assert.deepEqual(after.map((h) => String(h.label)), Array(4).fill('3 · majority 4/4 · correct'));
  assert.match(await hoverText(uri, 6), /Majority `3`: 4 of 4, agreement 100%; normalised entropy 0\.000/);
});

/**
 * The vote counted here by hand from the candidate texts (a final `A: N` line, as grade-school-math
 * writes its solutions; the gold from the gold solution the same way), not by core's vote: the
 * first answer seen wins a tie.
 */
function handVote(text: string): { classes: ('correct' | 'majority' | 'minority')[]; agreements: (number | null)[]; majorityCorrect: number } {
  const rows = text.trim().split('\n').map((l) => JSON.parse(l) as { question_id: string; candidate: string; gold: string });
  const finalAnswer = (s: string): string | null => {
    const m = /\nA: \$?(-?[\d,]*\.?\d+)\s*$/.exec(s);
    return m ? String(Number(m[1].replace(/,/g, ''))) : null;
  };
  const majority = new Map<string, string | null>();
  const agreements: (number | null)[] = [];
  let majorityCorrect = 0;
  for (const id of new Set(rows.map((r) => r.question_id))) {
    const counts = new Map<string, number>();
    const mine = rows.filter((x) => x.question_id === id);
    for (const r of mine) {
      const a = finalAnswer(r.candidate);
      if (a !== null) counts.set(a, (counts.get(a) ?? 0) + 1);
    }
    let best: string | null = null;
    for (const [a, n] of counts) if (best === null || n > counts.get(best)!) best = a;
    majority.set(id, best);
    const readable = [...counts.values()].reduce((a, b) => a + b, 0);
    agreements.push(best === null ? null : counts.get(best)! / readable);
    if (best !== null && best === finalAnswer(mine[0].gold)) majorityCorrect++;
  }
  const classes = rows.map((r) => {
    const a = finalAnswer(r.candidate);
    if (a !== null && a === finalAnswer(r.gold)) return 'correct' as const;
    return a !== null && a === majority.get(r.question_id) ? ('majority' as const) : ('minority' as const);
  });
  return { classes, agreements, majorityCorrect };
}

test('candidate lines are coloured by the vote: correct green, majority yellow, minority red, as a hand count says', async () => {
  const { text } = candidatesFile();
  const path = join(dir, 'coloured.jsonl');
  writeFileSync(path, text);
  const uri = await client.open(path, text);
  const expected = handVote(text).classes;
  assert.equal(expected.length, 36);
  // Every class occurs, so a colouring that ignored one of them would fail.
  for (const c of ['correct', 'majority', 'minority'] as const) assert.ok(expected.includes(c), c);
  const reply = await client.lineScores(uri, 0, 35);
  assert.equal(reply.scores.length, 36);
  const bucketOfClass = { correct: 0, majority: 2, minority: 4 };
  reply.scores.forEach((s, i) => assert.equal(s.bucket, bucketOfClass[expected[i]], `line ${i + 1} (${expected[i]}): ${s.label}`));
  // The hover says what the colours mean in words.
  const hover = await hoverText(uri, 0);
  assert.match(hover, /\*\*Colours\*\* · a candidate is coloured by the vote.*green = correct.*yellow = .*majority.*red = neither/);
  await client.close(uri);
});

test('the overview of a CANDIDATES file: agreement per question in tenths and the candidates by colour, as a hand count says', async () => {
  const { text } = candidatesFile();
  const path = join(dir, 'overview.jsonl');
  writeFileSync(path, text);
  const uri = await client.open(path, text);
  const hand = handVote(text);
  const overview: OverviewResult = await client.connection.sendRequest(OverviewRequest, { uri, rules: {} });
  const c = overview.candidates!;
  assert.ok(c, 'a candidates file has a candidates section');
  assert.equal(c.questions, hand.agreements.length);
  assert.equal(c.candidates, 36);
  // Tenths: [0, 0.1), ..., [0.9, 1]; a unanimous question (1) is in the last.
  const bins = Array<number>(10).fill(0);
  for (const a of hand.agreements) if (a !== null) bins[a === 1 ? 9 : Math.floor(a * 10)]++;
  assert.deepEqual(c.agreement.total, bins);
  assert.ok(bins.filter((n) => n > 0).length >= 3, `the slice spreads over several bins: ${bins.join(' ')}`);
  assert.equal(c.noAnswer, hand.agreements.filter((a) => a === null).length);
  const count = (k: string): number => hand.classes.filter((x) => x === k).length;
  assert.deepEqual(c.classes, { correct: count('correct'), majority: count('majority'), minority: count('minority') });
  assert.equal(c.withGold, hand.agreements.length);
  assert.equal(c.majorityCorrect, hand.majorityCorrect);
  // The legend names the colours the lines take, with their bucket.
  assert.deepEqual(overview.voteColours!.map((v) => [v.class, v.bucket, v.colour]), [['correct', 0, 'green'], ['majority', 2, 'yellow'], ['minority', 4, 'red']]);
  await client.close(uri);
});

test('the overview of a dataset that is not a CANDIDATES file has no candidates section', async () => {
  const path = join(dir, 'plain.jsonl');
  const text = JSON.stringify({ instruction: 'Add 2 and 3.', output: '5' }) + '\n';
  writeFileSync(path, text);
  const uri = await client.open(path, text);
  const overview: OverviewResult = await client.connection.sendRequest(OverviewRequest, { uri, rules: {} });
  assert.equal(overview.candidates, undefined);
  assert.equal(overview.voteColours, undefined);
  await client.close(uri);
});
