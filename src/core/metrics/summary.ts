import { scoreValue } from './scores';
import type { Score } from './types';

/** The finite values among `values`, ascending, and how many entries were left out. */
function finiteSorted(values: readonly Score[]): { sorted: number[]; ignored: number } {
  const sorted: number[] = [];
  for (const v of values) {
    const x = scoreValue(v);
    if (x !== null) sorted.push(x);
  }
  sorted.sort((a, b) => a - b);
  return { sorted, ignored: values.length - sorted.length };
}

/**
 * Percentage (0-100) of scored values that are <= v ("weak" percentile rank, scipy
 * `percentileofscore(kind='weak')`): the highest value is at 100. NaN when nothing is scored or v is
 * not a finite number. Nulls and NaN in `values` are ignored.
 */
export function percentileRank(values: readonly Score[], v: number): number {
  if (!Number.isFinite(v)) return NaN;
  const { sorted } = finiteSorted(values);
  if (sorted.length === 0) return NaN;
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] <= v) lo = mid + 1;
    else hi = mid;
  }
  return (100 * lo) / sorted.length;
}

export interface Histogram {
  /** bins + 1 ascending edges; bin i is [edges[i], edges[i+1]), the last bin also holds its upper edge. */
  edges: number[];
  counts: number[];
  /** Scored values outside the given range. */
  below: number;
  above: number;
  /** Entries without a finite score. */
  ignored: number;
}

/**
 * Equal-width histogram (numpy.histogram's bin convention). The range defaults to [min, max] of the
 * scored values; a single distinct value v gets [v - 0.5, v + 0.5], and no values [0, 1].
 */
export function histogram(values: readonly Score[], bins: number, range?: readonly [number, number]): Histogram {
  if (!Number.isInteger(bins) || bins < 1) throw new RangeError(`bins must be a positive integer (got ${String(bins)})`);
  const { sorted, ignored } = finiteSorted(values);
  let [lo, hi] = range ?? (sorted.length > 0 ? [sorted[0], sorted[sorted.length - 1]] : [0, 1]);
  if (!(Number.isFinite(lo) && Number.isFinite(hi) && lo <= hi)) {
    throw new RangeError(`range must be finite with min <= max (got ${String(lo)}, ${String(hi)})`);
  }
  if (lo === hi) {
    lo -= 0.5;
    hi += 0.5;
  }
  const width = (hi - lo) / bins;
  const edges = Array.from({ length: bins + 1 }, (_, i) => (i === bins ? hi : lo + i * width));
  const counts = new Array<number>(bins).fill(0);
  let below = 0;
  let above = 0;
  for (const x of sorted) {
    if (x < lo) below++;
    else if (x > hi) above++;
    else counts[Math.min(bins - 1, Math.floor((x - lo) / width))]++;
  }
  return { edges, counts, below, above, ignored };
}

/**
 * Quantiles by linear interpolation between order statistics (numpy's default, Hyndman-Fan type 7):
 * q = 0 is the minimum, 1 the maximum, 0.5 the median. NaN per q when nothing is scored.
 */
export function quantiles(values: readonly Score[], qs: readonly number[]): number[] {
  for (const q of qs) if (!(q >= 0 && q <= 1)) throw new RangeError(`quantile must be in [0, 1] (got ${String(q)})`);
  const { sorted } = finiteSorted(values);
  if (sorted.length === 0) return qs.map(() => NaN);
  return qs.map((q) => {
    const h = (sorted.length - 1) * q;
    const i = Math.floor(h);
    return i + 1 < sorted.length ? sorted[i] + (h - i) * (sorted[i + 1] - sorted[i]) : sorted[i];
  });
}
