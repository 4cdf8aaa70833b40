import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { dsWeight, validMean } from '../../src/core/metrics';

function close(actual: number | null | undefined, expected: number, tolerance = 5e-6): void {
  assert.ok(typeof actual === 'number' && Math.abs(actual - expected) <= tolerance, `${String(actual)} is not ${expected}`);
}

// METHODS §8.2 #2: mean valid loss 2.0.
const VALID = 2.0;
const LOSSES = [1.0, 2.0, 4.0, 0.5, 12.0, 0.0];

describe('dsWeight (paper rule, IWSI Eqs. 3-4)', () => {
  it("reproduces w' = [2, 1, 0.5, 4, 0.16667, ∞] and DS = [2, 1, 2, 4, 6, undefined]", () => {
    const results = LOSSES.map((l) => dsWeight(l, VALID, 'paper'));
    const wPrime = [2, 1, 0.5, 4, 0.16667];
    const ds = [2, 1, 2, 4, 6];
    for (let i = 0; i < 5; i++) {
      close(results[i].wPrime, wPrime[i]);
      close(results[i].value, ds[i]);
    }
    assert.equal(results[5].value, null);
    assert.equal(results[5].wPrime, Infinity);
    assert.match(results[5].reason ?? '', /undefined/);
  });

  it('is the default rule', () => {
    assert.deepEqual(dsWeight(0.5, VALID), dsWeight(0.5, VALID, 'paper'));
  });
});

describe('dsWeight (repo rule, record_weights.py / filter_data.py)', () => {
  it("reproduces w' = [2, 1, 0.5, 2, 0.16667, 0] and DS = [2, 1, 2, 2, 5, excluded]", () => {
    const results = LOSSES.map((l) => dsWeight(l, VALID, 'repo'));
    const wPrime = [2, 1, 0.5, 2, 0.16667, 0];
    const ds = [2, 1, 2, 2, 5];
    for (let i = 0; i < 6; i++) close(results[i].wPrime, wPrime[i]);
    for (let i = 0; i < 5; i++) close(results[i].value, ds[i]);
    assert.equal(results[5].value, null);
    assert.match(results[5].reason ?? '', /excluded/);
  });
});

describe('dsWeight input checks', () => {
  it('gives null for a non-finite or negative loss and a non-positive valid mean', () => {
    for (const rule of ['paper', 'repo'] as const) {
      assert.equal(dsWeight(NaN, VALID, rule).value, null);
      assert.equal(dsWeight(Infinity, VALID, rule).value, null);
      assert.equal(dsWeight(-1, VALID, rule).value, null);
      assert.equal(dsWeight(1, NaN, rule).value, null);
      assert.equal(dsWeight(1, 0, rule).value, null);
    }
  });
});

describe('validMean', () => {
  it('averages per-sample mean losses, leaving out and counting non-finite ones', () => {
    assert.deepEqual(validMean([2.0, NaN, 2.1, Infinity, 1.9]), { value: (2.0 + 2.1 + 1.9) / 3, n: 3, ignored: 2 });
  });

  it('gives null when nothing is scorable', () => {
    const none = validMean([NaN, NaN]);
    assert.equal(none.value, null);
    assert.equal(none.ignored, 2);
    assert.equal(validMean([]).value, null);
  });
});
