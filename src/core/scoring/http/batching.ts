/**
 * Scoring token-id sequences over HTTP in batches: checking the sequences, packing them under the
 * token and prompt budgets, and splitting a refused request until the refused sequences are alone.
 */
import { PartialLogprobsError, PermanentScorerError } from '../types';
import { runAll } from './runAll';
import type { HttpEndpointPool } from './pool';

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
 * Check the sequences handed to `logprobs` and sort out the trivial ones: results for sequences of
 * length 0 or 1 are empty arrays and need no request. A sequence longer than `maxContext` is not
 * sent: it gets a PermanentScorerError in `failures` (the others are still scored). Throws
 * PermanentScorerError for anything that is not a list of token ids (a caller bug).
 */
export function prepareSequences(
  sequences: readonly number[][],
  maxContext: number,
  modelName: string,
): { results: (Float64Array | undefined)[]; toSend: number[]; failures: Map<number, Error> } {
  const results: (Float64Array | undefined)[] = new Array(sequences.length);
  const toSend: number[] = [];
  const failures = new Map<number, Error>();
  sequences.forEach((ids, i) => {
    if (!Array.isArray(ids) || !allTokenIds(ids)) {
      throw new PermanentScorerError(`sequence ${i} is not a list of token ids`);
    }
    if (ids.length > maxContext) {
      failures.set(
        i,
        new PermanentScorerError(`sequence ${i} has ${ids.length} tokens; ${modelName} accepts at most ${maxContext} (truncate before scoring)`),
      );
    } else if (ids.length <= 1) results[i] = new Float64Array(0);
    else toSend.push(i);
  });
  return { results, toSend, failures };
}

/**
 * HTTP statuses that say "this request's content is refused" (vLLM's 400 for a prompt longer than
 * the context, TGI's 422 validation errors, 413): when such a request carried several sequences,
 * any one of them may be the cause, so it is split and the parts are retried (see
 * {@link batchedLogprobs}). 401/403/404 (key, model) and 2xx answers that fail validation
 * permanently (a server setting, e.g. SGLang's --allow-auto-truncate) are about the server, not a
 * sequence: splitting cannot help, and they fail the whole call at once.
 */
export const SPLITTABLE_STATUSES: ReadonlySet<number> = new Set([400, 413, 422]);

/** Whether a failed request should be split to find the sequence(s) the server refuses. */
export function isSequenceRefusal(e: unknown): boolean {
  if (!(e instanceof PermanentScorerError)) return false;
  const status = (e as PermanentScorerError & { status?: number }).status;
  return status !== undefined && SPLITTABLE_STATUSES.has(status);
}

/**
 * The end of a `logprobs` call whose sequences may have failed one by one: the results when none
 * did; the error itself when the call had a single sequence to score and it failed (as before
 * per-sequence errors existed); otherwise a {@link PartialLogprobsError} carrying every result.
 */
export function finishLogprobs(results: (Float64Array | undefined)[], failures: Map<number, Error>): Float64Array[] {
  if (failures.size === 0) return results as Float64Array[];
  const scored = results.some((r, i) => r !== undefined && !failures.has(i));
  const distinct = new Set(failures.values());
  if (!scored && distinct.size === 1) throw [...distinct][0] as Error;
  const sorted = new Map([...failures].sort((a, b) => a[0] - b[0]));
  for (const i of sorted.keys()) results[i] = undefined;
  throw new PartialLogprobsError(results, sorted);
}

/** How one batch of token-id sequences becomes a request, and its response per-sequence log-probs. */
export interface BatchRequest {
  path: string;
  body: (sequences: number[][]) => unknown;
  parse: (body: unknown, sequences: number[][]) => Float64Array[];
  /** Reads the body directly when it can (see HttpCall.parseBytes). */
  parseBytes?: (body: Buffer, sequences: number[][], needFrom: number[]) => Float64Array[] | undefined;
  what: string;
}

/**
 * `TokenScorer.logprobs` for a batching HTTP backend: checks the sequences, packs them into requests
 * under the token and prompt budgets, sends them concurrently through the pool (which bounds the
 * requests in flight per replica and retries), and puts every result back in input order.
 *
 * One refused sequence must not fail the others: when a request carrying several sequences gets a
 * permanent refusal ({@link isSequenceRefusal}: 400/413/422), it is split in two and both halves
 * are sent again, recursively, until the refused sequences are alone; only they fail (k refused
 * sequences among n cost about 2k·log2(n/k) extra requests). The call then ends with a
 * {@link PartialLogprobsError} that carries every other result (see {@link finishLogprobs}).
 */
export async function batchedLogprobs(
  pool: HttpEndpointPool,
  sequences: number[][],
  limits: { maxContext: number; modelName: string; maxTokensPerRequest: number; maxPromptsPerRequest: number },
  request: BatchRequest,
  signal?: AbortSignal,
  needFrom?: readonly number[],
): Promise<Float64Array[]> {
  const { results, toSend, failures } = prepareSequences(sequences, limits.maxContext, limits.modelName);
  // Similar lengths together: a request is answered when its longest prompt is done, so a short
  // prompt batched with long ones waits for them, and the replica's next request with it.
  toSend.sort((a, b) => (sequences[a] as number[]).length - (sequences[b] as number[]).length);
  const batches = planBatches(
    toSend.map((i) => (sequences[i] as number[]).length),
    limits.maxTokensPerRequest,
    limits.maxPromptsPerRequest,
  ).map((b) => b.map((k) => toSend[k] as number));
  const send = async (idx: number[], sig: AbortSignal): Promise<void> => {
    const seqs = idx.map((i) => sequences[i] as number[]);
    const tokens = seqs.reduce((s, q) => s + q.length, 0);
    let out: Float64Array[];
    try {
      out = await pool.request({
        method: 'POST',
        path: request.path,
        body: request.body(seqs),
        parse: (body) => request.parse(body, seqs),
        ...(request.parseBytes ? { parseBytes: (body: Buffer) => request.parseBytes!(body, seqs, idx.map((i) => needFrom?.[i] ?? 1)) } : {}),
        cost: tokens,
        what: `${request.what} (${seqs.length} prompts, ${tokens} tokens)`,
        signal: sig,
      });
    } catch (e) {
      if (!isSequenceRefusal(e)) throw e;
      if (idx.length === 1) {
        failures.set(idx[0] as number, e as Error);
        return;
      }
      const mid = Math.ceil(idx.length / 2);
      await Promise.all([send(idx.slice(0, mid), sig), send(idx.slice(mid), sig)]);
      return;
    }
    idx.forEach((i, k) => {
      results[i] = out[k] as Float64Array;
    });
  };
  await runAll(batches.length, (b, sig) => send(batches[b] as number[], sig), signal);
  return finishLogprobs(results, failures);
}

/** Every element a non-negative integer; a plain loop: this runs over every token of every request. */
function allTokenIds(ids: readonly unknown[]): boolean {
  for (let j = 0; j < ids.length; j++) {
    const t = ids[j];
    if (typeof t !== 'number' || !Number.isInteger(t) || t < 0) return false;
  }
  return true;
}
