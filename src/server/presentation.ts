import type { MetricName } from '../core/metrics/types';
import type { RecordScore } from '../core/scoring/recordScore';
import type { ScoreBucket, SiftSettings } from '../protocol';

export const METRIC_LABELS: Record<MetricName, string> = { ifd: 'IFD', rifd: 'r-IFD', ds: 'DS' };

/** Shown instead of scores while a record is queued or being scored. */
export const PENDING_LABEL = '⋯ scoring';
/** Shown when the scorer failed on a record (an endpoint error); a cancelled record just shows nothing. */
export const FAILED_LABEL = '⚠ not scored';
/** A record whose scoring failed because the endpoint was down: scored when it answers again. */
export const WAITING_LABEL = '⋯ waiting for endpoint';

/** `IFD 0.82 · r-IFD 0.41 · DS 1.07`, metrics in the order of the settings; `—` for a metric without a value. */
export function scoreLabel(score: RecordScore, metrics: readonly MetricName[]): string {
  return metrics
    .map((m) => {
      const v = score.metrics[m]?.value;
      return `${METRIC_LABELS[m]} ${typeof v === 'number' ? v.toFixed(2) : '—'}`;
    })
    .join(' · ');
}

/**
 * Finite values of one metric over a file's record lines, sorted once, so that ranking a line is a
 * binary search instead of `percentileRank`'s sort per call (the same "weak" rank: the percentage
 * of values <= v).
 */
export class SortedValues {
  readonly values: Float64Array;

  constructor(values: number[]) {
    this.values = Float64Array.from(values).sort();
  }

  get size(): number {
    return this.values.length;
  }

  /** How many values are <= v. */
  countAtMost(v: number): number {
    let lo = 0;
    let hi = this.values.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.values[mid] <= v) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Weak percentile rank, 0-100; NaN when empty or v is not finite. */
  percentile(v: number): number {
    if (!Number.isFinite(v) || this.values.length === 0) return NaN;
    return (100 * this.countAtMost(v)) / this.values.length;
  }
}

/**
 * The metric that colours a line: IFD when it is shown, else the first metric shown.
 */
export function primaryMetric(metrics: readonly MetricName[]): MetricName {
  return metrics.includes('ifd') ? 'ifd' : metrics[0] ?? 'ifd';
}

/**
 * Colour bucket of a record, 0 = best for the student ... 4 = worst.
 *
 * What "good" means, per metric:
 * - IFD (Cherry LLM, Superfiltering): IFD >= 1 means the instruction does not help the student
 *   predict the response (misaligned pair), so at or above `ifdWarnAt` (1 by default) a record is
 *   ALWAYS bucket 4, whatever the rest of the file looks like. Below it, HIGHER is better: a high IFD
 *   is a difficult, informative pair, which is what Cherry's top-k% selection keeps; a very low IFD
 *   is a pair the student already finds easy.
 *   - percentile mode: the records below `ifdWarnAt` are split into four equal-count groups by their
 *     rank among themselves: the top quarter is 0, the bottom quarter 3.
 *   - thresholds mode: fixed cut points at 3/4, 1/2 and 1/4 of `ifdWarnAt` (0.75, 0.5, 0.25):
 *     [0.75, 1) is 0, [0.5, 0.75) is 1, [0.25, 0.5) is 2, below 0.25 is 3.
 * - r-IFD (SRT): LOWER is better (the response makes the instruction predictable); >= 1 means it
 *   does not, so it is bucket 4. Below 1: quarters by rank (percentile), or cut points 0.25 / 0.5 /
 *   0.75 (thresholds); the lowest values are 0.
 * - DS weight (IWSI): LOWER is better (closer to the valid set; DS >= 1 always). Percentile mode:
 *   five equal-count groups, the lowest fifth is 0. Thresholds: 1.1, 1.25, 1.5, 2.
 */
export function bucketOf(
  value: number | null | undefined,
  metric: MetricName,
  settings: Pick<SiftSettings, 'colorBy' | 'ifdWarnAt'>,
  file: SortedValues | undefined,
): ScoreBucket {
  if (typeof value !== 'number' || !Number.isFinite(value)) return -2;
  const percentile = settings.colorBy === 'percentile' && file !== undefined && file.size > 0;
  if (metric === 'ds') {
    if (percentile) return clampBucket(Math.ceil((file.percentile(value) / 100) * 5) - 1);
    return value <= 1.1 ? 0 : value <= 1.25 ? 1 : value <= 1.5 ? 2 : value <= 2 ? 3 : 4;
  }
  const limit = metric === 'ifd' ? settings.ifdWarnAt : 1;
  if (value >= limit) return 4;
  const higherIsBetter = metric === 'ifd';
  if (percentile) {
    // Rank among the values below the limit only, so the misaligned records do not shift the quarters.
    const below = file.countAtMost(nextBelow(limit));
    if (below === 0) return 3;
    const fraction = file.countAtMost(value) / below;
    const quarter = higherIsBetter ? Math.floor((1 - fraction) * 4) : Math.ceil(fraction * 4) - 1;
    return clampBucket(Math.min(3, quarter));
  }
  const share = value / limit;
  if (higherIsBetter) return share >= 0.75 ? 0 : share >= 0.5 ? 1 : share >= 0.25 ? 2 : 3;
  return share < 0.25 ? 0 : share < 0.5 ? 1 : share < 0.75 ? 2 : 3;
}

function clampBucket(n: number): ScoreBucket {
  return Math.max(0, Math.min(4, n)) as ScoreBucket;
}

/** The largest double below x (so `countAtMost` counts values strictly below x). */
function nextBelow(x: number): number {
  if (x === 0) return -Number.MIN_VALUE;
  const buf = new Float64Array([x]);
  const bits = new BigInt64Array(buf.buffer);
  bits[0] += x > 0 ? -1n : 1n;
  return buf[0];
}

/** A percentile as people say it: 63.3 -> "63rd". */
export function ordinal(p: number): string {
  const n = Math.round(p);
  const mod100 = n % 100;
  const suffix = mod100 >= 11 && mod100 <= 13 ? 'th' : n % 10 === 1 ? 'st' : n % 10 === 2 ? 'nd' : n % 10 === 3 ? 'rd' : 'th';
  return `${n}${suffix}`;
}

export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}
