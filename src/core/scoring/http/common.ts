/**
 * Pieces shared by the HTTP TokenScorers: token-budget batching, BOS detection, input checks and
 * discovery of the served model on every replica through an OpenAI-style `GET /v1/models`.
 */
import { PermanentScorerError } from '../types';
import { runAll, type HttpEndpointPool } from './pool';

/**
 * Split items (given by their token lengths, in order) into consecutive batches whose summed
 * length is <= maxTokens and count <= maxItems. An item longer than maxTokens forms its own batch.
 * Returns indices into `lengths`.
 */
export function planBatches(lengths: readonly number[], maxTokens: number, maxItems: number): number[][] {
  const batches: number[][] = [];
  let cur: number[] = [];
  let curTokens = 0;
  lengths.forEach((len, i) => {
    if (cur.length > 0 && (curTokens + len > maxTokens || cur.length >= maxItems)) {
      batches.push(cur);
      cur = [];
      curTokens = 0;
    }
    cur.push(i);
    curTokens += len;
  });
  if (cur.length > 0) batches.push(cur);
  return batches;
}

/**
 * The BOS id, if tokenizing with special tokens adds exactly one leading token before the plain
 * tokenization (a trailing EOS, as some tokenizers add, is ignored). Tokenizing '' alone would
 * misread a tokenizer that only appends an EOS.
 */
export function detectBos(withSpecial: readonly number[], plain: readonly number[]): number | undefined {
  if (withSpecial.length <= plain.length) return undefined;
  for (let k = 0; k < plain.length; k++) if (withSpecial[k + 1] !== plain[k]) return undefined;
  return withSpecial[0];
}

/**
 * Check the sequences handed to `logprobs` and sort out the trivial ones: results for sequences of
 * length 0 or 1 are empty arrays and need no request. Throws PermanentScorerError for anything
 * that is not a list of token ids or is longer than `maxContext`.
 */
export function prepareSequences(
  sequences: readonly number[][],
  maxContext: number,
  modelName: string,
): { results: Float64Array[]; toSend: number[] } {
  const results: Float64Array[] = new Array(sequences.length);
  const toSend: number[] = [];
  sequences.forEach((ids, i) => {
    if (!Array.isArray(ids) || !ids.every((t) => Number.isInteger(t) && t >= 0)) {
      throw new PermanentScorerError(`sequence ${i} is not a list of token ids`);
    }
    if (ids.length > maxContext) {
      throw new PermanentScorerError(
        `sequence ${i} has ${ids.length} tokens; ${modelName} accepts at most ${maxContext} (truncate before scoring)`,
      );
    }
    if (ids.length <= 1) results[i] = new Float64Array(0);
    else toSend.push(i);
  });
  return { results, toSend };
}

/** The fields of an OpenAI-style model card that discovery needs (vLLM and SGLang both send them). */
export interface ModelCardLike {
  id: string;
  parent?: string | null;
  max_model_len?: number | null;
}

/**
 * `GET /v1/models` on every replica: each replica that answers must serve `servedModel` (default:
 * the first model of the first replica that answers); replicas that cannot be reached are
 * tolerated as long as one answers; a permanent error (bad key...) on any replica is thrown.
 * Returns the model name, its card and the smallest max_model_len any replica reports (0 if none).
 */
export async function discoverServedModel(
  pool: HttpEndpointPool,
  parse: (body: unknown) => { data: ModelCardLike[] },
  servedModel: string | undefined,
  signal?: AbortSignal,
): Promise<{ servedModel: string; card: ModelCardLike; maxModelLen: number }> {
  const listings = await Promise.allSettled(
    pool.bases.map((_, i) => pool.request({ method: 'GET', path: '/v1/models', parse, what: 'list models', signal, urlIndex: i })),
  );
  if (signal?.aborted) throw signal.reason;
  for (const l of listings) {
    if (l.status === 'rejected' && l.reason instanceof PermanentScorerError) throw l.reason;
  }
  const ok = listings.flatMap((l, i) => (l.status === 'fulfilled' ? [{ i, cards: l.value.data }] : []));
  if (ok.length === 0) {
    throw (listings[0] as PromiseRejectedResult).reason;
  }
  const first = ok[0] as { i: number; cards: ModelCardLike[] };
  const name = servedModel ?? first.cards[0]?.id;
  if (name === undefined) throw new PermanentScorerError(`${pool.displayUrl(first.i)} serves no model`);
  let maxModelLen = 0;
  let found: ModelCardLike | undefined;
  for (const { i, cards } of ok) {
    const card = cards.find((c) => c.id === name);
    if (card === undefined) {
      throw new PermanentScorerError(
        `${pool.displayUrl(i)} does not serve model ${JSON.stringify(name)} (it serves ${cards.map((c) => JSON.stringify(c.id)).join(', ') || 'nothing'})`,
      );
    }
    found ??= card;
    // LoRA adapters have no max_model_len of their own; use their base model's.
    const parent = card.parent ? cards.find((c) => c.id === card.parent) : undefined;
    const mml = card.max_model_len ?? parent?.max_model_len ?? cards.find((c) => c.max_model_len)?.max_model_len ?? 0;
    if (mml > 0) maxModelLen = maxModelLen === 0 ? mml : Math.min(maxModelLen, mml);
  }
  return { servedModel: name, card: found as ModelCardLike, maxModelLen };
}

/** How one batch of token-id sequences becomes a request, and its response per-sequence log-probs. */
export interface BatchRequest {
  path: string;
  body: (sequences: number[][]) => unknown;
  parse: (body: unknown, sequences: number[][]) => Float64Array[];
  what: string;
}

/**
 * `TokenScorer.logprobs` for a batching HTTP backend: checks the sequences, packs them into requests
 * under the token and prompt budgets, sends them concurrently through the pool (which bounds the
 * requests in flight per replica and retries), and puts every result back in input order.
 */
export async function batchedLogprobs(
  pool: HttpEndpointPool,
  sequences: number[][],
  limits: { maxContext: number; modelName: string; maxTokensPerRequest: number; maxPromptsPerRequest: number },
  request: BatchRequest,
  signal?: AbortSignal,
): Promise<Float64Array[]> {
  const { results, toSend } = prepareSequences(sequences, limits.maxContext, limits.modelName);
  const batches = planBatches(
    toSend.map((i) => (sequences[i] as number[]).length),
    limits.maxTokensPerRequest,
    limits.maxPromptsPerRequest,
  ).map((b) => b.map((k) => toSend[k] as number));
  await runAll(
    batches.length,
    async (b, sig) => {
      const idx = batches[b] as number[];
      const seqs = idx.map((i) => sequences[i] as number[]);
      const tokens = seqs.reduce((s, q) => s + q.length, 0);
      const out = await pool.request({
        method: 'POST',
        path: request.path,
        body: request.body(seqs),
        parse: (body) => request.parse(body, seqs),
        what: `${request.what} (${seqs.length} prompts, ${tokens} tokens)`,
        signal: sig,
      });
      idx.forEach((i, k) => {
        results[i] = out[k] as Float64Array;
      });
    },
    signal,
  );
  return results;
}
