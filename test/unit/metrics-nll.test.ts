import assert from 'node:assert/strict';
import { describe, it, test } from 'node:test';
import { METHOD_VERSION, meanNll, perplexity, sumNll } from '../../src/core/metrics';

describe('meanNll', () => {
  it('averages -lp over tokens start..end-1, token j being at lp[j-1]', () => {
    const lp = [-1, -2, -3, -4]; // tokens 1..4 of a 5-token sequence
    assert.deepEqual(meanNll(lp, 2, 5), { mean: 3, n: 3 });
    assert.deepEqual(meanNll(lp, 1, 2), { mean: 1, n: 1 });
  });

  it('matches the Cherry helper slice losses[s-1 : n-1] of length n - s (METHODS §8.2 #6)', () => {
    const n = 7;
    const s = 3;
    const losses = [0.5, 1.25, 2, 0.75, 3.5, 1]; // losses[j-1] = NLL of token j, j = 1..n-1
    const lp = Float64Array.from(losses, (l) => -l);
    const slice = losses.slice(s - 1, n - 1);
    const got = meanNll(lp, s, n);
    assert.equal(got.n, n - s);
    assert.equal(got.n, slice.length);
    assert.equal(got.mean, slice.reduce((a, b) => a + b, 0) / slice.length);
  });

  it('gives a NaN mean for an empty span, never 0 (METHODS §8.3)', () => {
    const lp = [-1, -2];
    const empty = meanNll(lp, 3, 3);
    assert.equal(empty.n, 0);
    assert.ok(Number.isNaN(empty.mean));
    const reversed = meanNll(lp, 3, 2);
    assert.equal(reversed.n, 0);
    assert.ok(Number.isNaN(reversed.mean));
  });

  it('rejects spans that start at token 0, run past the sequence or are not integers', () => {
    assert.throws(() => meanNll([-1, -2], 0, 2), RangeError);
    assert.throws(() => meanNll([-1, -2], 1, 4), RangeError);
    assert.throws(() => meanNll([-1, -2], 1.5, 2), RangeError);
    assert.deepEqual(meanNll([-1, -2], 1, 3), { mean: 1.5, n: 2 });
  });

  it('lets non-finite log-probs through for the metric to reject', () => {
    assert.equal(meanNll([-Infinity, -1], 1, 3).mean, Infinity);
    assert.ok(Number.isNaN(meanNll([NaN, -1], 1, 3).mean));
  });
});

describe('sumNll', () => {
  it('sums -lp over the span and counts its tokens', () => {
    assert.deepEqual(sumNll([-0.5, -1.5, -2], 1, 4), { sum: 4, n: 3 });
    assert.deepEqual(sumNll([-0.5], 2, 2), { sum: 0, n: 0 });
  });
});

describe('METHOD_VERSION', () => {
  it('is a non-empty string for the score store key', () => {
    assert.equal(typeof METHOD_VERSION, 'string');
    assert.ok(METHOD_VERSION.length > 0);
  });
});

test('perplexity is exp of the mean NLL', () => {
  assert.ok(Math.abs(perplexity({ mean: Math.log(4), n: 3 }) - 4) < 1e-12);
  assert.ok(Number.isNaN(perplexity({ mean: Number.NaN, n: 0 })));
});
