import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applyFilterRules, type FilterCandidate, type FilterRules } from '../../src/core/metrics/filterRules';

const rules = (r: Partial<FilterRules>): FilterRules => ({ dsRule: 'paper', ties: 'earlier', ...r });
const candidate = (line: number, ifd: number | null | undefined, rifd?: number): FilterCandidate => ({
  line,
  metrics: {
    ...(ifd === undefined ? {} : { ifd: ifd === null ? { value: null, reason: 'empty response: no tokens to score' } : { value: ifd } }),
    ...(rifd === undefined ? {} : { rifd: { value: rifd } }),
  },
  question: '',
  response: '',
});

describe('applyFilterRules', () => {
  // Worked by hand: IFD < 1 drops lines 2 and 3 (no IFD), r-IFD < 1 drops 4 and 5 (no r-IFD), and
  // the top 50% of the three left (k = floor(1.5) = 1) keeps line 6, the highest IFD.
  const candidates = [candidate(1, 0.5, 0.4), candidate(2, 1.2, 0.1), candidate(3, null, 0.1), candidate(4, 0.9, 1.5), candidate(5, 0.7), candidate(6, 0.8, 0.3), candidate(7, 0.6, 0.2)];
  const outcome = applyFilterRules(candidates, rules({ ifdMax: 1, rifdMax: 1, topFraction: 0.5 }));
  const expected = [
    { line: 1, kept: false, reason: 'top: not in top 50% (rank 3 of 3, IFD 0.5, k = 1)' },
    { line: 2, kept: false, reason: 'ifd-max: IFD 1.2 >= 1' },
    { line: 3, kept: false, reason: 'ifd-max: unscored: empty response: no tokens to score' },
    { line: 4, kept: false, reason: 'rifd-max: r-IFD 1.5 >= 1' },
    { line: 5, kept: false, reason: 'rifd-max: unscored' },
    { line: 6, kept: true, reason: 'passed every rule' },
    { line: 7, kept: false, reason: 'top: not in top 50% (rank 2 of 3, IFD 0.6, k = 1)' },
  ];

  it('chains the rules in sift filter order and words each decision', () => {
    assert.deepEqual(outcome.decisions(), expected);
    assert.deepEqual(
      candidates.map((_, i) => outcome.decisionAt(i)),
      expected,
    );
  });

  it('counts the drops per rule, and of those the records without a value, without wording a reason', () => {
    assert.deepEqual(outcome.dropped, { 'ifd-max': 2, 'rifd-max': 2, top: 2 });
    assert.deepEqual(outcome.droppedNoValue, { 'ifd-max': 1, 'rifd-max': 1, top: 0 });
    assert.deepEqual([...outcome.keptLines], [6]);
    assert.deepEqual([...outcome.keptAt], [0, 0, 0, 0, 0, 1, 0]);
  });

  it('names a rule that dropped nothing nowhere', () => {
    const none = applyFilterRules(candidates, rules({ ifdMax: 100 }));
    assert.deepEqual(none.dropped, { 'ifd-max': 1 });
    assert.deepEqual(none.droppedNoValue, { 'ifd-max': 1 });
  });

  it('words self-consistency drops from the vote', () => {
    const solutions = ['So the answer is 4.', 'The answer is 4', 'The answer is 5', 'I do not know'].map((response, i) => ({ line: i + 1, metrics: {}, question: 'What is 2 + 2?', response }));
    const vote = applyFilterRules(solutions, rules({ selfConsistent: true }));
    assert.deepEqual(vote.decisions(), [
      { line: 1, kept: true, reason: 'passed every rule' },
      { line: 2, kept: true, reason: 'passed every rule' },
      { line: 3, kept: false, reason: 'self-consistency: answer 5 disagrees with the majority 4 (2 of 4 candidates)' },
      { line: 4, kept: false, reason: 'self-consistency: no parsable final answer' },
    ]);
    assert.deepEqual(vote.droppedNoValue, { 'self-consistency': 0 });
  });
});
