import { formatNumber, formatPercent, scoreValue, unscoredReason } from './scores';
import type { DsRule, Score } from './types';

/** What a selection rule did with one record. */
export interface SelectionDecision {
  /** Position of the record in the input array. */
  index: number;
  kept: boolean;
  /** Why, in words a hover or a `--explain` listing can show as is. */
  reason: string;
}

export interface Selection {
  /** Indices of the kept records, ascending (the original order; the scripts write output that way too). */
  kept: number[];
  /** One decision per input value, in input order. */
  decisions: SelectionDecision[];
  /** How many inputs had no usable score. A score rule never keeps them. */
  unscored: number;
  /** The score cutoff the rule applied, when it has one. */
  threshold?: number;
}

export interface ThresholdOptions {
  /** true: keep value <= max; false: keep value < max (Superfiltering's `v < 1`). No default on purpose. */
  inclusive: boolean;
  /** Name of the score in reasons (default 'score'). */
  label?: string;
}

/** `desc`: highest score first (Cherry data = highest IFD); `asc`: lowest first. */
export type RankOrder = 'desc' | 'asc';

/**
 * Which of two records with equal scores ranks first. `earlier` (default): the lower index, as
 * Superfiltering's stable `sorted(..., reverse=True)` does; `later`: the higher index, as Cherry's
 * `data_by_IFD.py` does by sorting (rate, index) ascending and taking the tail (METHODS §2.2, §8.3).
 */
export type TieRule = 'earlier' | 'later';

export interface RankOptions {
  order?: RankOrder;
  ties?: TieRule;
  label?: string;
}

/**
 * What a rule did, as numbers: a kept flag per input and what each reason needs, the reason built
 * only when asked. The overview runs the rules again on every threshold move over up to 500k
 * records and shows a few dozen reasons; building them all was half its time.
 */
export interface RuleVerdicts {
  /** 1 where the input at that index is kept. */
  readonly kept: Uint8Array;
  /** 1 where the input has no usable score (a score rule never keeps it). */
  readonly noValue: Uint8Array;
  /** How many inputs have no usable score. */
  readonly unscored: number;
  /** The score cutoff the rule applied, when it has one. */
  readonly threshold?: number;
  /** The decision's reason for the input at `index`, as `Selection` words it. */
  reason(index: number): string;
}

interface ReadScores {
  /** The usable score of each input, NaN where it has none. */
  numbers: Float64Array;
  noValue: Uint8Array;
  unscored: number;
  /** Indices of the inputs with a usable score, ascending. */
  scored: number[];
}

function read(values: readonly Score[]): ReadScores {
  const numbers = new Float64Array(values.length);
  const noValue = new Uint8Array(values.length);
  const scored: number[] = [];
  for (let i = 0; i < values.length; i++) {
    const value = scoreValue(values[i]);
    if (value === null) {
      numbers[i] = NaN;
      noValue[i] = 1;
    } else {
      numbers[i] = value;
      scored.push(i);
    }
  }
  return { numbers, noValue, unscored: values.length - scored.length, scored };
}

/** Every decision of `verdicts` in words: the Selection the exported rules return. */
function describe(verdicts: RuleVerdicts): Selection {
  const kept: number[] = [];
  const decisions: SelectionDecision[] = [];
  for (let index = 0; index < verdicts.kept.length; index++) {
    const isKept = verdicts.kept[index] === 1;
    if (isKept) kept.push(index);
    decisions.push({ index, kept: isKept, reason: verdicts.reason(index) });
  }
  const { unscored, threshold } = verdicts;
  return threshold === undefined ? { kept, decisions, unscored } : { kept, decisions, unscored, threshold };
}

function checkFraction(fraction: number): void {
  if (!(fraction >= 0 && fraction <= 1)) throw new RangeError(`fraction must be in [0, 1] (got ${String(fraction)})`);
}

