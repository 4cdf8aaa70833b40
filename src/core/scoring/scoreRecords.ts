import type { TrainingPair } from '../dataset/types';
import type { MetricName, SpanLoss } from '../metrics/types';
import type { ScoreStore, StoredLosses } from '../store/scoreStore';
import { storeKey } from '../store/scoreStore';
import {
  METRIC_SPANS,
  metricRequests,
  planSequence,
  scorablePrefix,
  spanLoss,
  type PlannedSequence,
  type ScoringConfig,
  type SpanKind,
  type SpanRequest,
} from './plan';
import { PartialLogprobsError, RetriesExhaustedError, type TokenScorer } from './types';

export interface RecordToScore {
  /** The caller's handle for the record (a line number, a document position, a valid-set index). */
  id: number;
  pair: TrainingPair;
}

export type MetricOutcome =
  | { ok: true; losses: Partial<Record<SpanKind, SpanLoss>>; truncated: boolean; at: number; cached: boolean }
  /** `transient`: the endpoint failed for a reason that passes (unreachable, timeout, 5xx, 429): worth trying again later. */
  | { ok: false; error: string; transient?: true };

export interface RecordLossResult {
  id: number;
  metrics: Partial<Record<MetricName, MetricOutcome>>;
}

export interface ScoreRunOptions {
  scorer: TokenScorer;
  store: ScoreStore;
  config: ScoringConfig;
  methodVersion: string;
  signal?: AbortSignal;
  /** Approximate tokens per scorer call (default 8192). */
  chunkTokens?: number;
  /** Scorer calls in flight at once (default 2). HTTP backends limit requests per endpoint themselves. */
  concurrency?: number;
  /** Called once per record, cached records first-come; not necessarily in input order. */
  onResult: (result: RecordLossResult) => void;
  /**
   * Use the store only: a record with any metric missing from it is passed here instead of being
   * scored (a partly scored file is filtered by what is known, without hours of scoring).
   */
  onNotStored?: (id: number) => void;
}

export interface RunStats {
  records: number;
  /** Records whose every metric came from the store. */
  cached: number;
  /** Tokens evaluated by the scorer (after de-duplication of identical sequences). */
  evaluatedTokens: number;
}

interface PendingMetric {
  metric: MetricName;
  key: string;
  requests: SpanRequest[];
}

interface PendingRecord {
  id: number;
  done: Partial<Record<MetricName, MetricOutcome>>;
  pending: PendingMetric[];
}

/**
 * Streams records through the store and the scorer: cached metrics are answered at once, the rest
 * are grouped into chunks of about `chunkTokens` tokens, tokenized, planned, de-duplicated (IFD's
 * conditioned sequence and DS's are the same ids), scored, stored and reported. Memory is bounded
 * by the chunks in flight, not by the input.
 */
export async function scoreRecords(
  records: Iterable<RecordToScore> | AsyncIterable<RecordToScore>,
  options: ScoreRunOptions,
): Promise<RunStats> {
  const { store, config, scorer } = options;
  const chunkTokens = options.chunkTokens ?? 8192;
  const concurrency = Math.max(1, options.concurrency ?? 2);
  const stats: RunStats = { records: 0, cached: 0, evaluatedTokens: 0 };
  const inFlight = new Set<Promise<void>>();
  let failure: unknown;
  let chunk: PendingRecord[] = [];
  let chunkChars = 0;

  const dispatch = async (): Promise<void> => {
    if (chunk.length === 0) return;
    const work = scoreChunk(chunk, options, stats).catch((error: unknown) => {
      failure ??= error;
    });
    chunk = [];
    chunkChars = 0;
    inFlight.add(work);
    void work.finally(() => inFlight.delete(work));
    while (inFlight.size >= concurrency) await Promise.race(inFlight);
  };

  for await (const record of records) {
    options.signal?.throwIfAborted();
    if (failure) break;
    stats.records++;
    const entry: PendingRecord = { id: record.id, done: {}, pending: [] };
    let entryChars = 0;
    for (const metric of config.metrics) {
      const requests = metricRequests(metric, record.pair, config);
      const key = metricStoreKey(metric, requests, config, scorer.modelId, options.methodVersion);
      const stored = store.get(key);
      if (stored) {
        entry.done[metric] = storedOutcome(metric, stored);
      } else {
        entry.pending.push({ metric, key, requests });
        entryChars += requests.reduce((sum, r) => sum + r.context.length + r.target.length, 0);
      }
    }
    if (entry.pending.length === 0) {
      stats.cached++;
      options.onResult({ id: entry.id, metrics: entry.done });
      continue;
    }
    if (options.onNotStored) {
      options.onNotStored(entry.id);
      continue;
    }
    chunk.push(entry);
    chunkChars += entryChars;
    // ~3 characters per token is a safe over-estimate of tokens for English BPE/SentencePiece.
    if (chunkChars / 3 >= chunkTokens) await dispatch();
  }
  if (!failure) await dispatch();
  await Promise.all(inFlight);
  if (failure) throw failure;
  return stats;
}

