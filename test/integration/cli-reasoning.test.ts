import assert from 'node:assert/strict';
import { copyFileSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { sift, siftAsync } from '../helpers/cli';
import { repoRoot, tempDir } from '../helpers/paths';

const SAMPLE = join(repoRoot, 'test', 'fixtures', 'gsm8k-solutions-sample.jsonl');
const GSM8K_TEST = join(repoRoot, 'test', 'fixtures', 'gsm8k-test-sample.jsonl');
const MODELS = ['6b_finetuning', '6b_verification', '175b_finetuning', '175b_verification'];

interface SampleLine {
  question: string;
  ground_truth: string;
  [model: string]: unknown;
}
const sampleLines = (): SampleLine[] => readFileSync(SAMPLE, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as SampleLine);
const solution = (line: SampleLine, model: string) => line[model] as { solution: string; is_correct: boolean };
const readJsonl = <T>(path: string): T[] => readFileSync(path, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as T);

function workDir(): { dir: string; candidates: string } {
  const dir = tempDir();
  const candidates = join(dir, 'solutions.jsonl');
  copyFileSync(SAMPLE, candidates);
  return { dir, candidates };
}

describe('sift split', () => {
  it('splits the model solutions against gold exactly as their is_correct labels, in the TDG layout too', () => {
    const { dir, candidates } = workDir();
    const pos = join(dir, 'pos.jsonl');
    const neg = join(dir, 'neg.jsonl');
    const tdg = join(dir, 'tdg.jsonl');
    const report = join(dir, 'report.json');
    const r = sift(['split', candidates, '--out-positive', pos, '--out-negative', neg, '--tdg', tdg, '--report', report]);
    assert.equal(r.status, 0, r.stderr);
    const lines = sampleLines();
    // Independent of Sift's answer reading: the labels the source data carries.
    const expected = (correct: boolean) =>
      lines.flatMap((line, q) => MODELS.filter((m) => solution(line, m).is_correct === correct).map((m) => `${q + 1}/${m}`));
    const ids = (path: string) => readJsonl<{ question_id: string; model: string }>(path).map((c) => `${c.question_id}/${c.model}`);
    assert.deepEqual(ids(pos), expected(true));
    assert.deepEqual(ids(neg), expected(false));
    assert.match(r.stdout, /agrees with the source's is_correct on 36 of 36 \(100%\) candidates/);
    const layout = readJsonl<{ question: string; answer: string; generated_answer: string[]; positive: number[] }>(tdg);
    assert.equal(layout.length, 9);
    layout.forEach((q, i) => {
      assert.equal(q.question, lines[i].question);
      assert.equal(q.answer, lines[i].ground_truth);
      assert.deepEqual(q.generated_answer, MODELS.map((m) => solution(lines[i], m).solution));
      assert.deepEqual(q.positive, MODELS.flatMap((m, j) => (solution(lines[i], m).is_correct ? [j] : [])));
    });
    const json = JSON.parse(readFileSync(report, 'utf8')) as { totals: Record<string, number>; is_correct: { agree: number; labelled: number } };
    assert.deepEqual(json.totals, { positive: expected(true).length, negative: expected(false).length, noGold: 0, tooLong: 0 });
    assert.deepEqual([json.is_correct.agree, json.is_correct.labelled], [36, 36]);
  });

  it("--iwsi-compat lists the solutions where IWSI's reading disagrees with the labels", () => {
    const { dir, candidates } = workDir();
    const r = sift(['split', candidates, '--iwsi-compat', '--report', join(dir, 'r.json')]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /agrees with the source's is_correct on 33 of 36/);
    assert.match(r.stdout, /differs: question 5 sample 2 \(175b_finetuning\): answer 200, gold 200, is_correct false/);
    assert.match(r.stdout, /differs: question 9 sample 1 \(6b_verification\): answer 5600, gold 5600, is_correct false/);
  });

  it('matches gold from a gold file by question text, and refuses to overwrite an input', () => {
    const { dir } = workDir();
    // CANDIDATES lines without gold for the first GSM8K test questions; the gold comes from test.jsonl.
    const questions = readJsonl<{ question: string; answer: string }>(GSM8K_TEST).slice(0, 2);
    const candidates = join(dir, 'c.jsonl');
    const rows = [
      { question_id: 'a', question: questions[0].question, candidate: 'She sells 9 eggs. The answer is 18.', answer: null, sample_index: 0 },
      { question_id: 'a', question: questions[0].question, candidate: 'The answer is 26.', answer: null, sample_index: 1 },
      { question_id: 'b', question: questions[1].question, candidate: 'The answer is 3.', answer: null, sample_index: 0 },
    ];
    writeFileSync(candidates, rows.map((row) => JSON.stringify(row)).join('\n') + '\n');
    const original = readFileSync(candidates, 'utf8');
    const pos = join(dir, 'p.jsonl');
    const r = sift(['split', candidates, '--gold', GSM8K_TEST, '--out-positive', pos, '--out-negative', join(dir, 'n.jsonl')]);
    assert.equal(r.status, 0, r.stderr);
    // Byte-identical CANDIDATES lines: gold 18 (Janet's ducks) and 3 (the robe).
    assert.deepEqual(readFileSync(pos, 'utf8').trim().split('\n'), [JSON.stringify(rows[0]), JSON.stringify(rows[2])]);
    for (const out of [['--out-positive', candidates], ['--out-negative', GSM8K_TEST], ['--tdg', candidates]]) {
      const refused = sift(['split', candidates, '--gold', GSM8K_TEST, ...out]);
      assert.equal(refused.status, 2, refused.stderr);
      assert.match(refused.stderr, /refusing to overwrite it/);
    }
    assert.equal(readFileSync(candidates, 'utf8'), original);
    const noGold = sift(['split', candidates, '--out-positive', join(dir, 'x.jsonl')]);
    assert.equal(noGold.status, 2);
    assert.match(noGold.stderr, /no question has a gold answer/);
    assert.equal(existsSync(join(dir, 'x.jsonl')), false);
  });
});

describe('sift select on one-solution-per-line question/answer data', () => {
  it('--rule majority keeps exactly the lines sift filter --self-consistent keeps, byte for byte', () => {
    const dir = tempDir();
    const data = join(dir, 'gsm8k-candidates.jsonl');
    copyFileSync(join(repoRoot, 'examples', 'gsm8k-candidates.jsonl'), data);
    const selected = sift(['select', data, '--rule', 'majority', '--out', join(dir, 'select.jsonl')]);
    assert.equal(selected.status, 0, selected.stderr);
    const filtered = sift(['filter', data, '--self-consistent', '--out', join(dir, 'filter.jsonl'), '--no-cache', '-q']);
    assert.equal(filtered.status, 0, filtered.stderr);
    const kept = readFileSync(join(dir, 'select.jsonl'), 'utf8');
    assert.equal(kept, readFileSync(join(dir, 'filter.jsonl'), 'utf8'));
    assert.ok(kept.split('\n').length > 10);
    assert.match(selected.stdout, /kept 30 of 75 \(40%\) candidates by majority/);
  });
});

describe('sift vote', () => {
  it('writes one vote per question with the tie rule, shares and gold', () => {
    const { dir, candidates } = workDir();
    const out = join(dir, 'votes.jsonl');
    const r = sift(['vote', candidates, '--out', out, '--stats', join(dir, 'stats.json')]);
    assert.equal(r.status, 0, r.stderr);
    const votes = readJsonl<{ question_id: string; majority: string; majority_count: number; tied: string[]; agreement: number; gold: string; majority_correct: boolean; votes: { answer: string; agrees: boolean; share: number }[] }>(out);
    assert.equal(votes.length, 9);
    // Question 1 (Janet's ducks): four different answers 26, 224, 4, 18, each "A: N"; the first seen wins the tie.
    assert.equal(votes[0].majority, '26');
    assert.deepEqual(votes[0].tied, ['26', '224', '4', '18']);
    assert.deepEqual(votes[0].votes.map((v) => v.share), [0.25, 0.25, 0.25, 0.25]);
    assert.equal(votes[0].majority_correct, false);
    assert.equal(votes[0].gold, '18');
    const lines = sampleLines();
    // Majority correct <=> its candidates are the labelled-correct ones (labels agree with gold on this file).
    for (const [q, vote] of votes.entries()) {
      const labelled = MODELS.map((m) => solution(lines[q], m).is_correct);
      if (vote.majority_correct) assert.deepEqual(vote.votes.map((v) => v.agrees), labelled, `question ${q + 1}`);
    }
    const stats = JSON.parse(readFileSync(join(dir, 'stats.json'), 'utf8')) as { questions: number; candidates: number; majorityCorrect: number };
    assert.equal(stats.questions, 9);
    assert.equal(stats.candidates, 36);
    assert.equal(stats.majorityCorrect, votes.filter((v) => v.majority_correct).length);
  });

  it('refuses compat flags for the wrong answer format and bad candidate lines with their line', () => {
    const { dir, candidates } = workDir();
    const math = sift(['vote', candidates, '--answer-format', 'math', '--iwsi-compat']);
    assert.equal(math.status, 2);
    assert.match(math.stderr, /--iwsi-compat .* does not apply to --answer-format math/);
    const bad = join(dir, 'bad.jsonl');
    writeFileSync(bad, '{"question_id": "a", "question": "q", "candidate": "c", "answer": null, "sample_index": 0}\n{"question_id": 3}\n');
    const r = sift(['vote', bad]);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /bad\.jsonl:2: "question_id" must be a string \(got number 3\)/);
  });
});

describe('sift select and the weighted vote with the student model', () => {
  it('IWSI keeps the lowest-DS 80% of majority candidates, with the DS weights sift score gives the same pairs', async () => {
    const { dir, candidates } = workDir();
    const valid = join(dir, 'valid.jsonl');
    copyFileSync(GSM8K_TEST, valid);
    // The same question/solution pairs as an ordinary dataset, scored independently (no store).
    const pairs = join(dir, 'pairs.jsonl');
    const lines = sampleLines();
    writeFileSync(pairs, lines.flatMap((line) => MODELS.map((m) => JSON.stringify({ instruction: line.question, input: '', output: solution(line, m).solution }))).join('\n') + '\n');
    const scored = await siftAsync(['score', pairs, '--metrics', 'ifd,ds', '--valid', valid, '--no-cache', '--out', join(dir, 'rows.jsonl'), '-q']);
    assert.equal(scored.status, 0, scored.stderr);
    const rows = readJsonl<{ ds: number; loss_y_given_x: number }>(join(dir, 'rows.jsonl'));
    assert.equal(rows.length, 36);

    const report = join(dir, 'select.json');
    const kept = join(dir, 'kept.jsonl');
    const selected = await siftAsync(['select', candidates, '--valid', valid, '--out', kept, '--report', report, '--entropy-max', '0.6', '-q']);
    assert.equal(selected.status, 0, selected.stderr);
    const json = JSON.parse(readFileSync(report, 'utf8')) as { decisions: { question_id: string; sample_index: number; kept: boolean; ds?: number; reason: string }[]; rules: { rule: string; kept: number }[] };
    const majority = json.decisions.filter((d) => d.ds !== undefined);
    // Every majority candidate carries its DS weight (the baseline keeps exactly those).
    assert.equal(majority.length, json.rules[1].kept);
    assert.ok(majority.length > 4);
    for (const d of majority) {
      const row = rows[(Number(d.question_id) - 1) * 4 + d.sample_index];
      assert.ok(Math.abs(d.ds! - row.ds) < 1e-9, `question ${d.question_id} sample ${d.sample_index}: ${d.ds} vs ${row.ds}`);
    }
    // Paper rule by hand: sigma = the ceil(0.8 n)-th smallest DS; keep DS <= sigma.
    const sorted = majority.map((d) => d.ds!).sort((a, b) => a - b);
    const sigma = sorted[Math.ceil(0.8 * sorted.length) - 1];
    const expectedKept = json.decisions.filter((d) => d.ds !== undefined && d.ds <= sigma).map((d) => `${d.question_id}/${d.sample_index}`);
    assert.deepEqual(json.decisions.filter((d) => d.kept).map((d) => `${d.question_id}/${d.sample_index}`), expectedKept);
    assert.ok(expectedKept.length < majority.length && expectedKept.length > 0);
    assert.deepEqual(json.rules.map((r) => r.rule), ['iwsi', 'majority', 'entropy']);
    assert.equal(json.rules[1].kept, majority.length);
    assert.equal(readJsonl(kept).length, expectedKept.length);

    // The logprob-weighted vote scores each candidate exp(-L(y|x)) of the same pair.
    const votes = join(dir, 'votes.jsonl');
    const voted = await siftAsync(['vote', candidates, '--weight', 'logprob', '--out', votes, '-q']);
    assert.equal(voted.status, 0, voted.stderr);
    const records = readJsonl<{ weighted: { answer: string; totals: { answer: string; total: number }[] }; votes: { answer: string | null; score: number }[] }>(votes);
    records.forEach((q, i) => {
      q.votes.forEach((v, j) => assert.ok(Math.abs(v.score - Math.exp(-rows[i * 4 + j].loss_y_given_x)) < 1e-9, `question ${i + 1} sample ${j}`));
      // The winner by hand: the largest sum of scores over each answer's candidates, first seen on ties.
      const sums = new Map<string, number>();
      for (const v of q.votes) if (v.answer !== null) sums.set(v.answer, (sums.get(v.answer) ?? 0) + v.score);
      let best: string | undefined;
      for (const [answer, total] of sums) if (best === undefined || total > sums.get(best)!) best = answer;
      assert.equal(q.weighted.answer, best, `question ${i + 1}`);
    });
    assert.deepEqual(readdirSync(join(dir, '.sift')), ['sift.db']);
  });
});
