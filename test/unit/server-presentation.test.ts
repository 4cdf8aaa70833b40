import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ifd, rifd } from '../../src/core/metrics/ifd';
import type { RecordScore } from '../../src/core/scoring/recordScore';
import { decisiveNumber, scoreLabel, shortReason } from '../../src/server/presentation';

test('a label shows the digits that decide the rule: 1.001 is not "1.00", 0.9996 is not "1.00"', () => {
  // By hand: the two-decimal text of each value, and the first that falls on the value's side of 1.
  assert.equal(decisiveNumber(1.001, 1), '1.001');
  assert.equal(decisiveNumber(1.0011, 1), '1.001');
  assert.equal(decisiveNumber(0.9996, 1), '0.9996');
  assert.equal(decisiveNumber(0.99999, 1), '0.99999');
  assert.equal(decisiveNumber(1, 1), '1.00');
  assert.equal(decisiveNumber(0.8234, 1), '0.82', 'far from the threshold: two decimals');
  assert.equal(decisiveNumber(1.2, 1), '1.20');
  assert.equal(decisiveNumber(0.7496, 0.75), '0.7496', 'against another ifdWarnAt');
  assert.equal(decisiveNumber(1.004, undefined), '1.00', 'no rule (DS): two decimals');
});

test('a metric without a value says why in a few words in the label', () => {
  const tooLong = rifd({ mean: Number.NaN, n: 0, unscorable: 'the reverse prompt alone is 600 tokens (with BOS); the model context is 512, so no instruction token fits' }, { mean: 2, n: 3 }, 'ppl');
  const empty = ifd({ mean: Number.NaN, n: 0, unscorable: 'empty response: no tokens to score' }, { mean: Number.NaN, n: 0, unscorable: 'empty response: no tokens to score' }, 'ppl');
  assert.equal(tooLong.value, null);
  assert.equal(empty.value, null);
  assert.equal(shortReason(tooLong.reason!), 'too long for the model');
  assert.equal(shortReason(empty.reason!), 'empty response');
  const score = { metrics: { ifd: { value: 1.0011 }, rifd: tooLong }, losses: {}, at: 0 } as unknown as RecordScore;
  assert.equal(scoreLabel(score, { metrics: ['ifd', 'rifd'], ifdWarnAt: 1 }), 'IFD 1.001 · r-IFD — (too long for the model)');
});

test('a score that came with the folder says unverified in a restricted workspace only', () => {
  const score = { metrics: { ifd: { value: 0.5 } }, losses: {}, at: 0, foreign: true } as unknown as RecordScore;
  const settings = { metrics: ['ifd' as const], ifdWarnAt: 1 };
  assert.equal(scoreLabel(score, settings, false), 'IFD 0.50 · unverified');
  assert.equal(scoreLabel(score, settings, true), 'IFD 0.50');
  assert.equal(scoreLabel({ ...score, foreign: undefined } as unknown as RecordScore, settings, false), 'IFD 0.50');
});