/** The store key of one metric of one record: what `scoreRecords` looks up and writes. */
export function metricStoreKey(metric: MetricName, requests: SpanRequest[], config: ScoringConfig, modelId: string, methodVersion: string): string {
  return storeKey({
    texts: requests.flatMap((r) => [r.context, r.target]),
    template: config.template,
    metric: metric === 'ifd' ? `ifd:${config.ifdVariant === 'loss' && config.boundary === 'faithful' ? 'cherry' : 'direct'}` : metric,
    modelId,
    methodVersion,
    boundary: config.boundary,
  });
}

function storedOutcome(metric: MetricName, stored: StoredLosses): MetricOutcome {
  const losses: Partial<Record<SpanKind, SpanLoss>> = {};
  METRIC_SPANS[metric].forEach((kind, i) => {
    const unscorable = stored.unscorable?.[i];
    losses[kind] = unscorable ? { mean: stored.losses[2 * i], n: stored.losses[2 * i + 1], unscorable } : { mean: stored.losses[2 * i], n: stored.losses[2 * i + 1] };
  });
  return { ok: true, losses, truncated: stored.truncated, at: stored.at, cached: true };
}

export interface StoredLookup {
  store: ScoreStore;
  config: ScoringConfig;
  modelId: string;
  methodVersion: string;
}

/**
 * Every metric of `config` for one record, answered from the store alone; undefined when any of
 * them is missing. The same keys and values `scoreRecords` would report for a cached record, without
 * a scorer call: an editor uses it to show stored scores for the visible lines at once.
 */
export function lookupStored(pair: TrainingPair, lookup: StoredLookup): RecordLossResult['metrics'] | undefined {
  const metrics: RecordLossResult['metrics'] = {};
  for (const metric of lookup.config.metrics) {
    const stored = lookup.store.get(metricStoreKey(metric, metricRequests(metric, pair, lookup.config), lookup.config, lookup.modelId, lookup.methodVersion));
    if (!stored) return undefined;
    metrics[metric] = storedOutcome(metric, stored);
  }
  return metrics;
}

