/**
 * What every HTTP {@link TokenScorer} (vLLM, SGLang, TGI) shares: the replica pool and its
 * lifetime, the display endpoint, counters, tokenizing one text per request, and (for the
 * backends that take token ids) scoring in batches with refused sequences split out
 * (see `batching.ts`). A backend adds its wire format and what it learns when it connects.
 */
import type { EndpointHealth } from '../../net/health';
import { PermanentScorerError, type TokenScorer } from '../types';
import { batchedLogprobs, type BatchRequest } from './batching';
import { HttpEndpointPool, type HttpPoolOptions, type HttpStats } from './pool';
import { runAll } from './runAll';

export abstract class HttpScorer implements TokenScorer {
  abstract readonly modelId: string;
  abstract readonly bosId: number | undefined;
  abstract readonly maxContext: number;
  /** The replicas' display URLs (never credentials). */
  readonly endpoint: string;

  protected constructor(protected readonly pool: HttpEndpointPool) {
    this.endpoint = pool.bases.map((_, i) => pool.displayUrl(i)).join(', ');
  }

  abstract tokenize(texts: string[], signal?: AbortSignal): Promise<number[][]>;
  abstract logprobs(sequences: number[][], signal?: AbortSignal): Promise<Float64Array[]>;

  /** Whether each replica answers; the pool probes those that do not. */
  get health(): EndpointHealth {
    return this.pool.health;
  }

  /** Request counters (calls, retries, failures by kind) and replica state, for status displays. */
  inFlightLimits(): { url: string; limit: number }[] {
    return this.pool.stats().replicas.map(({ url, limit }) => ({ url, limit }));
  }

  stats(): HttpStats {
    return this.pool.stats();
  }

  async close(): Promise<void> {
    this.pool.close();
  }

  /** `tokenizeOne` for every non-empty text, concurrently under the pool's limits ('' is []). */
  protected tokenizeEach(
    texts: string[],
    tokenizeOne: (text: string, signal: AbortSignal) => Promise<number[]>,
    signal?: AbortSignal,
  ): Promise<number[][]> {
    return runAll(
      texts.length,
      async (i, sig) => {
        const text = texts[i] as string;
        return text === '' ? [] : tokenizeOne(text, sig);
      },
      signal,
    );
  }
}

/** The request budget of a backend that packs several sequences into one request. */
export interface BatchBudget {
  /** Upper bound on the summed length of the sequences in one request. */
  maxTokensPerRequest: number;
  /** Upper bound on prompts per request. */
  maxPromptsPerRequest: number;
}

/** An {@link HttpScorer} whose server takes token ids, many sequences per request. */
export abstract class BatchingHttpScorer extends HttpScorer {
  protected constructor(
    pool: HttpEndpointPool,
    /** The served model, for messages about sequences it cannot take. */
    readonly servedModel: string,
    private readonly budget: BatchBudget,
  ) {
    super(pool);
  }

  /** Scores `sequences` in batches under the budget; see {@link batchedLogprobs}. */
  protected scoreInBatches(sequences: number[][], request: BatchRequest, signal?: AbortSignal, needFrom?: readonly number[]): Promise<Float64Array[]> {
    const limits = { maxContext: this.maxContext, modelName: this.servedModel, ...this.budget };
    return batchedLogprobs(this.pool, sequences, limits, request, signal, needFrom);
  }
}

/**
 * Opens the pool and runs `discover` (what the servers serve); closes the pool again when that
 * fails, so a scorer that could not connect leaves nothing behind.
 */
export async function connectPool<T>(
  opts: HttpPoolOptions,
  discover: (pool: HttpEndpointPool) => Promise<T>,
): Promise<{ pool: HttpEndpointPool; found: T }> {
  const pool = new HttpEndpointPool(opts);
  try {
    return { pool, found: await discover(pool) };
  } catch (e) {
    pool.close();
    throw e;
  }
}

/** Throws PermanentScorerError naming the first option that is set but not a positive integer. */
export function checkPositiveIntegers(options: Record<string, number | undefined>): void {
  for (const [name, v] of Object.entries(options)) {
    if (v !== undefined && (!Number.isInteger(v) || v < 1)) throw new PermanentScorerError(`${name} must be a positive integer`);
  }
}
