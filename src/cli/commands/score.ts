import { AtomicFileWriter, writeFileAtomic } from '../../core/io/atomicWrite';
import { parseShard, type Shard } from '../../core/dataset/shard';
import type { MetricName } from '../../core/metrics/types';
import { checkBatchSettings, exportBatch, importBatch } from '../batchFiles';
import { OrderedWriter } from '../orderedWriter';
import { checkScoringOutputPaths } from '../outputPaths';
import { Interrupted, interruptible } from '../interrupt';
import { runScoring, type ScoringCallbacks, type ScoringRun } from '../runScoring';
import { invalidRow, scoreRow, type ScoreRow } from '../scoreRow';
import { requireFile, resolveScoreSettings, type ScoreFlags } from '../settings';
import { METRIC_LABEL, printSummary, RunSummary } from '../summary';
import { EXIT_OK, EXIT_RECORDS_FAILED, UsageError } from '../usage';

export interface ScoreCommandFlags extends ScoreFlags {
  out?: string;
  stats?: string;
  quiet?: boolean;
  shard?: string;
  exportBatch?: string;
  importBatch?: string;
}

export async function scoreCommand(file: string, flags: ScoreCommandFlags): Promise<number> {
  const datasetPath = requireFile(file, 'dataset');
  const settings = resolveScoreSettings(flags);
  const shard = flags.shard === undefined ? undefined : shardFlag(flags.shard);
  if (flags.exportBatch && flags.importBatch) throw new UsageError('use either --export-batch or --import-batch, not both');
  if (flags.exportBatch) checkBatchSettings(settings, '--export-batch');
  if (flags.importBatch) checkBatchSettings(settings, '--import-batch');
  const resultsPath = flags.importBatch ? requireFile(flags.importBatch, 'batch results') : undefined;
  checkScoringOutputPaths(datasetPath, settings, [
    { role: '--out', path: flags.out },
    { role: '--stats', path: flags.stats },
    { role: '--export-batch', path: flags.exportBatch },
  ]);
  if (flags.exportBatch) return exportCommand(file, datasetPath, settings, flags.exportBatch, flags, shard);
  const metrics: MetricName[] = settings.config.metrics;
  const writer = flags.out ? new AtomicFileWriter(flags.out) : undefined;
  const ordered = new OrderedWriter(writer);
  const summary = new RunSummary();
  const failures: string[] = [];
  const notComputable: string[] = [];
  const failRow = (line: number, index: number, reason: string): void => {
    failures.push(`${file}:${line}: ${reason}`);
    const row: ScoreRow = { ...invalidRow(line, []), error: reason };
    summary.add(row);
    ordered.put(index, JSON.stringify(row));
  };
  const callbacks: ScoringCallbacks = {
    quiet: flags.quiet,
    ...(shard ? { shard } : {}),
    onInvalid: (info, problems) => {
      for (const problem of problems) failures.push(`${file}:${problem.line}:${problem.startColumn + 1}: ${problem.reason ?? problem.message}`);
      const row = invalidRow(info.line, problems);
      summary.add(row);
      ordered.put(info.index, JSON.stringify(row));
    },
    onScore: (info, score) => {
      const row = scoreRow(info.line, score, metrics);
      if (row.error) failures.push(`${file}:${info.line}: ${row.error}`);
      for (const [metric, reason] of Object.entries(row.not_computable)) notComputable.push(`${file}:${info.line}: ${METRIC_LABEL[metric as MetricName]} not computable: ${reason}`);
      summary.add(row);
      ordered.put(info.index, JSON.stringify(row));
    },
  };
  try {
    const run = await interruptible(async (signal): Promise<ScoringRun> => {
      if (!resultsPath) return runScoring(datasetPath, settings, { ...callbacks, signal });
      const imported = await importBatch(datasetPath, settings, resultsPath, {
        ...callbacks,
        signal,
        onNotStored: (info) => failRow(info.line, info.index, 'no score: its requests are not among the batch results (or failed there); a run with --url scores it'),
      });
      const s = imported.summary;
      if (!flags.quiet) {
        process.stderr.write(`imported ${s.stored} score(s) from ${s.results} result line(s)${s.failedRequests ? `; ${s.failedRequests} request(s) failed in the batch run (first: ${s.firstFailure})` : ''}${s.incomplete ? `; ${s.incomplete} score(s) incomplete (a request of theirs is missing)` : ''}\n`);
      }
      return imported.run;
    });
    if (run instanceof Interrupted) {
      if (writer) await writer.abort();
      return run.exitCode;
    }
    await ordered.finish();
    if (writer) await writer.commit();
    for (const line of notComputable.sort(byLine)) process.stderr.write(`${line}\n`);
    for (const failure of failures.sort(byLine)) process.stderr.write(`${failure}\n`);
    printSummary(summary, metrics, run);
    if (flags.stats) {
      const notComputableCounts = Object.fromEntries(metrics.map((metric) => [metric, summary.notComputableCount(metric)]));
      const stats = { records: summary.records, failed: summary.failed, notComputable: notComputableCounts, invalid: run.stats.invalid, cached: run.stats.cached, evaluatedTokens: run.stats.evaluatedTokens, seconds: run.seconds, model: run.modelId, ...(run.inFlightLimits ? { inFlightLimits: run.inFlightLimits } : {}), ...(run.tokenizeRoute ? { tokenizeRoute: run.tokenizeRoute } : {}) };
      await writeFileAtomic(flags.stats, JSON.stringify(stats) + '\n');
    }
    return failures.length > 0 ? EXIT_RECORDS_FAILED : EXIT_OK;
  } catch (error) {
    if (writer) await writer.abort();
    throw error;
  }
}

/** `--export-batch`: plan and write the requests; nothing is scored. */
async function exportCommand(file: string, datasetPath: string, settings: ReturnType<typeof resolveScoreSettings>, path: string, flags: ScoreCommandFlags, shard: Shard | undefined): Promise<number> {
  const invalid: string[] = [];
  let stored = 0;
  let planned = 0;
  const result = await interruptible((signal) =>
    exportBatch(datasetPath, settings, path, {
      signal,
      quiet: flags.quiet,
      ...(shard ? { shard } : {}),
      onInvalid: (_info, problems) => {
        for (const problem of problems) invalid.push(`${file}:${problem.line}:${problem.startColumn + 1}: ${problem.reason ?? problem.message}`);
      },
      onScore: (_info, score) => {
        if (score.cached) stored++;
        else planned++;
      },
    }),
  );
  if (result instanceof Interrupted) return result.exitCode;
  if (result === undefined) return EXIT_OK;
  for (const line of invalid) process.stderr.write(`${line}\n`);
  const { exporter } = result;
  process.stdout.write(
    `${exporter.requests} request(s) (${exporter.sequences} sequences, ${exporter.tokens.toLocaleString('en-US')} tokens) for ${planned} record(s) written to ${path}` +
      `${stored ? `; ${stored} record(s) already in the score store` : ''}${invalid.length ? `; ${invalid.length} invalid` : ''}\n` +
      `run them with a batch runner that takes ${'/v1/completions'} requests, then: sift score ${file} --import-batch RESULTS.jsonl (same scoring options)\n`,
  );
  return invalid.length > 0 ? EXIT_RECORDS_FAILED : EXIT_OK;
}

function shardFlag(text: string): Shard {
  try {
    return parseShard(text);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

function byLine(a: string, b: string): number {
  const line = (s: string): number => Number(/:(\d+):/.exec(s)?.[1] ?? 0);
  return line(a) - line(b);
}
