import type { SpanLoss } from './types';

/** Sum of token NLLs over a span and the number of tokens in it. */
export interface SpanSum {
  sum: number;
  n: number;
}

/**
 * Sum of NLLs of tokens start..end-1 of a sequence, where `lp[j-1] = log p(token j | tokens < j)`:
 * the TokenScorer layout (METHODS §1.1) and the offset of the reference helper's `losses[j-1]`
 * (§8.2 #6), so the span is `lp[start-1 .. end-2]`. Token 0 is never predicted, hence start >= 1.
 * An empty span (end <= start) has n = 0 and sum 0. The unnormalised sum is what a sequence
 * log-probability weight needs (METHODS §7, Eq. 1 without the 1/K).
 */
export function sumNll(lp: ArrayLike<number>, start: number, end: number): SpanSum {
  if (!Number.isInteger(start) || !Number.isInteger(end)) {
    throw new RangeError(`span bounds must be integers (got ${String(start)}, ${String(end)})`);
  }
  if (start < 1) throw new RangeError(`span start must be >= 1: token 0 has no prediction (got ${String(start)})`);
  if (end <= start) return { sum: 0, n: 0 };
  if (end > lp.length + 1) {
    throw new RangeError(`span end ${String(end)} is past the scored sequence (${String(lp.length + 1)} tokens)`);
  }
  let sum = 0;
  for (let j = start; j < end; j++) sum -= lp[j - 1];
  return { sum, n: end - start };
}

/**
 * Mean NLL (nats/token) over tokens start..end-1, the L(span | context) of METHODS §0.3: the
 * denominator is the number of scored tokens, as in HF `model(...).loss`. The mean is NaN when the
 * span is empty, so an empty response can never pass for a perfect score (§8.3).
 */
export function meanNll(lp: ArrayLike<number>, start: number, end: number): SpanLoss {
  const { sum, n } = sumNll(lp, start, end);
  return { mean: n > 0 ? sum / n : NaN, n };
}

/** Perplexity of a span, exp(mean NLL) (METHODS §0.3); NaN for an empty span. */
export function perplexity(loss: SpanLoss): number {
  return Math.exp(loss.mean);
}
