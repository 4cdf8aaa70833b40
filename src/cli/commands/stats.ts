import { histogram } from '../../core/metrics/summary';
import type { MetricName } from '../../core/metrics/types';
import { renderHistogram } from '../histogramText';
import { Interrupted, interruptible } from '../interrupt';
import { checkScoringOutputPaths } from '../outputPaths';
import { runScoring } from '../runScoring';
import { invalidRow, scoreRow, type ScoreRow } from '../scoreRow';
import { requireFile, resolveScoreSettings, type ScoreFlags } from '../settings';
import { METRIC_LABEL, printSummary, RunSummary } from '../summary';
import { EXIT_OK, EXIT_RECORDS_FAILED, UsageError } from '../usage';

export interface StatsFlags extends ScoreFlags {
  bins: string;
  quiet?: boolean;
}

export async function statsCommand(file: string, flags: StatsFlags): Promise<number> {
  const datasetPath = requireFile(file, 'dataset');
  const settings = resolveScoreSettings(flags);
  const bins = Number(flags.bins);
  if (!Number.isInteger(bins) || bins < 1 || bins > 200) throw new UsageError('--bins expects an integer from 1 to 200');
  checkScoringOutputPaths(datasetPath, settings, []);
  const metrics: MetricName[] = settings.config.metrics;
  const rows: ScoreRow[] = [];
  const run = await interruptible((signal) =>
    runScoring(datasetPath, settings, {
      signal,
      quiet: flags.quiet,
      onInvalid: (info, problems) => rows.push(invalidRow(info.line, problems)),
      onScore: (info, score) => rows.push(scoreRow(info.line, score, metrics)),
    }),
  );
  if (run instanceof Interrupted) return run.exitCode;
  const out: string[] = [];
  for (const metric of metrics) {
    const values = rows.map((r) => r[metric]);
    const h = histogram(values, bins);
    out.push('', `${METRIC_LABEL[metric]} (${values.length - h.ignored} scored${h.ignored ? `, ${h.ignored} without a score` : ''})`);
    if (values.length > h.ignored) out.push(...renderHistogram(h));
  }
  process.stdout.write(out.join('\n') + '\n\n');
  const summary = new RunSummary();
  for (const row of rows) summary.add(row);
  printSummary(summary, metrics, run);
  return rows.some((r) => r.error !== null) ? EXIT_RECORDS_FAILED : EXIT_OK;
}
