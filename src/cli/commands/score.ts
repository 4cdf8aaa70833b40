import { AtomicFileWriter, writeFileAtomic } from '../../core/io/atomicWrite';
import type { MetricName } from '../../core/metrics/types';
import { OrderedWriter } from '../orderedWriter';
import { checkScoringOutputPaths } from '../outputPaths';
import { Interrupted, interruptible } from '../interrupt';
import { runScoring } from '../runScoring';
import { invalidRow, scoreRow, type ScoreRow } from '../scoreRow';
import { requireFile, resolveScoreSettings, type ScoreFlags } from '../settings';
import { METRIC_LABEL, notComputableCount, printSummary } from '../summary';
import { EXIT_OK, EXIT_RECORDS_FAILED } from '../usage';

export interface ScoreCommandFlags extends ScoreFlags {
  out?: string;
  stats?: string;
  quiet?: boolean;
}

export async function scoreCommand(file: string, flags: ScoreCommandFlags): Promise<number> {
  const datasetPath = requireFile(file, 'dataset');
  const settings = resolveScoreSettings(flags);
  checkScoringOutputPaths(datasetPath, settings, [{ role: '--out', path: flags.out }, { role: '--stats', path: flags.stats }]);
  const metrics: MetricName[] = settings.config.metrics;
  const writer = flags.out ? new AtomicFileWriter(flags.out) : undefined;
  const ordered = new OrderedWriter(writer);
  const rows: ScoreRow[] = [];
  const failures: string[] = [];
  const notComputable: string[] = [];
  try {
    const run = await interruptible((signal) =>
      runScoring(datasetPath, settings, {
        signal,
        quiet: flags.quiet,
        onInvalid: (info, problems) => {
          for (const problem of problems) failures.push(`${file}:${problem.line}:${problem.startColumn + 1}: ${problem.reason ?? problem.message}`);
          const row = invalidRow(info.line, problems);
          rows.push(row);
          ordered.put(info.index, JSON.stringify(row));
        },
        onScore: (info, score) => {
          const row = scoreRow(info.line, score, metrics);
          if (row.error) failures.push(`${file}:${info.line}: ${row.error}`);
          for (const [metric, reason] of Object.entries(row.not_computable)) notComputable.push(`${file}:${info.line}: ${METRIC_LABEL[metric as MetricName]} not computable: ${reason}`);
          rows.push(row);
          ordered.put(info.index, JSON.stringify(row));
        },
      }),
    );
    if (run instanceof Interrupted) {
      if (writer) await writer.abort();
      return run.exitCode;
    }
    await ordered.finish();
    if (writer) await writer.commit();
    for (const line of notComputable.sort(byLine)) process.stderr.write(`${line}\n`);
    for (const failure of failures.sort(byLine)) process.stderr.write(`${failure}\n`);
    printSummary(rows, metrics, run);
    if (flags.stats) {
      const failed = rows.filter((r) => r.error !== null).length;
      const notComputableCounts = Object.fromEntries(metrics.map((metric) => [metric, notComputableCount(rows, metric)]));
      const stats = { records: rows.length, failed, notComputable: notComputableCounts, invalid: run.stats.invalid, cached: run.stats.cached, evaluatedTokens: run.stats.evaluatedTokens, seconds: run.seconds, model: run.modelId };
      await writeFileAtomic(flags.stats, JSON.stringify(stats) + '\n');
    }
    return failures.length > 0 ? EXIT_RECORDS_FAILED : EXIT_OK;
  } catch (error) {
    if (writer) await writer.abort();
    throw error;
  }
}

function byLine(a: string, b: string): number {
  const line = (s: string): number => Number(/:(\d+):/.exec(s)?.[1] ?? 0);
  return line(a) - line(b);
}