/** `keepBelow`'s verdicts, reasons on demand. */
export function keepBelowVerdicts(values: readonly Score[], max: number, options: ThresholdOptions): RuleVerdicts {
  if (Number.isNaN(max)) throw new RangeError('max must be a number');
  const label = options.label ?? 'score';
  const { numbers, noValue, unscored, scored } = read(values);
  const kept = new Uint8Array(values.length);
  for (const index of scored) kept[index] = (options.inclusive ? numbers[index] <= max : numbers[index] < max) ? 1 : 0;
  const reason = (index: number): string => {
    if (noValue[index] === 1) return unscoredReason(values[index]);
    const op = kept[index] === 1 ? (options.inclusive ? '<=' : '<') : options.inclusive ? '>' : '>=';
    return `${label} ${formatNumber(numbers[index], max)} ${op} ${formatNumber(max)}`;
  };
  return { kept, noValue, unscored, threshold: max, reason };
}

/**
 * Keeps records whose score is below `max`: strictly (`inclusive: false`, Superfiltering and the SRT
 * gate `< 1`) or not (`inclusive: true`, Cherry's `select_from_ifd_json.py` `<= 1`). METHODS §2.2, §3.1.
 */
export function keepBelow(values: readonly Score[], max: number, options: ThresholdOptions): Selection {
  return describe(keepBelowVerdicts(values, max, options));
}

/** The first k of the scored inputs in the rule's order; `what` names the selection in reasons. */
function topVerdicts(values: readonly Score[], k: number, what: string, options: RankOptions): RuleVerdicts {
  const label = options.label ?? 'score';
  const { numbers, noValue, unscored, scored } = read(values);
  const sign = (options.order ?? 'desc') === 'desc' ? -1 : 1;
  const tie = (options.ties ?? 'earlier') === 'earlier' ? 1 : -1;
  const ranked = scored.sort((a, b) => sign * (numbers[a] - numbers[b]) || tie * (a - b));
  const rankOf = new Int32Array(values.length);
  const kept = new Uint8Array(values.length);
  ranked.forEach((index, i) => {
    rankOf[index] = i;
    kept[index] = i < k ? 1 : 0;
  });
  const n = ranked.length;
  const reason = (index: number): string => {
    if (noValue[index] === 1) return unscoredReason(values[index]);
    const position = `rank ${String(rankOf[index] + 1)} of ${String(n)}, ${label} ${formatNumber(numbers[index])}, k = ${String(k)}`;
    return kept[index] === 1 ? `in ${what} (${position})` : `not in ${what} (${position})`;
  };
  return { kept, noValue, unscored, threshold: k > 0 && k <= n ? numbers[ranked[k - 1]] : undefined, reason };
}

/** `topFraction`'s verdicts, reasons on demand. */
export function topFractionVerdicts(values: readonly Score[], fraction: number, options: RankOptions = {}): RuleVerdicts {
  checkFraction(fraction);
  let nScored = 0;
  for (const v of values) if (scoreValue(v) !== null) nScored++;
  return topVerdicts(values, Math.floor(nScored * fraction), `top ${formatPercent(fraction)}`, options);
}

/**
 * Keeps the first k = floor(nScored * fraction) records in the chosen order. The floor is of the same
 * float product Python's `int(n * rate)` takes, so k matches the reference scripts exactly (which
 * also means 0.29 * 100 gives 28; use `topCount` for an exact count). k = 0 selects none, unlike
 * Cherry's accidental `[-0:]` = all (METHODS §8.3). nScored counts scored records only: a percentage
 * of what can be ranked, like Cherry `data_by_IFD.py` (not Superfiltering's hard-coded 52002).
 * `threshold` is the score of the last kept record.
 */
export function topFraction(values: readonly Score[], fraction: number, options: RankOptions = {}): Selection {
  return describe(topFractionVerdicts(values, fraction, options));
}

/** Keeps the first k records in the chosen order (all scored records when k exceeds their number). */
export function topCount(values: readonly Score[], k: number, options: RankOptions = {}): Selection {
  if (!Number.isInteger(k) || k < 0) throw new RangeError(`k must be a non-negative integer (got ${String(k)})`);
  return describe(topVerdicts(values, k, `top ${String(k)}`, options));
}

