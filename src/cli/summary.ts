import { quantiles } from '../core/metrics/summary';
import type { MetricName } from '../core/metrics/types';
import type { ScoringRun } from './runScoring';
import type { ScoreRow } from './scoreRow';

export const METRIC_LABEL: Record<MetricName, string> = { ifd: 'IFD', rifd: 'r-IFD', ds: 'DS' };

/** The table printed at the end of a run: counts, then each metric's distribution. */
export function printSummary(rows: ScoreRow[], metrics: MetricName[], run: ScoringRun): void {
  const failed = rows.filter((r) => r.error !== null).length;
  const out: string[] = [];
  const rate = run.stats.evaluatedTokens / Math.max(run.seconds, 1e-9);
  out.push(
    `${rows.length - failed} of ${rows.length} records scored` +
      (failed ? `, ${failed} failed` : '') +
      (run.stats.cached ? `, ${run.stats.cached} from the score store` : '') +
      ` in ${run.seconds.toFixed(1)} s (${Math.round(rate).toLocaleString('en-US')} tokens/s evaluated)`,
  );
  out.push(`model ${run.modelId} via ${run.endpoint}` + (run.validMeanLoss !== undefined ? `; DS valid-set mean loss ${run.validMeanLoss.toFixed(4)}` : ''));
  const header = ['metric', 'scored', 'mean', 'p10', 'median', 'p90', 'min', 'max', '>= 1'];
  const table: string[][] = [header];
  for (const metric of metrics) {
    const values = rows.map((r) => r[metric]).filter((v): v is number => v !== null);
    if (values.length === 0) {
      table.push([METRIC_LABEL[metric], '0', '-', '-', '-', '-', '-', '-', '-']);
      continue;
    }
    const [p10, p50, p90] = quantiles(values, [0.1, 0.5, 0.9]) as number[];
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    const atLeastOne = values.filter((v) => v >= 1).length;
    table.push([
      METRIC_LABEL[metric],
      String(values.length),
      fmt(mean),
      fmt(p10),
      fmt(p50),
      fmt(p90),
      fmt(Math.min(...values)),
      fmt(Math.max(...values)),
      `${atLeastOne} (${((100 * atLeastOne) / values.length).toFixed(1)}%)`,
    ]);
  }
  const widths = header.map((_, i) => Math.max(...table.map((row) => row[i].length)));
  for (const row of table) out.push(row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  '));
  process.stdout.write(out.join('\n') + '\n');
}

export function fmt(x: number): string {
  return Math.abs(x) >= 100 ? x.toFixed(1) : x.toFixed(4);
}
