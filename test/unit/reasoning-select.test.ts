import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CandidateRecord } from '../../src/core/reasoning/candidate';
import { voteQuestions } from '../../src/core/reasoning/questionVotes';
import type { SourcedCandidate } from '../../src/core/reasoning/readCandidates';
import { selectCandidates } from '../../src/core/reasoning/selectCandidates';
import { splitByGold, codePointLength, tdgRecord, withinTdgLength } from '../../src/core/reasoning/split';

let line = 0;
function candidate(question_id: string, answer: string | null, extra: Partial<CandidateRecord> = {}): SourcedCandidate {
  const text = answer === null ? 'I could not finish.' : `Some work. The answer is ${answer}.`;
  return { line: ++line, record: { question_id, question: `question ${question_id}`, candidate: text, answer: null, sample_index: 0, ...extra } };
}

// Q1: 5 5 5 7 (gold 5); Q2: 2 3 3 - (gold 2); Q3: 9 8, a tie won by 9 (gold 9); Q4: - 4 (gold 4).
const candidates = [
  ...['5', '5', '5', '7'].map((a) => candidate('q1', a, { gold: '#### 5' })),
  ...['2', '3', '3', null].map((a) => candidate('q2', a, { gold: '#### 2' })),
  ...['9', '8'].map((a) => candidate('q3', a, { gold: '#### 9' })),
  ...[null, '4'].map((a) => candidate('q4', a, { gold: '#### 4' })),
];
const results = voteQuestions(candidates, { reading: { format: 'numeric' } });
const keptIds = (decisions: ReturnType<typeof selectCandidates>['decisions']): string[] =>
  decisions.filter((d) => d.kept).map((d) => `${d.questionId}:${d.candidate.record.candidate.match(/is (\d+)/)?.[1] ?? '-'}:${candidates.indexOf(d.candidate)}`);

describe('selectCandidates', () => {
  it('majority (LMSI): every candidate with its question\'s majority answer', () => {
    const o = selectCandidates(results, 'majority');
    assert.deepEqual(keptIds(o.decisions), ['q1:5:0', 'q1:5:1', 'q1:5:2', 'q2:3:5', 'q2:3:6', 'q3:9:8', 'q4:4:11']);
    assert.equal(o.questionsKept, 4);
    // Correct among kept: q1's three 5s, q3's 9, q4's 4.
    assert.equal(o.keptWithGold, 7);
    assert.equal(o.keptCorrect, 5);
    assert.match(o.decisions[3].reason, /self-consistency: answer 7 is not the majority 5 \(3 of 4\)/);
    assert.match(o.decisions[7].reason, /no readable final answer/);
  });

  it('entropy: the majority of questions whose normalised entropy is at most u', () => {
    // q1: [3,1] of 4 -> 0.405639; q2: [1,2] of 3 -> 0.636514 / ln 3 = 0.579380; q3: [1,1] -> 1; q4: one answer -> none.
    const o = selectCandidates(results, 'entropy', { entropyMax: 0.9 });
    assert.deepEqual(keptIds(o.decisions), ['q1:5:0', 'q1:5:1', 'q1:5:2', 'q2:3:5', 'q2:3:6']);
    const tighter = selectCandidates(results, 'entropy', { entropyMax: 0.5 });
    assert.deepEqual(keptIds(tighter.decisions), ['q1:5:0', 'q1:5:1', 'q1:5:2']);
    assert.match(o.decisions[8].reason, /normalised entropy 1 > 0.9/);
    assert.match(o.decisions[11].reason, /fewer than 2 readable answers/);
  });

  it('iwsi: the lowest-DS share of the majority candidates, paper and repo rules (hand-ranked)', () => {
    // DS of the 7 majority candidates; q4's has none. Sorted scored: 1.0 1.1 1.2 1.5 2.0 3.0.
    const ds = new Map<SourcedCandidate, number | null>([
      [candidates[0], 1.0], [candidates[1], 1.5], [candidates[2], 3.0],
      [candidates[5], 1.2], [candidates[6], 2.0], [candidates[8], 1.1], [candidates[11], null],
      // A minority candidate with the lowest DS of all: never kept.
      [candidates[3], 0.5],
    ]);
    const dsOf = (c: SourcedCandidate) => ds.get(c) ?? null;
    // Paper, k = 80%: rank ceil(0.8 * 6) = 5 -> sigma 2.0, keep <= 2.0: five.
    const paper = selectCandidates(results, 'iwsi', { keep: 0.8, dsRule: 'paper', dsOf });
    assert.deepEqual(keptIds(paper.decisions), ['q1:5:0', 'q1:5:1', 'q2:3:5', 'q2:3:6', 'q3:9:8']);
    assert.equal(paper.threshold, 2.0);
    // Repo: thr = sorted[int(6 * 0.8) = 4] = 2.0, keep < 2.0 strictly: four.
    const repo = selectCandidates(results, 'iwsi', { keep: 0.8, dsRule: 'repo', dsOf });
    assert.deepEqual(keptIds(repo.decisions), ['q1:5:0', 'q1:5:1', 'q2:3:5', 'q3:9:8']);
    assert.equal(repo.decisions[6].ds, 2.0);
    assert.equal(repo.decisions[3].kept, false);
    assert.match(repo.decisions[11].reason, /unscored/);
  });
});

