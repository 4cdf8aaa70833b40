import { applyFilterRules, type FilterCandidate, type FilterRules } from '../metrics/filterRules';
import { METRIC_NAMES, type DsRule, type MetricName } from '../metrics/types';
import { binOf, binRange, type BinRange } from './bins';
import type { Density, DropCount, Histogram, OverviewData, OverviewRow, OverviewRules } from './types';

/** A valid record of the dataset: `scored` false while it has no score yet (its metrics are then ignored). */
export interface OverviewRecord extends FilterCandidate {
  scored: boolean;
}

export interface OverviewOptions {
  /** Histogram bins per metric (default 40) and density cells per axis (default 24). */
  bins?: number;
  densityBins?: number;
  /** Rows in each of the worst and best tables (default 20). */
  rows?: number;
  dsRule: DsRule;
}

/** Where IFD and r-IFD change meaning (>= 1: the other side does not help): always on their charts. */
const PIVOT: Partial<Record<MetricName, number>> = { ifd: 1, rifd: 1 };
/** Which end of each metric the selections prefer (Cherry's top-k% keeps high IFD; r-IFD and DS: low is good). */
const HIGHER_IS_PREFERRED: Record<MetricName, boolean> = { ifd: true, rifd: false, ds: false };

export function filterRulesOf(rules: OverviewRules, dsRule: DsRule): FilterRules {
  return { ...rules, dsRule, ties: 'earlier' };
}

/**
 * The overview of a dataset under the rules: the rules run through `applyFilterRules`, the one
 * definition `sift filter` and the editor's Filter command use, over the scored records; records
 * without a score yet are counted apart. Everything else is counts, so the result's size does not
 * grow with the dataset. `records` must be in dataset order.
 */
export function datasetOverview(records: readonly OverviewRecord[], invalid: number, rules: OverviewRules, options: OverviewOptions): OverviewData {
  const scored = records.filter((r) => r.scored);
  const outcome = applyFilterRules(scored, filterRulesOf(rules, options.dsRule));
  const kept = outcome.keptAt;

  const dropped: DropCount[] = Object.entries(outcome.dropped).map(([rule, count]) => ({ rule, count, noValue: outcome.droppedNoValue[rule] ?? 0 }));
  if (invalid > 0) dropped.push({ rule: 'invalid', count: invalid, noValue: 0 });

  const ranges = new Map<MetricName, BinRange>();
  const histograms: Histogram[] = [];
  for (const metric of METRIC_NAMES) {
    const values = valuesOf(scored, metric);
    if (values.length === 0) continue;
    const range = binRange(values, options.bins ?? 40, PIVOT[metric]);
    ranges.set(metric, range);
    histograms.push(histogram(scored, metric, range, kept, values));
  }
  const ifdRange = ranges.get('ifd');
  const rifdRange = ranges.get('rifd');
  const density = ifdRange && rifdRange ? densityOf(scored, kept, ifdRange, rifdRange, options.densityBins ?? 24) : undefined;

  const rankedBy = histograms.find((h) => h.metric === 'ifd')?.metric ?? histograms[0]?.metric;
  const rows = options.rows ?? 20;
  // Rows are indices into `scored`: the decision (and its reason, worded only for these) is the outcome's at that index.
  const row = (i: number): OverviewRow => {
    const r = scored[i];
    const decision = outcome.decisionAt(i);
    const values: OverviewRow['values'] = {};
    for (const m of METRIC_NAMES) if (r.metrics[m]) values[m] = r.metrics[m]!.value;
    return { line: r.line, values, kept: decision.kept, reason: decision.reason };
  };
  let worst: OverviewRow[] = [];
  let best: OverviewRow[] = [];
  if (rankedBy) {
    const value = (i: number): number => scored[i].metrics[rankedBy]!.value!;
    const withValue: number[] = [];
    scored.forEach((r, i) => {
      if (typeof r.metrics[rankedBy]?.value === 'number') withValue.push(i);
    });
    // Indices follow the lines, so the index breaks ties as the line did.
    const higherFirst = (a: number, b: number): number => value(b) - value(a) || a - b;
    const lowerFirst = (a: number, b: number): number => value(a) - value(b) || a - b;
    // The worst end is the high end of every metric: IFD or r-IFD >= 1, DS far from the valid set.
    worst = topN(withValue, rows, higherFirst).map(row);
    best = topN(withValue.filter((i) => kept[i] === 1), rows, HIGHER_IS_PREFERRED[rankedBy] ? higherFirst : lowerFirst).map(row);
  }

  const keptCount = outcome.keptLines.size;
  return {
    counts: { records: records.length + invalid, scored: scored.length, kept: keptCount, dropped: scored.length - keptCount + invalid, unscored: records.length - scored.length, invalid },
    dropped,
    histograms,
    density,
    cutoffs: { ifdMax: rules.ifdMax, rifdMax: rules.rifdMax, topIfd: rules.topFraction === undefined ? undefined : lowestKept(scored, kept) },
    rankedBy,
    worst,
    best,
  };
}

