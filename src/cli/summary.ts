import { quantiles } from '../core/metrics/summary';
import type { MetricName } from '../core/metrics/types';
import type { ScoringRun } from './runScoring';
import type { ScoreRow } from './scoreRow';

export const METRIC_LABEL: Record<MetricName, string> = { ifd: 'IFD', rifd: 'r-IFD', ds: 'DS' };

/** Which way each metric is good, and what its value 1 means: the legend under the table. */
export const METRIC_DIRECTION: Record<MetricName, string> = {
  ifd: 'higher = the response is harder to predict, so more to learn (--top keeps the highest); >= 1: the instruction does not help (--ifd-max 1 drops it)',
  rifd: 'lower is better: the response lets the student guess the instruction; >= 1: it does not help',
  ds: 'lower is better: closer to the valid set (DS >= 1 always; 1 = like the valid set; --ds-keep keeps the lowest)',
};

/** What the summary reads of each output row. */
export type SummaryRow = Pick<ScoreRow, 'error' | 'ifd' | 'rifd' | 'ds' | 'not_computable'>;

/**
 * What the end-of-run table needs, gathered row by row: counts, and each metric's values packed in a
 * Float64Array (the quantiles need them all). A run of a million records keeps 8 bytes per value
 * here, not a row object per record (about a tenth of the client's memory at that size).
 */
export class RunSummary {
  records = 0;
  failed = 0;
  private readonly values = new Map<MetricName, { data: Float64Array; length: number }>();
  private readonly notComputable = new Map<MetricName, number>();

  add(row: SummaryRow): void {
    this.records++;
    if (row.error !== null) {
      this.failed++;
      return;
    }
    for (const metric of ['ifd', 'rifd', 'ds'] as const) {
      const v = row[metric];
      if (v !== null) this.push(metric, v);
      if (row.not_computable[metric] !== undefined) this.notComputable.set(metric, (this.notComputable.get(metric) ?? 0) + 1);
    }
  }

  /** Records a metric has no value for because of their text (counted apart from failures). */
  notComputableCount(metric: MetricName): number {
    return this.notComputable.get(metric) ?? 0;
  }

  valuesOf(metric: MetricName): Float64Array {
    const v = this.values.get(metric);
    return v ? v.data.subarray(0, v.length) : new Float64Array(0);
  }

  private push(metric: MetricName, value: number): void {
    let v = this.values.get(metric);
    if (v === undefined) this.values.set(metric, (v = { data: new Float64Array(1024), length: 0 }));
    if (v.length === v.data.length) {
      const grown = new Float64Array(v.data.length * 2);
      grown.set(v.data);
      v.data = grown;
    }
    v.data[v.length++] = value;
  }
}

/** The table printed at the end of a run: counts, then each metric's distribution and a legend. */
export function printSummary(summary: RunSummary, metrics: MetricName[], run: ScoringRun): void {
  const { records, failed } = summary;
  const out: string[] = [];
  const rate = run.stats.evaluatedTokens / Math.max(run.seconds, 1e-9);
  out.push(
    `${records - failed} of ${records} records scored` +
      (failed ? `, ${failed} failed` : '') +
      (run.stats.cached ? `, ${run.stats.cached} from the score store` : '') +
      ` in ${run.seconds.toFixed(1)} s (${Math.round(rate).toLocaleString('en-US')} tokens/s evaluated)`,
  );
  for (const metric of metrics) {
    const count = summary.notComputableCount(metric);
    if (count > 0) out.push(`${METRIC_LABEL[metric]} not computable for ${count} of them (not failures: each is named on stderr with its reason)`);
  }
  out.push(`model ${run.modelId} via ${run.endpoint}` + (run.validMeanLoss !== undefined ? `; DS valid-set mean loss ${run.validMeanLoss.toFixed(4)}` : ''));
  const header = ['metric', 'scored', 'not computable', 'mean', 'p10', 'median', 'p90', 'min', 'max', '>= 1'];
  const table: string[][] = [header];
  for (const metric of metrics) {
    const values = summary.valuesOf(metric);
    const notComputable = String(summary.notComputableCount(metric));
    if (values.length === 0) {
      table.push([METRIC_LABEL[metric], '0', notComputable, '-', '-', '-', '-', '-', '-', '-']);
      continue;
    }
    const [p10, p50, p90] = quantiles(Array.from(values), [0.1, 0.5, 0.9]) as number[];
    let sum = 0;
    let atLeastOne = 0;
    for (const v of values) {
      sum += v;
      if (v >= 1) atLeastOne++;
    }
    const mean = sum / values.length;
    // A loop, not Math.min(...values): spreading a million values into arguments overflows the stack
    // (a 1M-record `sift score` failed at its very end with "Maximum call stack size exceeded").
    let min = Infinity;
    let max = -Infinity;
    for (const v of values) {
      if (v < min) min = v;
      if (v > max) max = v;
    }
    table.push([
      METRIC_LABEL[metric],
      String(values.length),
      notComputable,
      fmt(mean),
      fmt(p10),
      fmt(p50),
      fmt(p90),
      fmt(min),
      fmt(max),
      `${atLeastOne} (${((100 * atLeastOne) / values.length).toFixed(1)}%)`,
    ]);
  }
  const widths = header.map((_, i) => Math.max(...table.map((row) => row[i].length)));
  for (const row of table) out.push(row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  '));
  out.push('>= 1: the scored records whose value is 1 or more (share of the scored ones)');
  for (const metric of metrics) out.push(`${METRIC_LABEL[metric]}: ${METRIC_DIRECTION[metric]}`);
  process.stdout.write(out.join('\n') + '\n');
}

export function fmt(x: number): string {
  return Math.abs(x) >= 100 ? x.toFixed(1) : x.toFixed(4);
}
