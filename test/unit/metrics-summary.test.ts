import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { histogram, percentileRank, quantiles } from '../../src/core/metrics';

describe('percentileRank', () => {
  it('is the percentage of scored values <= v', () => {
    const values = [1, 2, 3, 4, null, NaN, { value: null, reason: 'x' }];
    assert.equal(percentileRank(values, 2), 50);
    assert.equal(percentileRank(values, 4), 100);
    assert.equal(percentileRank(values, 0), 0);
    assert.equal(percentileRank([1, 2, 2, 3], 2), 75);
  });

  it('is NaN without data or for a non-finite v', () => {
    assert.ok(Number.isNaN(percentileRank([null, NaN], 1)));
    assert.ok(Number.isNaN(percentileRank([1, 2], NaN)));
  });
});

describe('histogram', () => {
  it('uses numpy bins: [a, b) except the last, which holds its upper edge', () => {
    const h = histogram([0, 0.25, 0.5, 1, 1, null, NaN], 2);
    assert.deepEqual(h.edges, [0, 0.5, 1]);
    assert.deepEqual(h.counts, [2, 3]);
    assert.equal(h.ignored, 2);
    assert.equal(h.below + h.above, 0);
  });

  it('counts values outside a given range', () => {
    const h = histogram([-1, 0.1, 0.9, 2, 3], 4, [0, 1]);
    assert.deepEqual(h.counts, [1, 0, 0, 1]);
    assert.equal(h.below, 1);
    assert.equal(h.above, 2);
  });

  it('widens a zero-width range and falls back to [0, 1] without data', () => {
    assert.deepEqual(histogram([2, 2], 1).edges, [1.5, 2.5]);
    assert.deepEqual(histogram([2, 2], 1).counts, [2]);
    assert.deepEqual(histogram([], 2), { edges: [0, 0.5, 1], counts: [0, 0], below: 0, above: 0, ignored: 0 });
  });

  it('rejects bad bins and ranges', () => {
    assert.throws(() => histogram([1], 0), RangeError);
    assert.throws(() => histogram([1], 2, [1, 0]), RangeError);
  });
});

describe('quantiles', () => {
  it('interpolates linearly like numpy.quantile', () => {
    const values = [4, 1, 3, 2, null];
    assert.deepEqual(quantiles(values, [0, 0.5, 1]), [1, 2.5, 4]);
    const [p10] = quantiles(values, [0.1]);
    assert.ok(Math.abs(p10 - 1.3) < 1e-12);
  });

  it('is NaN without data and rejects q outside [0, 1]', () => {
    assert.ok(quantiles([null], [0.5]).every(Number.isNaN));
    assert.throws(() => quantiles([1], [1.5]), RangeError);
  });
});