describe('splitByGold', () => {
  it('counts code points as Python len does, and cuts at len(q + "\\n" + c) >= max', () => {
    assert.equal(codePointLength('a\u{1F600}b'), 3);
    assert.equal('a\u{1F600}b'.length, 4);
    assert.equal(withinTdgLength('ab', 'cde', 7), true);
    assert.equal(withinTdgLength('ab', 'cde', 6), false);
    assert.equal(withinTdgLength('a\u{1F600}', 'b', 4), false);
  });

  it('positive = matches gold, negative = the rest; questions without readable gold are on neither side', () => {
    const items = [
      ...['5', '7', null].map((a) => candidate('g1', a, { gold: 'A: 5' })),
      ...['1', '1'].map((a) => candidate('g2', a)),
      ...['3'].map((a) => candidate('g3', a, { gold: 'no number here' })),
      ...['8', '8'].map((a) => candidate('g4', a, { gold: '8' })),
    ];
    const r = voteQuestions(items, { reading: { format: 'numeric' } });
    const split = splitByGold(r);
    assert.deepEqual(split.positive.map((c) => items.indexOf(c)), [0, 6, 7]);
    assert.deepEqual(split.negative.map((c) => items.indexOf(c)), [1, 2]);
    assert.deepEqual(split.totals, { positive: 3, negative: 2, noGold: 3, tooLong: 0 });
    assert.equal(split.questionsWithBoth, 1);
    assert.equal(split.perQuestion[1].noGoldReason, 'no gold answer given');
    assert.equal(split.perQuestion[2].noGoldReason, 'the gold answer could not be read');
    const cut = splitByGold(r, { maxLength: 'question g1'.length + 1 + 'Some work. The answer is 5.'.length });
    // At exactly the limit: g1's two answered candidates and g4's two (same lengths) go; "I could not finish." stays.
    assert.deepEqual(cut.totals, { positive: 0, negative: 1, noGold: 3, tooLong: 4 });
    assert.deepEqual(tdgRecord(r[0]), {
      question_id: 'g1',
      question: 'question g1',
      answer: 'A: 5',
      generated_answer: ['Some work. The answer is 5.', 'Some work. The answer is 7.', 'I could not finish.'],
      positive: [0],
    });
    assert.equal(tdgRecord(r[1]), undefined);
  });

  it("math: TDG compat counts a solution without a box as positive when the gold has none either; Sift does not", () => {
    const items = [candidate('m', null, { gold: 'the answer is one half' })];
    const clean = splitByGold(voteQuestions(items, { reading: { format: 'math' } }));
    // Sift reads a gold without a box as the bare answer, which the unboxed candidate does not match.
    assert.deepEqual(clean.totals, { positive: 0, negative: 1, noGold: 0, tooLong: 0 });
    const compat = splitByGold(voteQuestions(items, { reading: { format: 'math', compat: true } }));
    assert.deepEqual(compat.totals, { positive: 1, negative: 0, noGold: 0, tooLong: 0 });
  });
});