async function scoreChunk(chunk: PendingRecord[], options: ScoreRunOptions, stats: RunStats): Promise<void> {
  const { scorer, config, store, signal } = options;
  const texts = new Set<string>();
  for (const record of chunk) {
    for (const pending of record.pending) {
      for (const r of pending.requests) {
        texts.add(r.context);
        texts.add(r.target);
        if (config.boundary === 'faithful') texts.add(r.context + r.target);
      }
    }
  }
  const textList = [...texts];
  let tokenized: number[][];
  try {
    tokenized = await scorer.tokenize(textList.map((text) => scorablePrefix(text, scorer.maxContext)), signal);
  } catch (error) {
    failChunk(chunk, error, options);
    return;
  }
  const ids = new Map<string, number[]>();
  textList.forEach((text, i) => ids.set(text, tokenized[i]));
  const tokens = (text: string): number[] => ids.get(text) ?? [];

  // Plan every span; identical id sequences are evaluated once.
  const unique = new Map<string, number>();
  const sequences: number[][] = [];
  // The first token each sequence needs a log-prob for (a prompt's own tokens usually need none).
  const needFrom: number[] = [];
  const planned: { record: PendingRecord; pending: PendingMetric; spans: Map<SpanKind, PlannedSequence | string> }[] = [];
  for (const record of chunk) {
    for (const pending of record.pending) {
      const spans = new Map<SpanKind, PlannedSequence | string>();
      for (const request of pending.requests) {
        const partner = request.pairedWith ? spans.get(request.pairedWith) : undefined;
        const fitted = partner && typeof partner !== 'string' ? partner.end - partner.start : undefined;
        const plan = planSequence(request, tokens, scorer.bosId, config.boundary, scorer.maxContext, fitted);
        spans.set(request.kind, plan);
        if (typeof plan !== 'string') {
          const key = plan.ids.join(',');
          const at = unique.get(key);
          if (at === undefined) {
            unique.set(key, sequences.length);
            sequences.push(plan.ids);
            needFrom.push(plan.start);
          } else {
            needFrom[at] = Math.min(needFrom[at], plan.start);
          }
        }
      }
      planned.push({ record, pending, spans });
    }
  }
  let logprobs: (Float64Array | undefined)[];
  // Sequences the scorer could not score while it scored the others (e.g. one prompt a server
  // refuses): only the metrics built on them fail.
  let failed: ReadonlyMap<number, Error> = new Map();
  try {
    logprobs = await scorer.logprobs(sequences, signal, needFrom);
  } catch (error) {
    if (!(error instanceof PartialLogprobsError)) {
      failChunk(chunk, error, options);
      return;
    }
    logprobs = error.results;
    failed = error.failures;
  }
  stats.evaluatedTokens += sequences.reduce((sum, s) => sum + s.length, 0);
  const at = Date.now();
  for (const { record, pending, spans } of planned) {
    const losses: Partial<Record<SpanKind, SpanLoss>> = {};
    let truncated = false;
    let error: Error | undefined;
    for (const [kind, plan] of spans) {
      // An unscorable span (empty target, prompt filling the context) is a property of the text, so
      // it is stored like a score (NaN, n = 0) and the metric layer turns it into "no score" with a
      // reason; it is not a failure of the run.
      if (typeof plan === 'string') {
        losses[kind] = { mean: Number.NaN, n: 0, unscorable: plan };
        continue;
      }
      truncated ||= plan.truncated;
      const index = unique.get(plan.ids.join(','))!;
      const lp = logprobs[index];
      if (lp === undefined) {
        error ??= failed.get(index) ?? new Error('the scorer returned no log-probs for this sequence');
        continue;
      }
      losses[kind] = spanLoss(lp, plan);
    }
    if (error) {
      record.done[pending.metric] = { ok: false, error: error.message };
      continue;
    }
    const spanKinds = METRIC_SPANS[pending.metric];
    const flat = spanKinds.flatMap((kind) => [losses[kind]?.mean ?? Number.NaN, losses[kind]?.n ?? 0]);
    const unscorable = spanKinds.some((kind) => losses[kind]?.unscorable) ? spanKinds.map((kind) => losses[kind]?.unscorable ?? null) : undefined;
    store.put(pending.key, unscorable ? { losses: flat, truncated, at, unscorable } : { losses: flat, truncated, at });
    record.done[pending.metric] = { ok: true, losses, truncated, at, cached: false };
  }
  for (const record of chunk) options.onResult({ id: record.id, metrics: record.done });
}

function failChunk(chunk: PendingRecord[], error: unknown, options: ScoreRunOptions): void {
  if (isAbort(error)) throw error;
  const message = error instanceof Error ? error.message : String(error);
  // Retries run out only on failures that were worth retrying: the endpoint, not the record.
  const outcome: MetricOutcome = error instanceof RetriesExhaustedError ? { ok: false, error: message, transient: true } : { ok: false, error: message };
  for (const record of chunk) {
    for (const pending of record.pending) record.done[pending.metric] = outcome;
    options.onResult({ id: record.id, metrics: record.done });
  }
}

function isAbort(error: unknown): boolean {
  return error instanceof Error && error.name === 'AbortError';
}
