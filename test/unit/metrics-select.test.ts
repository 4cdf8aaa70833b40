import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { dsKeep, keepBelow, nearestRankPercentile, topCount, topFraction, type Score, type Selection } from '../../src/core/metrics';

const reasons = (s: Selection): string[] => s.decisions.map((d) => d.reason);

describe('keepBelow', () => {
  const values: Score[] = [0.5, 1, 1.12, null, NaN, { value: null, reason: 'empty response: no tokens to score' }, { value: 0.2 }];

  it('keeps value < max when strict (Superfiltering: IFD >= 1 out)', () => {
    const s = keepBelow(values, 1, { inclusive: false, label: 'IFD' });
    assert.deepEqual(s.kept, [0, 6]);
    assert.equal(s.unscored, 3);
    assert.equal(s.threshold, 1);
    assert.deepEqual(reasons(s), [
      'IFD 0.5 < 1',
      'IFD 1 >= 1',
      'IFD 1.12 >= 1',
      'unscored',
      'unscored: NaN',
      'unscored: empty response: no tokens to score',
      'IFD 0.2 < 1',
    ]);
    assert.deepEqual(
      s.decisions.map((d) => d.index),
      values.map((_, i) => i),
    );
  });

  it('keeps value <= max when inclusive (Cherry select_from_ifd_json.py)', () => {
    const s = keepBelow(values, 1, { inclusive: true, label: 'IFD' });
    assert.deepEqual(s.kept, [0, 1, 6]);
    assert.equal(s.decisions[2].reason, 'IFD 1.12 > 1');
  });

  it('never prints a value next to the threshold as the threshold', () => {
    const s = keepBelow([0.99999, 1.00001], 1, { inclusive: false, label: 'IFD' });
    assert.deepEqual(reasons(s), ['IFD 0.99999 < 1', 'IFD 1.00001 >= 1']);
  });

  it('treats infinite values as unscored', () => {
    assert.deepEqual(keepBelow([-Infinity, Infinity], 1, { inclusive: true }).kept, []);
  });
});

describe('topFraction', () => {
  const ten = [0.3, 0.9, 0.1, 0.7, 0.5, 0.8, 0.2, 0.6, 0.4, 1.0];

  it('keeps k = floor(nScored * fraction), returned in original order', () => {
    const s = topFraction(ten, 0.25, { label: 'IFD' }); // floor(2.5) = 2: the two highest
    assert.deepEqual(s.kept, [1, 9]);
    assert.equal(s.threshold, 0.9);
    assert.equal(s.decisions[9].reason, 'in top 25% (rank 1 of 10, IFD 1, k = 2)');
    assert.equal(s.decisions[0].reason, 'not in top 25% (rank 8 of 10, IFD 0.3, k = 2)');
  });

  it('selects none when k rounds down to 0, unlike Cherry [-0:] (METHODS §8.3)', () => {
    for (const fraction of [0, 0.05]) {
      const s = topFraction(ten, fraction);
      assert.deepEqual(s.kept, []);
      assert.equal(s.threshold, undefined);
      assert.ok(s.decisions.every((d) => !d.kept && d.reason.includes('k = 0')));
    }
  });

  it('counts only scored records and never keeps unscored ones', () => {
    const values: Score[] = [null, ...ten, NaN, { value: null, reason: 'empty response: no tokens to score' }];
    const s = topFraction(values, 0.5); // nScored = 10 -> k = 5
    assert.equal(s.kept.length, 5);
    assert.equal(s.unscored, 3);
    assert.deepEqual(topFraction(values, 1).kept, ten.map((_, i) => i + 1));
    assert.equal(s.decisions[12].reason, 'unscored: empty response: no tokens to score');
  });

  it('floors the same float product as Python int(n * rate)', () => {
    const hundred = Array.from({ length: 100 }, (_, i) => i);
    assert.equal(topFraction(hundred, 0.29).kept.length, 28); // 0.29 * 100 = 28.999999999999996
    assert.equal(topFraction(hundred, 0.06).kept.length, 6);
  });

  it('breaks ties toward the earlier record by default (Superfiltering stable sort)', () => {
    const tied = [0.9, 0.5, 0.9, 0.9, 0.1];
    assert.deepEqual(topFraction(tied, 0.4).kept, [0, 2]);
    assert.deepEqual(topFraction(tied, 0.4, { ties: 'earlier' }).kept, [0, 2]);
  });

  it("breaks ties toward the later record with ties: 'later' (Cherry data_by_IFD.py)", () => {
    const tied = [0.9, 0.5, 0.9, 0.9, 0.1];
    // Cherry: sorted((rate, index)) ascending, take the last 2 -> (0.9, 2), (0.9, 3).
    assert.deepEqual(topFraction(tied, 0.4, { ties: 'later' }).kept, [2, 3]);
    assert.equal(topFraction(tied, 0.4, { ties: 'later' }).decisions[3].reason, 'in top 40% (rank 1 of 5, score 0.9, k = 2)');
  });

  it('ranks lowest first with order: asc', () => {
    assert.deepEqual(topFraction(ten, 0.2, { order: 'asc' }).kept, [2, 6]);
    assert.deepEqual(topFraction([0.1, 0.5, 0.1, 0.1], 0.5, { order: 'asc', ties: 'later' }).kept, [2, 3]);
  });

  it('rejects a fraction outside [0, 1]', () => {
    for (const bad of [-0.1, 1.5, NaN]) assert.throws(() => topFraction(ten, bad), RangeError);
  });
});

