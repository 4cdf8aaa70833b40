import { LocalScorer } from '../core/scoring/local/localScorer';
import { vocabularyCostNote } from '../core/scoring/local/vocabularyCost';
import { relative } from 'node:path';
import type { ParsedRecord, Problem } from '../core/dataset/types';
import { countLines } from '../core/io/countLines';
import { METHOD_VERSION } from '../core/metrics';
import type { MetricSettings } from '../core/metrics/recordMetrics';
import { createScorer } from '../core/scoring/createScorer';
import type { RecordScore } from '../core/scoring/recordScore';
import { scoreFile, type FileRecordInfo, type ScoreFileOptions, type ScoreFileStats } from '../core/scoring/scoreFile';
import type { Shard } from '../core/dataset/shard';
import { validSetMeanLoss } from '../core/scoring/validSet';
import { NO_CACHE_STORE_LIMIT, ScoreStore } from '../core/store';
import type { TokenScorer } from '../core/scoring/types';
import { scoreStorePath } from './outputPaths';
import { Progress } from './progress';
import type { ResolvedScoreSettings } from './settings';
import { packageRoot } from './packageRoot';
import { chunksInFlight } from '../core/scoring/http/inFlightLimit';

export interface ScoringRun {
  stats: ScoreFileStats;
  modelId: string;
  endpoint: string;
  validMeanLoss?: number;
  seconds: number;
  /** HTTP backends: each replica's in-flight limit at the end of the run (see inFlightLimit.ts). */
  inFlightLimits?: { url: string; limit: number }[];
  /** HTTP backends: where texts were tokenized at the end of the run. */
  tokenizeRoute?: string;
}

export interface ScoringCallbacks {
  onInvalid: (info: FileRecordInfo, problems: Problem[]) => void;
  onScore: (info: FileRecordInfo, score: RecordScore, record: ParsedRecord) => void;
  /** Given: score nothing, use the store only; each record it lacks comes here. */
  onNotStored?: (info: FileRecordInfo) => void;
  quiet?: boolean;
  signal?: AbortSignal;
  /** Only this shard of the records (`--shard i/n`). */
  shard?: Shard;
  /** Plan only, into a batch file (`--export-batch`): made once the scorer is connected. */
  exporter?: (scorer: TokenScorer) => NonNullable<ScoreFileOptions['exporter']>;
}

/** What a scoring command works with while it scores: the opened store and scorer, and the DS anchor. */
export interface ScoringSession {
  store: ScoreStore;
  scorer: TokenScorer;
  metricSettings: MetricSettings;
}

/**
 * Opens the score store (beside `datasetPath` unless `--store`), the scorer and the valid set's mean
 * loss, runs `body`, and closes store and scorer on every path. Shared by `runScoring` (a dataset
 * file) and the reasoning commands (candidates held in memory).
 */
export async function withScoringSession<T>(
  datasetPath: string,
  settings: ResolvedScoreSettings,
  options: { quiet?: boolean; signal?: AbortSignal },
  body: (session: ScoringSession) => Promise<T>,
): Promise<T> {
  const store = await openScoreStore(datasetPath, settings, options.quiet);
  const scorer = await createScorer(
    { ...settings.scorer, onEvent: options.quiet ? undefined : (message) => process.stderr.write(`${message}\n`) },
    packageRoot(),
  );
  const note = scorer instanceof LocalScorer ? vocabularyCostNote(scorer.vocabSize) : undefined;
  if (note && !options.quiet) process.stderr.write(`${note}\n`);
  try {
    const metricSettings: MetricSettings = { ifdVariant: settings.config.ifdVariant, dsRule: settings.dsRule, turnScore: settings.turnScore };
    if (settings.validPath) {
      metricSettings.validMeanLoss = await validSetMeanLoss(settings.validPath, {
        scorer,
        store,
        config: settings.config,
        dsRule: settings.dsRule,
        methodVersion: METHOD_VERSION,
        signal: options.signal,
      });
    }
    return await body({ store, scorer, metricSettings });
  } finally {
    await closeScoreStore(store);
    await scorer.close();
  }
}

