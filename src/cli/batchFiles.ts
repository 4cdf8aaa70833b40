/**
 * `sift score --export-batch FILE` and `--import-batch FILE` (see core/scoring/batchFile.ts for the
 * format and which runners take it): planning without scoring, and scoring from a runner's results.
 */
import { createReadStream } from 'node:fs';
import { relative } from 'node:path';
import { createInterface } from 'node:readline';
import { AtomicFileWriter } from '../core/io/atomicWrite';
import { METHOD_VERSION } from '../core/metrics';
import type { MetricSettings } from '../core/metrics/recordMetrics';
import { BatchExporter, BatchResultsError, importBatchResults, type ImportSummary } from '../core/scoring/batchFile';
import { BatchingHttpScorer } from '../core/scoring/http/scorer';
import { scoreFile } from '../core/scoring/scoreFile';
import { PermanentScorerError, type TokenScorer } from '../core/scoring/types';
import { closeScoreStore, openScoreStore, runScoring, type ScoringCallbacks, type ScoringRun } from './runScoring';
import type { ResolvedScoreSettings } from './settings';
import { UsageError } from './usage';

/** vLLM's defaults (VLLM_MAX_COMPLETION_PROMPTS 1024) and the client's request budget. */
const EXPORT_BUDGET = { maxTokensPerRequest: 16384, maxPromptsPerRequest: 1024 };

/** What batch files cannot carry yet, refused before any work starts. */
export function checkBatchSettings(settings: ResolvedScoreSettings, flag: string): void {
  if (settings.config.template === 'chat') throw new UsageError(`${flag} does not take --template chat yet (its sequences depend on the server's chat template)`);
  if (settings.config.metrics.includes('ds')) throw new UsageError(`${flag} does not take --metrics ds yet (the DS weight needs the valid set scored first)`);
}

export interface ExportRun {
  run: ScoringRun;
  exporter: BatchExporter;
}

/** Tokenizes and plans every record the store lacks, and writes their requests to `path`. */
export async function exportBatch(datasetPath: string, settings: ResolvedScoreSettings, path: string, callbacks: ScoringCallbacks): Promise<ExportRun | undefined> {
  if (settings.scorer.backend !== 'vllm') throw new UsageError('--export-batch writes vLLM requests: it needs --url of a vLLM server (or sift serve) to tokenize with');
  const writer = new AtomicFileWriter(path);
  let exporter: BatchExporter | undefined;
  try {
    const run = await runScoring(datasetPath, settings, {
      ...callbacks,
      exporter: (scorer: TokenScorer) => {
        if (!(scorer instanceof BatchingHttpScorer)) throw new PermanentScorerError('--export-batch needs a vLLM endpoint');
        exporter = new BatchExporter((line) => writer.write(line), scorer.servedModel, scorer.modelId, EXPORT_BUDGET);
        return exporter;
      },
    });
    if (callbacks.signal?.aborted) {
      await writer.abort();
      return undefined;
    }
    await writer.commit();
    return { run, exporter: exporter as BatchExporter };
  } catch (error) {
    await writer.abort();
    throw error;
  }
}

/** The identity of the model the exported requests were planned for: a scorer that only answers from the store. */
function storeOnlyScorer(modelId: string, resultsPath: string): TokenScorer {
  const refuse = (): Promise<never> => Promise.reject(new PermanentScorerError('not in the batch results: run sift score with --url to score it'));
  return {
    modelId,
    endpoint: displayPath(resultsPath),
    bosId: undefined,
    maxContext: Number.MAX_SAFE_INTEGER,
    tokenize: refuse,
    logprobs: refuse,
    close: async () => undefined,
  };
}

export interface ImportRun {
  run: ScoringRun;
  summary: ImportSummary;
}

/**
 * Reads the results into the score store, then scores the dataset from the store alone: a record
 * whose requests are not in the results (or failed) goes to `onNotStored`.
 */
export async function importBatch(
  datasetPath: string,
  settings: ResolvedScoreSettings,
  resultsPath: string,
  callbacks: ScoringCallbacks & { onNotStored: NonNullable<ScoringCallbacks['onNotStored']> },
): Promise<ImportRun> {
  const started = Date.now();
  const store = await openScoreStore(datasetPath, settings, callbacks.quiet);
  try {
    let summary: ImportSummary;
    try {
      summary = await importBatchResults(createInterface({ input: createReadStream(resultsPath, { encoding: 'utf8' }), crlfDelay: Infinity }), (key, value) =>
        store.put(key, value),
      );
    } catch (error) {
      if (error instanceof BatchResultsError) throw new UsageError(`${displayPath(resultsPath)}: ${error.message}`);
      throw error;
    }
    if (summary.modelId === undefined) throw new UsageError(`${displayPath(resultsPath)}: no result lines`);
    const scorer = storeOnlyScorer(summary.modelId, resultsPath);
    const metricSettings: MetricSettings = { ifdVariant: settings.config.ifdVariant, dsRule: settings.dsRule, turnScore: settings.turnScore };
    const stats = await scoreFile(datasetPath, {
      format: settings.format,
      scorer,
      store,
      config: settings.config,
      metricSettings,
      methodVersion: METHOD_VERSION,
      signal: callbacks.signal,
      ...(callbacks.shard ? { shard: callbacks.shard } : {}),
      onInvalid: callbacks.onInvalid,
      onScore: callbacks.onScore,
      onNotStored: callbacks.onNotStored,
    });
    return { run: { stats, modelId: scorer.modelId, endpoint: scorer.endpoint, seconds: (Date.now() - started) / 1000 }, summary };
  } finally {
    await closeScoreStore(store);
  }
}

function displayPath(path: string): string {
  return relative(process.cwd(), path) || path;
}
