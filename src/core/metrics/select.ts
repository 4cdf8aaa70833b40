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

interface Scored {
  index: number;
  value: number;
}

function split(values: readonly Score[]): { scored: Scored[]; decisions: SelectionDecision[]; unscored: number } {
  const scored: Scored[] = [];
  const decisions: SelectionDecision[] = [];
  let unscored = 0;
  values.forEach((score, index) => {
    const value = scoreValue(score);
    if (value === null) {
      unscored++;
      decisions[index] = { index, kept: false, reason: unscoredReason(score) };
    } else {
      scored.push({ index, value });
    }
  });
  return { scored, decisions, unscored };
}

function finish(decisions: SelectionDecision[], unscored: number, threshold?: number): Selection {
  const kept = decisions.filter((d) => d.kept).map((d) => d.index);
  return threshold === undefined ? { kept, decisions, unscored } : { kept, decisions, unscored, threshold };
}

function checkFraction(fraction: number): void {
  if (!(fraction >= 0 && fraction <= 1)) throw new RangeError(`fraction must be in [0, 1] (got ${String(fraction)})`);
}

/**
 * Keeps records whose score is below `max`: strictly (`inclusive: false`, Superfiltering and the SRT
 * gate `< 1`) or not (`inclusive: true`, Cherry's `select_from_ifd_json.py` `<= 1`). METHODS §2.2, §3.1.
 */
export function keepBelow(values: readonly Score[], max: number, options: ThresholdOptions): Selection {
  if (Number.isNaN(max)) throw new RangeError('max must be a number');
  const label = options.label ?? 'score';
  const { scored, decisions, unscored } = split(values);
  const bound = formatNumber(max);
  for (const { index, value } of scored) {
    const kept = options.inclusive ? value <= max : value < max;
    const shown = formatNumber(value, max);
    const op = kept ? (options.inclusive ? '<=' : '<') : options.inclusive ? '>' : '>=';
    decisions[index] = { index, kept, reason: `${label} ${shown} ${op} ${bound}` };
  }
  return finish(decisions, unscored, max);
}

function rank(scored: Scored[], order: RankOrder, ties: TieRule): Scored[] {
  const sign = order === 'desc' ? -1 : 1;
  const tie = ties === 'earlier' ? 1 : -1;
  return [...scored].sort((a, b) => sign * (a.value - b.value) || tie * (a.index - b.index));
}

function keepTop(values: readonly Score[], k: number, what: string, options: RankOptions): Selection {
  const label = options.label ?? 'score';
  const { scored, decisions, unscored } = split(values);
  const ranked = rank(scored, options.order ?? 'desc', options.ties ?? 'earlier');
  const n = ranked.length;
  ranked.forEach(({ index, value }, i) => {
    const position = `rank ${String(i + 1)} of ${String(n)}, ${label} ${formatNumber(value)}, k = ${String(k)}`;
    decisions[index] = i < k ? { index, kept: true, reason: `in ${what} (${position})` } : { index, kept: false, reason: `not in ${what} (${position})` };
  });
  return finish(decisions, unscored, k > 0 && k <= n ? ranked[k - 1].value : undefined);
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
  checkFraction(fraction);
  let nScored = 0;
  for (const v of values) if (scoreValue(v) !== null) nScored++;
  return keepTop(values, Math.floor(nScored * fraction), `top ${formatPercent(fraction)}`, options);
}

/** Keeps the first k records in the chosen order (all scored records when k exceeds their number). */
export function topCount(values: readonly Score[], k: number, options: RankOptions = {}): Selection {
  if (!Number.isInteger(k) || k < 0) throw new RangeError(`k must be a non-negative integer (got ${String(k)})`);
  return keepTop(values, k, `top ${String(k)}`, options);
}

/**
 * Nearest-rank k-th percentile of ascending `sorted`: sorted[ceil(k*n) - 1], the smallest value v
 * such that at least k*n values are <= v (numpy `method='inverted_cdf'`). Undefined when
 * ceil(k*n) = 0 (k = 0 or no values): nothing is at or below "the 0th percentile" in this sense.
 * k*n is nudged down by a relative 1e-12 so float noise (0.07 * 100 = 7.000000000000001) cannot push
 * the rank up by one.
 */
export function nearestRankPercentile(sorted: readonly number[], k: number): number | undefined {
  checkFraction(k);
  const m = k * sorted.length;
  const rankOf = Math.ceil(m - Math.max(1, m) * 1e-12);
  return rankOf >= 1 ? sorted[rankOf - 1] : undefined;
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
  checkFraction(fraction);
  const label = options.label ?? 'DS';
  const { scored, decisions, unscored } = split(values);
  const sorted = scored.map((s) => s.value).sort((a, b) => a - b);
  const n = sorted.length;
  if (rule === 'paper') {
    const sigma = nearestRankPercentile(sorted, fraction);
    const where = `σ at percentile ${formatPercent(fraction)} of ${String(n)}`;
    for (const { index, value } of scored) {
      if (sigma === undefined) {
        decisions[index] = { index, kept: false, reason: `${label} ${formatNumber(value)}: percentile ${formatPercent(fraction)} keeps none` };
        continue;
      }
      const kept = value <= sigma;
      decisions[index] = { index, kept, reason: `${label} ${formatNumber(value, sigma)} ${kept ? '<=' : '>'} ${formatNumber(sigma)} (${where})` };
    }
    return finish(decisions, unscored, sigma);
  }
  const at = Math.floor(n * fraction);
  if (at >= n) {
    for (const { index, value } of scored) {
      decisions[index] = { index, kept: true, reason: `${label} ${formatNumber(value)}: fraction ${formatPercent(fraction)} keeps all (repo rule)` };
    }
    return finish(decisions, unscored);
  }
  const thr = sorted[at];
  const where = `thr = sorted[int(${String(n)} × ${String(fraction)}) = ${String(at)}], strict`;
  for (const { index, value } of scored) {
    const kept = value < thr;
    decisions[index] = { index, kept, reason: `${label} ${formatNumber(value, thr)} ${kept ? '<' : '>='} ${formatNumber(thr)} (${where})` };
  }
  return finish(decisions, unscored, thr);
}
