import { decisiveDigits } from '../core/metrics/decisiveDigits';
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

/**
 * The value a metric's selection rule compares with (`IFD < ifdWarnAt`, `r-IFD < 1`), where a label
 * must show enough digits to decide it; DS has no fixed cut.
 */
export function ruleThreshold(metric: MetricName, settings: Pick<SiftSettings, 'ifdWarnAt'>): number | undefined {
  return metric === 'ifd' ? settings.ifdWarnAt : metric === 'rifd' ? 1 : undefined;
}

/** A label's number: two decimals, more where they decide the rule (core's `decisiveDigits`). */
export function decisiveNumber(v: number, threshold: number | undefined): string {
  return decisiveDigits(v, threshold, { decimals: 2 });
}

/**
 * Why a metric has no value, in a few words for the label (the hover has the full reason): the
 * reasons come from core/metrics/ifd.ts and core/scoring/plan.ts.
 */
export function shortReason(reason: string): string {
  const empty = /empty (instruction|response|input)/.exec(reason);
  if (empty) return `empty ${empty[1]}`;
  if (/alone is \d+ tokens/.test(reason) || /fills the context/.test(reason)) return 'too long for the model';
  if (/tokenizes to nothing|no tokens/.test(reason)) return 'no tokens';
  if (/not finite|overflows|undefined/.test(reason)) return 'undefined ratio';
  if (/valid set/.test(reason)) return 'no valid set';
  return 'see hover';
}

/**
 * `IFD 0.82 · r-IFD 0.41 · DS 1.07`, metrics in the order of the settings, with the digits that decide
 * each rule's threshold; `r-IFD — (too long for the model)` for a metric without a value; `· unverified`
 * after a score that came with the folder (imported or committed) when the workspace is not trusted.
 */
export function scoreLabel(score: RecordScore, settings: Pick<SiftSettings, 'metrics' | 'ifdWarnAt'>, trusted = true): string {
  const label = settings.metrics
    .map((m) => {
      const result = score.metrics[m];
      const v = result?.value;
      if (typeof v === 'number') return `${METRIC_LABELS[m]} ${decisiveNumber(v, ruleThreshold(m, settings))}`;
      return `${METRIC_LABELS[m]} —${result?.reason ? ` (${shortReason(result.reason)})` : ''}`;
    })
    .join(' · ');
  // In a restricted workspace a score that came with the folder says so wherever it is shown.
  return score.foreign && !trusted ? `${label} · ${UNVERIFIED_LABEL}` : label;
}

/** What a label adds to a score this installation did not compute, in a restricted workspace. */
export const UNVERIFIED_LABEL = 'unverified';
/** Why, in words (the hover and the record view). */
export const UNVERIFIED_REASON = 'these scores came with the folder (imported or committed); this installation did not compute them. Trust the workspace, or clear its scores to score it here.';

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

/**
 * The colour of each bucket in words, as the client's theme colours `sift.score.*` draw them in the
 * default themes (package.json `contributes.colors`): what the legends say.
 */
export const BUCKET_COLOUR_NAMES: Record<0 | 1 | 2 | 3 | 4, string> = { 0: 'green', 1: 'light green', 2: 'yellow', 3: 'orange', 4: 'red' };

/**
 * The legend of the colours and numbers, in words, for the hover: what each colour means under the
 * current `colorBy`, which direction of each shown metric is good and where its rule cuts, and what
 * the percentile ranks. Follows `bucketOf` (one place says what good means; this says it in words).
 * `colours` replaces the colour sentence where something else colours the line (a candidate's vote).
 */
export function legendText(settings: Pick<SiftSettings, 'metrics' | 'colorBy' | 'ifdWarnAt'>, colours?: string): string {
  const colouredBy = METRIC_LABELS[primaryMetric(settings.metrics)];
  const how =
    settings.colorBy === 'percentile'
      ? `by its rank among this file's scored records`
      : `by fixed cut points of its value`;
  const warn = String(settings.ifdWarnAt);
  const c = BUCKET_COLOUR_NAMES;
  const lines = [
    colours ??
    `**Legend** · the dot and label are coloured by ${colouredBy}, ${how}: ${c[0]} = best for the student, then ${c[1]}, ${c[2]}, ${c[3]}; ${c[4]} = the rule below drops it; grey = not scored yet or no value.`,
  ];
  const words: Record<MetricName, string> = {
    ifd: `**IFD** (instruction-following difficulty): below ${warn}, higher is better (a hard pair the instruction helps with); ≥ ${warn} the instruction does not help, and the filter \`IFD < ${warn}\` drops it.`,
    rifd: "**r-IFD** (reversed IFD): lower is better (the response makes the instruction predictable); ≥ 1 it does not, and `r-IFD < 1` drops it.",
    ds: '**DS** (distribution-shift weight): lower is better (the record is closer to the valid set); it is always ≥ 1.',
  };
  for (const metric of settings.metrics) lines.push(words[metric]);
  lines.push(
    "**Percentile**: the share of this file's scored records whose value is at or below this one (90th = higher than 90% of them). It ranks the value, not its quality: for IFD a high percentile is good, for r-IFD and DS a low one.",
  );
  return lines.join('  \n');
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
