import { assistantTurns } from '../dataset/turns';
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
import { chatRenders, planChatSequence, renderKey } from './chat/chatPlan';
import type { BatchExporter, ExportedMetric } from './batchFile';
import type { ChatRenderRequest } from './chat/types';
import { SequenceSet } from './sequenceSet';

export interface RecordToScore {
  /** The caller's handle for the record (a line number, a document position, a valid-set index). */
  id: number;
  pair: TrainingPair;
}

export type MetricOutcome =
  | { ok: true; losses: Partial<Record<SpanKind, SpanLoss>>; truncated: boolean; at: number; cached: boolean; notes?: string[]; foreign?: true }
  /** `transient`: the endpoint failed for a reason that passes (unreachable, timeout, 5xx, 429): worth trying again later. */
  | { ok: false; error: string; transient?: true };

export type TurnOutcomes = Partial<Record<MetricName, MetricOutcome>>;

export interface RecordLossResult {
  id: number;
  /** The record's last assistant turn (its `TrainingPair`). */
  metrics: TurnOutcomes;
  /** Every assistant turn in order, the last one included, when the record has more than one. */
  turns?: TurnOutcomes[];
}

/** A record's outcomes without the caller's handle: what the store answers for it. */
export type RecordOutcomes = Omit<RecordLossResult, 'id'>;

export interface ScoreRunOptions {
  scorer: TokenScorer;
  store: ScoreStore;
  config: ScoringConfig;
  methodVersion: string;
  signal?: AbortSignal;
  /** Approximate tokens per scorer call (default 8192). */
  chunkTokens?: number;
  /**
   * Chunks in flight at once (default 2), or a function read before each new chunk (an adaptive
   * HTTP fleet's limits move). HTTP backends limit requests per endpoint themselves.
   */
  concurrency?: number | (() => number);
  /** Called once per record, cached records first-come; not necessarily in input order. */
  onResult: (result: RecordLossResult) => void;
  /**
   * Use the store only: a record with any metric missing from it is passed here instead of being
   * scored (a partly scored file is filtered by what is known, without hours of scoring).
   */
  onNotStored?: (id: number) => void;
  /**
   * Plan only: the sequences of every metric the store lacks go to this batch-file writer instead of
   * the scorer (which then only tokenizes), and those metrics are reported as {@link EXPORTED}.
   */
  exporter?: Pick<BatchExporter, 'add'>;
}

/** The outcome error of a metric written to a batch file instead of being scored. */
export const EXPORTED = 'written to the batch file, not scored yet';

