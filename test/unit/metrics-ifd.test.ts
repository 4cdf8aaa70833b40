import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ifd, rifd, topCount, type MetricResult, type SpanLoss } from '../../src/core/metrics';

const span = (mean: number, n = 10): SpanLoss => ({ mean, n });

function value(result: MetricResult): number {
  assert.equal(result.value === null ? result.reason : undefined, undefined);
  return result.value as number;
}

function close(actual: number, expected: number, tolerance = 5e-6): void {
  assert.ok(Math.abs(actual - expected) <= tolerance, `${actual} is not ${expected}`);
}

describe('ifd', () => {
  it('computes both variants of METHODS §8.2 #1 exactly', () => {
    // Sample A: L(y|x) = 0.5, L(y) = 1.0; sample B: 2.0, 3.0.
    assert.equal(value(ifd(span(0.5), span(1.0), 'loss')), 0.5);
    close(value(ifd(span(0.5), span(1.0), 'ppl')), 0.60653);
    close(value(ifd(span(2.0), span(3.0), 'loss')), 0.66667);
    close(value(ifd(span(2.0), span(3.0), 'ppl')), 0.36788);
  });

  it('ranks the §8.2 #1 samples differently under the two variants', () => {
    const a = [span(0.5), span(1.0)] as const;
    const b = [span(2.0), span(3.0)] as const;
    // Top-1 by highest IFD: the loss ratio picks B, the perplexity ratio picks A.
    assert.deepEqual(topCount([ifd(...a, 'loss'), ifd(...b, 'loss')], 1).kept, [1]);
    assert.deepEqual(topCount([ifd(...a, 'ppl'), ifd(...b, 'ppl')], 1).kept, [0]);
  });

  it('defaults to the perplexity ratio', () => {
    assert.deepEqual(ifd(span(1.2), span(1.0)), ifd(span(1.2), span(1.0), 'ppl'));
    close(value(ifd(span(1.2), span(1.0))), Math.exp(0.2));
  });

  it('gives null with a reason for an empty response, never 0 (METHODS §8.3)', () => {
    for (const variant of ['ppl', 'loss'] as const) {
      assert.deepEqual(ifd(span(NaN, 0), span(NaN, 0), variant), { value: null, reason: 'empty response: no tokens to score' });
    }
  });

  it('gives null when only one of the spans is empty', () => {
    const noConditioned = ifd(span(NaN, 0), span(1));
    assert.equal(noConditioned.value, null);
    assert.match(noConditioned.reason ?? '', /L\(y\|x\)/);
    const noDirect = ifd(span(1), span(NaN, 0));
    assert.equal(noDirect.value, null);
    assert.match(noDirect.reason ?? '', /L\(y\)/);
  });

  it('gives null for NaN or infinite losses', () => {
    for (const bad of [NaN, Infinity, -Infinity]) {
      const conditioned = ifd(span(bad), span(1));
      assert.equal(conditioned.value, null);
      assert.match(conditioned.reason ?? '', /^L\(y\|x\) is not finite/);
      const direct = ifd(span(1), span(bad), 'loss');
      assert.equal(direct.value, null);
      assert.match(direct.reason ?? '', /^L\(y\) is not finite/);
    }
  });

  it('gives null for L(y) = 0 in the loss variant only', () => {
    const loss = ifd(span(0.3), span(0), 'loss');
    assert.equal(loss.value, null);
    assert.match(loss.reason ?? '', /division by zero/);
    close(value(ifd(span(0.3), span(0), 'ppl')), Math.exp(0.3));
  });

  it('is above 1 exactly when the instruction makes the response harder', () => {
    assert.ok(value(ifd(span(2.5), span(2.0))) > 1);
    assert.ok(value(ifd(span(2.5), span(2.0), 'loss')) > 1);
    assert.ok(value(ifd(span(1.5), span(2.0))) < 1);
  });
});

describe('rifd', () => {
  it('is ppl(x|y\')/ppl(x), or the loss ratio (METHODS §4.1, §4.2)', () => {
    close(value(rifd(span(1.0), span(3.0))), Math.exp(-2));
    close(value(rifd(span(1.0), span(3.0), 'loss')), 1 / 3);
  });

  it('names the instruction spans in its reasons', () => {
    assert.deepEqual(rifd(span(NaN, 0), span(NaN, 0)), { value: null, reason: 'empty instruction: no tokens to score' });
    assert.match(rifd(span(NaN), span(1)).reason ?? '', /^L\(x\|y'\) is not finite/);
    assert.match(rifd(span(1), span(0), 'loss').reason ?? '', /^L\(x\) = 0/);
  });
});
