import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readAnswer, type Answer } from '../../src/core/reasoning/answers';
import { voteOnAnswers, weightedVote } from '../../src/core/reasoning/vote';

const n = (text: string): Answer => ({ text, key: text });
const close = (actual: number | null, expected: number): void => {
  assert.ok(actual !== null && Math.abs(actual - expected) < 1e-12, `${String(actual)} != ${expected}`);
};

describe('voteOnAnswers', () => {
  it('majority, agreement and entropy of a 3-1 vote (unreadable answers do not vote)', () => {
    const v = voteOnAnswers([n('18'), n('18'), n('26'), null, n('18')]);
    assert.equal(v.majority?.text, '18');
    assert.equal(v.majorityCount, 3);
    assert.equal(v.parsed, 4);
    assert.equal(v.candidates, 5);
    assert.equal(v.agreement, 0.75);
    // Hand: -(0.75 ln 0.75 + 0.25 ln 0.25) = 0.215762 + 0.346574 = 0.562335; / ln 4 = 0.405639.
    close(v.entropy, -(0.75 * Math.log(0.75) + 0.25 * Math.log(0.25)));
    assert.ok(Math.abs(v.entropy! - 0.5623351446) < 1e-9);
    assert.ok(Math.abs(v.normalizedEntropy! - 0.4056390622) < 1e-9);
    assert.deepEqual(v.agrees, [true, true, false, false, true]);
    assert.deepEqual(v.tally.map((t) => [t.answer.text, t.count, t.share]), [['18', 3, 0.75], ['26', 1, 0.25]]);
    assert.deepEqual(v.tied.map((a) => a.text), ['18']);
  });

  it('a tie goes to the answer seen first and is reported', () => {
    const v = voteOnAnswers([n('5'), n('7'), n('7'), n('5')]);
    assert.equal(v.majority?.text, '5');
    assert.deepEqual(v.tied.map((a) => a.text), ['5', '7']);
    assert.deepEqual(v.agrees, [true, false, false, true]);
    close(v.entropy, Math.log(2));
    close(v.normalizedEntropy, 0.5);
  });

  it('one readable answer: agreement 1, entropy 0, no normalised entropy (IWSI drops the question)', () => {
    const v = voteOnAnswers([null, n('3')]);
    assert.equal(v.agreement, 1);
    assert.equal(v.entropy, 0);
    assert.equal(v.normalizedEntropy, null);
  });

  it('no readable answer: no majority, nothing agrees', () => {
    const v = voteOnAnswers([null, null]);
    assert.equal(v.majority, null);
    assert.equal(v.agreement, null);
    assert.equal(v.entropy, null);
    assert.deepEqual(v.tied, []);
    assert.deepEqual(v.agrees, [false, false]);
  });

  it('math answers vote by their normalised key and show the first text seen', () => {
    const reading = { format: 'math' as const };
    const answers = ['$\\boxed{\\dfrac{1}{2}}$', '\\boxed{0.5}', '\\boxed{1/3}'].map((s) => readAnswer(s, reading));
    const v = voteOnAnswers(answers);
    assert.equal(v.majority?.text, '\\dfrac{1}{2}');
    assert.equal(v.majorityCount, 2);
  });
});

describe('weightedVote', () => {
  const answers = [n('A'), n('B'), n('B')];
  const scores = [0.9, 0.3, 0.4];

  it('the three ASC forms can pick different answers (hand sums)', () => {
    // s: A 0.9, B 0.7. 1+s: A 1.9, B 2.7. 1+2s: A 2.8, B 1.6 + 1.8 = 3.4.
    const s = weightedVote(answers, scores, 's');
    assert.equal(s.answer?.text, 'A');
    close(s.total, 0.9);
    assert.equal(weightedVote(answers, scores, '1+s').answer?.text, 'B');
    const twice = weightedVote(answers, scores, '1+2s');
    assert.equal(twice.answer?.text, 'B');
    close(twice.total, 3.4);
  });

  it("fills a missing score with the mean of the question's others, or 1 with none", () => {
    const v = weightedVote([n('A'), n('B'), n('B'), n('A'), n('C')], [0.9, 0.3, 0.4, null, 0.2], 's');
    // Fill: (0.9 + 0.3 + 0.4 + 0.2) / 4 = 0.45. A: 0.9 + 0.45 = 1.35; B: 0.7; C: 0.2.
    assert.equal(v.filled, 1);
    close(v.scores[3], 0.45);
    assert.equal(v.answer?.text, 'A');
    close(v.total, 1.35);
    const none = weightedVote([n('A'), n('B'), n('B')], [null, null, Number.NaN], 's');
    assert.equal(none.filled, 3);
    assert.deepEqual(none.scores, [1, 1, 1]);
    assert.equal(none.answer?.text, 'B');
  });

  it('ignores unreadable answers, reports ties, and rejects mismatched lengths', () => {
    const v = weightedVote([null, n('A'), n('B')], [0.99, 0.5, 0.5], 's');
    assert.equal(v.answer?.text, 'A');
    assert.deepEqual(v.tied.map((a) => a.text), ['A', 'B']);
    assert.throws(() => weightedVote([n('A')], [0.1, 0.2]), /2 scores for 1 answers/);
  });
});