/**
 * Nearest-rank k-th percentile of ascending `sorted`: sorted[ceil(k*n) - 1], the smallest value v
 * such that at least k*n values are <= v (numpy `method='inverted_cdf'`). Undefined when
 * ceil(k*n) = 0 (k = 0 or no values): nothing is at or below "the 0th percentile" in this sense.
 * k*n is nudged down by a relative 1e-12 so float noise (0.07 * 100 = 7.000000000000001) cannot push
 * the rank up by one.
 */
export function nearestRankPercentile(sorted: ArrayLike<number>, k: number): number | undefined {
  checkFraction(k);
  const m = k * sorted.length;
  const rankOf = Math.ceil(m - Math.max(1, m) * 1e-12);
  return rankOf >= 1 ? sorted[rankOf - 1] : undefined;
}

/** `dsKeep`'s verdicts, reasons on demand. */
export function dsKeepVerdicts(values: readonly Score[], fraction: number, rule: DsRule = 'paper', options: { label?: string } = {}): RuleVerdicts {
  checkFraction(fraction);
  const label = options.label ?? 'DS';
  const { numbers, noValue, unscored, scored } = read(values);
  const sorted = Float64Array.from(scored, (index) => numbers[index]).sort();
  const n = sorted.length;
  const kept = new Uint8Array(values.length);
  const unscoredOr = (words: (value: number, isKept: boolean) => string) => (index: number): string =>
    noValue[index] === 1 ? unscoredReason(values[index]) : words(numbers[index], kept[index] === 1);
  if (rule === 'paper') {
    const sigma = nearestRankPercentile(sorted, fraction);
    const where = `σ at percentile ${formatPercent(fraction)} of ${String(n)}`;
    if (sigma !== undefined) for (const index of scored) kept[index] = numbers[index] <= sigma ? 1 : 0;
    const reason = unscoredOr((value, isKept) =>
      sigma === undefined
        ? `${label} ${formatNumber(value)}: percentile ${formatPercent(fraction)} keeps none`
        : `${label} ${formatNumber(value, sigma)} ${isKept ? '<=' : '>'} ${formatNumber(sigma)} (${where})`,
    );
    return { kept, noValue, unscored, threshold: sigma, reason };
  }
  const at = Math.floor(n * fraction);
  if (at >= n) {
    for (const index of scored) kept[index] = 1;
    return { kept, noValue, unscored, reason: unscoredOr((value) => `${label} ${formatNumber(value)}: fraction ${formatPercent(fraction)} keeps all (repo rule)`) };
  }
  const thr = sorted[at];
  const where = `thr = sorted[int(${String(n)} × ${String(fraction)}) = ${String(at)}], strict`;
  for (const index of scored) kept[index] = numbers[index] < thr ? 1 : 0;
  const reason = unscoredOr((value, isKept) => `${label} ${formatNumber(value, thr)} ${isKept ? '<' : '>='} ${formatNumber(thr)} (${where})`);
  return { kept, noValue, unscored, threshold: thr, reason };
}

/**
 * IWSI selection: keep the lowest-DS `fraction` of the (self-consistent) candidates (METHODS §5.2).
 * - `paper` (Eq. 5): keep DS <= σ, σ = nearestRankPercentile(DS, fraction); ties at σ are all kept,
 *   so at least ceil(fraction * n) records survive.
 * - `repo` (filter_data.py "K-Mixed"): thr = sorted[int(n * fraction)], keep DS < thr strictly, so
 *   every tie at thr is dropped and the kept share can fall well below `fraction` (§8.2 #3: 0.79 ->
 *   6 of 10). fraction = 1 indexes past the end, which crashes the script; here it keeps all.
 * Pass non-majority candidates as null (or a MetricResult with a reason) to exclude them.
 */
export function dsKeep(values: readonly Score[], fraction: number, rule: DsRule = 'paper', options: { label?: string } = {}): Selection {
  return describe(dsKeepVerdicts(values, fraction, rule, options));
}