export interface RunStats {
  records: number;
  /** What the run did differently from what was asked (the `chat` template's fallback). */
  notes: string[];
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

/** One assistant turn of a record on its way through the store and the scorer. */
interface PendingRecord {
  id: number;
  done: TurnOutcomes;
  pending: PendingMetric[];
  /** Reports this turn's outcomes (collects a record's turns until all are in). */
  report: (done: TurnOutcomes) => void;
}

/** The template a run can apply: `chat` falls back to `plain` on a backend without a chat template. */
export function effectiveConfig(config: ScoringConfig, scorer: Pick<TokenScorer, 'chat' | 'chatUnavailable'>): { config: ScoringConfig; note?: string } {
  if (config.template !== 'chat' || scorer.chat) return { config };
  // `plain` is what Cherry LLM's authors advise for a model that does not know the prompt's format
  // (Cherry LLM issue 22: "directly remove the templates, which is what Superfiltering does").
  const reason = scorer.chatUnavailable ?? 'the backend cannot apply a chat template';
  return { config: { ...config, template: 'plain' }, note: `template chat: ${reason}; scored with the plain template instead` };
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
  const { store, scorer } = options;
  const effective = effectiveConfig(options.config, scorer);
  const config = effective.config;
  const run = { ...options, config };
  const chunkTokens = options.chunkTokens ?? 8192;
  const chunksAllowed = (): number => Math.max(1, typeof options.concurrency === 'function' ? options.concurrency() : (options.concurrency ?? 2));
  const stats: RunStats = { records: 0, notes: effective.note ? [effective.note] : [], cached: 0, evaluatedTokens: 0 };
  const inFlight = new Set<Promise<void>>();
  let failure: unknown;
  let chunk: PendingRecord[] = [];
  let chunkChars = 0;

  const dispatch = async (): Promise<void> => {
    if (chunk.length === 0) return;
    const work = scoreChunk(chunk, run, stats).catch((error: unknown) => {
      failure ??= error;
    });
    chunk = [];
    chunkChars = 0;
    inFlight.add(work);
    void work.finally(() => inFlight.delete(work));
    while (inFlight.size >= chunksAllowed()) await Promise.race(inFlight);
  };

  for await (const record of records) {
    options.signal?.throwIfAborted();
    if (failure) break;
    stats.records++;
    const turns = assistantTurns(record.pair);
    const outcomes = new Array<TurnOutcomes | undefined>(turns.length);
    let waiting = turns.length;
    let allCached = true;
    const entries: PendingRecord[] = [];
    let entryChars = 0;
    turns.forEach((pair, turn) => {
      const entry: PendingRecord = {
        id: record.id,
        done: {},
        pending: [],
        report: (done) => {
          outcomes[turn] = done;
          if (--waiting > 0) return;
          const all = outcomes as TurnOutcomes[];
          options.onResult(all.length > 1 ? { id: record.id, metrics: all[all.length - 1], turns: all } : { id: record.id, metrics: all[0] });
        },
      };
      for (const metric of config.metrics) {
        const requests = metricRequests(metric, pair, config);
        const key = metricStoreKey(metric, requests, config, scorer.modelId, options.methodVersion, scorer.chat?.identity);
        const stored = store.get(key);
        if (stored) {
          entry.done[metric] = storedOutcome(metric, stored);
        } else {
          entry.pending.push({ metric, key, requests });
          entryChars += requests.reduce((sum, r) => sum + r.context.length + r.target.length, 0);
        }
      }
      allCached &&= entry.pending.length === 0;
      entries.push(entry);
    });
    if (allCached) {
      stats.cached++;
      for (const entry of entries) entry.report(entry.done);
      continue;
    }
    if (options.onNotStored) {
      options.onNotStored(record.id);
      continue;
    }
    for (const entry of entries) {
      if (entry.pending.length === 0) entry.report(entry.done);
      else chunk.push(entry);
    }
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
export function metricStoreKey(
  metric: MetricName,
  requests: SpanRequest[],
  config: ScoringConfig,
  modelId: string,
  methodVersion: string,
  chatIdentity?: string,
): string {
  return storeKey({
    texts: requests.flatMap((r) => [r.context, r.target]),
    // A chat score depends on the template's text (its identity) and on the span options.
    template:
      config.template === 'chat'
        ? `chat:${chatIdentity ?? 'none'}:${config.chatEndOfTurn ?? 'exclude'}:${config.chatDirectFrame ?? 'empty-user'}`
        : config.template,
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
  // `foreign`: not computed by this installation (see ScoreStore); shown as unverified in a restricted workspace.
  return {
    ok: true,
    losses,
    truncated: stored.truncated,
    at: stored.at,
    cached: true,
    ...(stored.notes?.length ? { notes: stored.notes } : {}),
    ...(stored.foreign ? { foreign: true as const } : {}),
  };
}

export interface StoredLookup {
  store: ScoreStore;
  config: ScoringConfig;
  modelId: string;
  methodVersion: string;
  /** The scorer's `chat.identity`, for the `chat` template. */
  chatIdentity?: string;
}

/**
 * Every metric of `config` for one record, answered from the store alone; undefined when any of
 * them is missing. The same keys and values `scoreRecords` would report for a cached record, without
 * a scorer call: an editor uses it to show stored scores for the visible lines at once.
 */
export function lookupStored(pair: TrainingPair, lookup: StoredLookup): RecordLossResult['metrics'] | undefined {
  return lookupStoredTurns(pair, lookup)?.metrics;
}

/** lookupStored with every assistant turn's outcomes, as `scoreRecords` reports a cached record. */
export function lookupStoredTurns(pair: TrainingPair, lookup: StoredLookup): RecordOutcomes | undefined {
  const turns: TurnOutcomes[] = [];
  for (const turn of assistantTurns(pair)) {
    const metrics: TurnOutcomes = {};
    for (const metric of lookup.config.metrics) {
      const key = metricStoreKey(metric, metricRequests(metric, turn, lookup.config), lookup.config, lookup.modelId, lookup.methodVersion, lookup.chatIdentity);
      const stored = lookup.store.get(key);
      if (!stored) return undefined;
      metrics[metric] = storedOutcome(metric, stored);
    }
    turns.push(metrics);
  }
  return turns.length > 1 ? { metrics: turns[turns.length - 1], turns } : { metrics: turns[0] };
}

async function scoreChunk(chunk: PendingRecord[], options: ScoreRunOptions, stats: RunStats): Promise<void> {
  const { scorer, config, store, signal } = options;
  const texts = new Set<string>();
  const renders = new Map<string, ChatRenderRequest>();
  for (const record of chunk) {
    for (const pending of record.pending) {
      for (const r of pending.requests) {
        texts.add(r.target);
        if (r.chat) {
          for (const render of Object.values(chatRenders(r.chat))) renders.set(renderKey(render), render);
          continue;
        }
        texts.add(r.context);
        if (config.boundary === 'faithful') texts.add(r.context + r.target);
      }
    }
  }
  const textList = [...texts];
  const renderList = [...renders.values()];
  let tokenized: number[][];
  let rendered: (number[] | Error)[] = [];
  try {
    tokenized = await scorer.tokenize(textList.map((text) => scorablePrefix(text, scorer.maxContext)), signal);
    if (renderList.length > 0) {
      if (!scorer.chat) throw new Error('the chat template is not available');
      rendered = await scorer.chat.render(renderList, signal);
    }
  } catch (error) {
    failChunk(chunk, error);
    return;
  }
  const ids = new Map<string, number[]>();
  textList.forEach((text, i) => ids.set(text, tokenized[i]));
  const tokens = (text: string): number[] => ids.get(text) ?? [];
  const renderedIds = new Map<string, number[] | Error>();
  renderList.forEach((render, i) => renderedIds.set(renderKey(render), rendered[i]));
  const planOne = (request: SpanRequest, fitted: number | undefined): PlannedSequence | string => {
    if (!request.chat) return planSequence(request, tokens, scorer.bosId, config.boundary, scorer.maxContext, fitted);
    const r = chatRenders(request.chat);
    const get = (render: ChatRenderRequest) => renderedIds.get(renderKey(render)) ?? new Error('not rendered');
    const parts = { prompt: get(r.prompt), content: get(r.content), whole: get(r.whole) };
    return planChatSequence(request, parts, tokens(request.target), config.chatEndOfTurn ?? 'exclude', scorer.maxContext, fitted);
  };

  // Plan every span; identical id sequences are evaluated once.
  // The first token each sequence needs a log-prob for (a prompt's own tokens usually need none).
  const unique = new SequenceSet();
  const { sequences, needFrom } = unique;
  const planned: { record: PendingRecord; pending: PendingMetric; spans: Map<SpanKind, PlannedSequence | string> }[] = [];
  for (const record of chunk) {
    for (const pending of record.pending) {
      const spans = new Map<SpanKind, PlannedSequence | string>();
      for (const request of pending.requests) {
        const partner = request.pairedWith ? spans.get(request.pairedWith) : undefined;
        const fitted = partner && typeof partner !== 'string' ? partner.end - partner.start : undefined;
        const plan = planOne(request, fitted);
        spans.set(request.kind, plan);
        if (typeof plan !== 'string') unique.add(plan.ids, plan.start);
      }
      planned.push({ record, pending, spans });
    }
  }
  let logprobs: (Float64Array | undefined)[];
  // Sequences the scorer could not score while it scored the others (e.g. one prompt a server
  // refuses): only the metrics built on them fail.
  let failed: ReadonlyMap<number, Error> = new Map();
  try {
    logprobs = options.exporter ? new Array<undefined>(sequences.length) : await scorer.logprobs(sequences, signal, needFrom);
  } catch (error) {
    if (!(error instanceof PartialLogprobsError)) {
      failChunk(chunk, error);
      return;
    }
    logprobs = error.results;
    failed = error.failures;
  }
  if (!options.exporter) stats.evaluatedTokens += unique.totalTokens;
  const at = Date.now();
  const exported: ExportedMetric[] = [];
  for (const { record, pending, spans } of planned) {
    if (options.exporter && [...spans.values()].some((plan) => typeof plan !== 'string')) {
      const notes = [...new Set([...spans.values()].flatMap((plan) => (typeof plan !== 'string' && plan.note ? [plan.note] : [])))];
      exported.push({
        key: pending.key,
        spans: METRIC_SPANS[pending.metric].map((kind) => {
          const plan = spans.get(kind) as PlannedSequence | string;
          return typeof plan === 'string' ? plan : { sequence: unique.indexOf(plan.ids), start: plan.start, end: plan.end };
        }),
        truncated: [...spans.values()].some((plan) => typeof plan !== 'string' && plan.truncated),
        ...(notes.length > 0 ? { notes } : {}),
      });
      record.done[pending.metric] = { ok: false, error: EXPORTED };
      continue;
    }
    const losses: Partial<Record<SpanKind, SpanLoss>> = {};
    let truncated = false;
    let error: Error | undefined;
    const notes = new Set<string>();
    for (const [kind, plan] of spans) {
      // An unscorable span (empty target, prompt filling the context) is a property of the text, so
      // it is stored like a score (NaN, n = 0) and the metric layer turns it into "no score" with a
      // reason; it is not a failure of the run.
      if (typeof plan === 'string') {
        losses[kind] = { mean: Number.NaN, n: 0, unscorable: plan };
        continue;
      }
      truncated ||= plan.truncated;
      if (plan.note) notes.add(plan.note);
      const index = unique.indexOf(plan.ids);
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
    const noted = notes.size > 0 ? { notes: [...notes] } : {};
    store.put(pending.key, { losses: flat, truncated, at, ...(unscorable ? { unscorable } : {}), ...noted }, { modelId: scorer.modelId, metric: pending.metric });
    record.done[pending.metric] = { ok: true, losses, truncated, at, cached: false, ...noted };
  }
  if (options.exporter && exported.length > 0) await options.exporter.add(sequences, exported);
  for (const record of chunk) record.report(record.done);
}

function failChunk(chunk: PendingRecord[], error: unknown): void {
  if (isAbort(error)) throw error;
  const message = error instanceof Error ? error.message : String(error);
  // Retries run out only on failures that were worth retrying: the endpoint, not the record.
  const outcome: MetricOutcome = error instanceof RetriesExhaustedError ? { ok: false, error: message, transient: true } : { ok: false, error: message };
  for (const record of chunk) {
    for (const pending of record.pending) record.done[pending.metric] = outcome;
    record.report(record.done);
  }
}

function isAbort(error: unknown): boolean {
  return error instanceof Error && error.name === 'AbortError';
}