/** Everything `score`, `filter` and `stats` share: store, scorer, valid set, progress, scoring. */
export async function runScoring(datasetPath: string, settings: ResolvedScoreSettings, callbacks: ScoringCallbacks): Promise<ScoringRun> {
  const started = Date.now();
  return withScoringSession(datasetPath, settings, callbacks, async ({ store, scorer, metricSettings }) => {
    const lines = await countLines(datasetPath);
    const total = callbacks.shard ? Math.round(lines / callbacks.shard.count) : lines;
    const progress = new Progress(total, `scoring ${relative(process.cwd(), datasetPath) || datasetPath}`, callbacks.quiet);
    let done = 0;
    let tokens = 0;
    // Stopped on every path: the terminal bar's timer would otherwise keep an interrupted process alive.
    const stats = await scoreFile(datasetPath, {
      format: settings.format,
      scorer,
      store,
      config: settings.config,
      metricSettings,
      methodVersion: METHOD_VERSION,
      signal: callbacks.signal,
      ...pipelineShape(settings, scorer),
      ...(callbacks.shard ? { shard: callbacks.shard } : {}),
      ...(callbacks.exporter ? { exporter: callbacks.exporter(scorer) } : {}),
      onInvalid: (info, problems) => {
        progress.update(++done, tokens);
        callbacks.onInvalid(info, problems);
      },
      onNotStored: callbacks.onNotStored
        ? (info) => {
            progress.update(++done, tokens);
            callbacks.onNotStored!(info);
          }
        : undefined,
      onScore: (info, score, record) => {
        for (const loss of Object.values(score.losses)) if (!score.cached && loss) tokens += loss.n;
        progress.update(++done, tokens);
        callbacks.onScore(info, score, record);
      },
    }).finally(() => progress.stop());
    if (!callbacks.quiet) for (const runNote of stats.notes) process.stderr.write(`note: ${runNote}\n`);
    return {
      stats,
      modelId: scorer.modelId,
      endpoint: scorer.endpoint,
      validMeanLoss: metricSettings.validMeanLoss,
      seconds: (Date.now() - started) / 1000,
      ...(scorer.inFlightLimits ? { inFlightLimits: scorer.inFlightLimits() } : {}),
      ...(scorer.tokenizeRoute ? { tokenizeRoute: scorer.tokenizeRoute() } : {}),
    };
  });
}

/**
 * The run's score store. A store that cannot be written is reported once and never stops the run:
 * the scores still reach the command's output, and every later flush tries again.
 */
export async function openScoreStore(datasetPath: string, settings: ResolvedScoreSettings, quiet: boolean | undefined): Promise<ScoreStore> {
  if (!settings.useCache) return ScoreStore.memory(NO_CACHE_STORE_LIMIT);
  const store = await ScoreStore.openOrKeepInMemory(scoreStorePath(datasetPath, settings), { dataset: datasetPath });
  if (store.importedLegacy > 0 && !quiet) {
    process.stderr.write(`note: imported ${store.importedLegacy} score(s) from the old .sift/scores.jsonl into ${displayPath(store.path!)} (the old file is left as it is)\n`);
  }
  if (store.skippedLines > 0 && !quiet) {
    process.stderr.write(`note: ${store.skippedLines} unreadable line(s) in the old score file were ignored (a torn write is expected after a crash)\n`);
  }
  store.onWriteStatus = warnOnWriteFailure('the score store', store.path!);
  return store;
}

/** Flushes the store; says how many scores were not saved if it still cannot be written. */
export async function closeScoreStore(store: ScoreStore): Promise<void> {
  await store.close();
  if (store.writeError && store.unsaved > 0) {
    process.stderr.write(`warning: ${store.unsaved} score(s) could not be saved to ${displayPath(store.path!)}: a re-run scores those records again\n`);
  }
}

/** A write-status listener (see AppendLog) that warns once, at the first failure. */
export function warnOnWriteFailure(what: string, path: string): (error: Error | undefined) => void {
  let reported = false;
  return (error) => {
    if (!error || reported) return;
    reported = true;
    process.stderr.write(`warning: cannot write ${what} ${displayPath(path)} (${error.message}); the run goes on, results still go to the output, and writing is retried\n`);
  };
}

function displayPath(path: string): string {
  return relative(process.cwd(), path) || path;
}

/**
 * How much work to keep in flight. The local engine is one process: two chunks keep its lanes fed.
 * HTTP replicas are kept busy with one large chunk per request the client may have in flight to
 * each (`--concurrency`, or the adaptive limit's highest), so throughput is the servers' prefill
 * throughput.
 */
export function pipelineShape(settings: ResolvedScoreSettings, scorer: TokenScorer): { chunkTokens: number; concurrency: number | (() => number) } {
  if (settings.scorer.backend === 'local') return { chunkTokens: 4096, concurrency: 2 };
  const limits = scorer.inFlightLimits?.bind(scorer);
  return { chunkTokens: 16384, concurrency: chunksInFlight(settings.scorer.concurrency, settings.scorer.urls?.length ?? 1, limits) };
}