describe('topCount', () => {
  it('keeps the k best and every scored record when k exceeds them', () => {
    assert.deepEqual(topCount([0.2, null, 0.8, 0.5], 2).kept, [2, 3]);
    assert.deepEqual(topCount([0.2, null, 0.8, 0.5], 10).kept, [0, 2, 3]);
    assert.equal(topCount([0.2, null, 0.8, 0.5], 10).threshold, undefined);
    assert.deepEqual(topCount([0.2, 0.8], 0).kept, []);
  });

  it('rejects a negative or fractional k', () => {
    assert.throws(() => topCount([1], -1), RangeError);
    assert.throws(() => topCount([1], 1.5), RangeError);
  });
});

describe('dsKeep', () => {
  // METHODS §8.2 #3.
  const DS = [1.0, 1.05, 1.1, 1.2, 1.3, 1.5, 2.0, 2.0, 3.0, 5.0];

  it('repo rule: th = 0.79 gives thr = sorted[7] = 2.0 and keeps 6 of 10 (< 2.0)', () => {
    const s = dsKeep(DS, 0.79, 'repo');
    assert.equal(s.threshold, 2.0);
    assert.deepEqual(s.kept, [0, 1, 2, 3, 4, 5]);
    assert.equal(s.decisions[6].reason, 'DS 2 >= 2 (thr = sorted[int(10 × 0.79) = 7], strict)');
    assert.equal(s.decisions[5].reason, 'DS 1.5 < 2 (thr = sorted[int(10 × 0.79) = 7], strict)');
  });

  it('paper rule: keep DS <= the 80th percentile keeps 8 of 10, ties at σ kept', () => {
    const s = dsKeep(DS, 0.8, 'paper');
    assert.equal(s.threshold, 2.0);
    assert.deepEqual(s.kept, [0, 1, 2, 3, 4, 5, 6, 7]);
    assert.equal(s.decisions[8].reason, 'DS 3 > 2 (σ at percentile 80% of 10)');
    assert.deepEqual(dsKeep(DS, 0.79, 'paper').kept, [0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it('is the paper rule by default', () => {
    assert.deepEqual(dsKeep(DS, 0.8), dsKeep(DS, 0.8, 'paper'));
  });

  it('repo rule: th = 1.0 keeps all instead of indexing past the end', () => {
    const s = dsKeep(DS, 1.0, 'repo');
    assert.equal(s.kept.length, 10);
    assert.equal(s.threshold, undefined);
  });

  it('keeps none at fraction 0 under both rules', () => {
    assert.deepEqual(dsKeep(DS, 0, 'repo').kept, []);
    assert.deepEqual(dsKeep(DS, 0, 'paper').kept, []);
  });

  it('leaves unscored candidates out of the percentile and the result', () => {
    const values: Score[] = [null, ...DS, { value: null, reason: "loss 0: w' = 0, excluded (repo rule)" }];
    const s = dsKeep(values, 0.79, 'repo');
    assert.deepEqual(s.kept, [1, 2, 3, 4, 5, 6]);
    assert.equal(s.unscored, 2);
    assert.equal(s.decisions[11].reason, "unscored: loss 0: w' = 0, excluded (repo rule)");
  });
});

describe('nearestRankPercentile', () => {
  it('is sorted[ceil(k*n) - 1], the smallest value with at least k*n values <= it', () => {
    const ten = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    assert.equal(nearestRankPercentile(ten, 0.8), 8);
    assert.equal(nearestRankPercentile(ten, 0.79), 8);
    assert.equal(nearestRankPercentile(ten, 0.71), 8);
    assert.equal(nearestRankPercentile(ten, 0.7), 7);
    assert.equal(nearestRankPercentile(ten, 1), 10);
    assert.equal(nearestRankPercentile(ten, 0.01), 1);
    assert.equal(nearestRankPercentile(ten, 0), undefined);
    assert.equal(nearestRankPercentile([], 0.5), undefined);
  });

  it('is not pushed up a rank by float noise in k*n', () => {
    const hundred = Array.from({ length: 100 }, (_, i) => i + 1);
    assert.equal(0.07 * 100, 7.000000000000001);
    assert.equal(nearestRankPercentile(hundred, 0.07), 7);
  });
});