function valuesOf(records: readonly OverviewRecord[], metric: MetricName): Float64Array {
  const values: number[] = [];
  for (const r of records) {
    const v = r.metrics[metric]?.value;
    if (typeof v === 'number' && Number.isFinite(v)) values.push(v);
  }
  return Float64Array.from(values).sort();
}

function histogram(records: readonly OverviewRecord[], metric: MetricName, range: BinRange, kept: Uint8Array, sorted: Float64Array): Histogram {
  const total = new Array<number>(range.bins).fill(0);
  const keptBins = new Array<number>(range.bins).fill(0);
  let below = 0;
  let above = 0;
  const hi = range.lo + range.width * range.bins;
  records.forEach((r, k) => {
    const v = r.metrics[metric]?.value;
    if (typeof v !== 'number' || !Number.isFinite(v)) return;
    if (v < range.lo) below++;
    else if (v >= hi) above++;
    const i = binOf(v, range);
    total[i]++;
    keptBins[i] += kept[k];
  });
  return { metric, lo: range.lo, width: range.width, total, kept: keptBins, values: sorted.length, min: sorted[0], max: sorted[sorted.length - 1], below, above };
}

function densityOf(records: readonly OverviewRecord[], kept: Uint8Array, xRange: BinRange, yRange: BinRange, bins: number): Density {
  // The histograms' ranges, cut into fewer cells.
  const x: BinRange = { lo: xRange.lo, width: (xRange.width * xRange.bins) / bins, bins };
  const y: BinRange = { lo: yRange.lo, width: (yRange.width * yRange.bins) / bins, bins };
  const total = new Array<number>(bins * bins).fill(0);
  const keptCells = new Array<number>(bins * bins).fill(0);
  let points = 0;
  records.forEach((r, k) => {
    const vx = r.metrics.ifd?.value;
    const vy = r.metrics.rifd?.value;
    if (typeof vx !== 'number' || typeof vy !== 'number' || !Number.isFinite(vx) || !Number.isFinite(vy)) return;
    const cell = binOf(vy, y) * bins + binOf(vx, x);
    total[cell]++;
    keptCells[cell] += kept[k];
    points++;
  });
  return { x: { metric: 'ifd', ...x }, y: { metric: 'rifd', ...y }, total, kept: keptCells, points };
}

/** The first n of `records` in `order`, without sorting all of them when n is small. */
function topN<T>(records: readonly T[], n: number, order: (a: T, b: T) => number): T[] {
  const out: T[] = [];
  for (const r of records) {
    if (out.length === n && order(r, out[n - 1]) >= 0) continue;
    let i = out.length;
    while (i > 0 && order(r, out[i - 1]) < 0) i--;
    out.splice(i, 0, r);
    if (out.length > n) out.pop();
  }
  return out;
}

function lowestKept(records: readonly OverviewRecord[], kept: Uint8Array): number | undefined {
  let lowest: number | undefined;
  records.forEach((r, k) => {
    const v = r.metrics.ifd?.value;
    if (kept[k] === 1 && typeof v === 'number' && (lowest === undefined || v < lowest)) lowest = v;
  });
  return lowest;
}
