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

/** What the summary reads of each output row (a run of a million records keeps only this). */
export type SummaryRow = Pick<ScoreRow, 'error' | 'ifd' | 'rifd' | 'ds' | 'not_computable'>;

/** Records a metric has no value for because of their text (counted apart from failures). */
export function notComputableCount(rows: readonly SummaryRow[], metric: MetricName): number {
  return rows.filter((r) => r.error === null && r.not_computable[metric] !== undefined).length;
}

/** The table printed at the end of a run: counts, then each metric's distribution and a legend. */
export function printSummary(rows: readonly SummaryRow[], metrics: MetricName[], run: ScoringRun): void {
  const failed = rows.filter((r) => r.error !== null).length;
  const out: string[] = [];
  const rate = run.stats.evaluatedTokens / Math.max(run.seconds, 1e-9);
  out.push(
    `${rows.length - failed} of ${rows.length} records scored` +
      (failed ? `, ${failed} failed` : '') +
      (run.stats.cached ? `, ${run.stats.cached} from the score store` : '') +
      ` in ${run.seconds.toFixed(1)} s (${Math.round(rate).toLocaleString('en-US')} tokens/s evaluated)`,
  );
  for (const metric of metrics) {
    const count = notComputableCount(rows, metric);
    if (count > 0) out.push(`${METRIC_LABEL[metric]} not computable for ${count} of them (not failures: each is named on stderr with its reason)`);
  }
  out.push(`model ${run.modelId} via ${run.endpoint}` + (run.validMeanLoss !== undefined ? `; DS valid-set mean loss ${run.validMeanLoss.toFixed(4)}` : ''));
  const header = ['metric', 'scored', 'not computable', 'mean', 'p10', 'median', 'p90', 'min', 'max', '>= 1'];
  const table: string[][] = [header];
  for (const metric of metrics) {
    const values = rows.map((r) => r[metric]).filter((v): v is number => v !== null);
    const notComputable = String(notComputableCount(rows, metric));
    if (values.length === 0) {
      table.push([METRIC_LABEL[metric], '0', notComputable, '-', '-', '-', '-', '-', '-', '-']);
      continue;
    }
    const [p10, p50, p90] = quantiles(values, [0.1, 0.5, 0.9]) as number[];
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    const atLeastOne = values.filter((v) => v >= 1).length;
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
