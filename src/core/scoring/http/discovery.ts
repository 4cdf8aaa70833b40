/**
 * What a scorer learns from the servers when it connects: the served model on every replica, and
 * the BOS id of its tokenizer.
 */
import { PermanentScorerError } from '../types';
import type { HttpEndpointPool } from './pool';

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
 * `request(i)` on every replica at once. Replicas that cannot be reached are tolerated as long as
 * one answers; a permanent error (bad key...) on any replica is thrown; when none answers, the
 * first replica's error is. Resolves with the answers, by replica index.
 */
export async function onEveryReplica<T>(
  pool: HttpEndpointPool,
  request: (urlIndex: number) => Promise<T>,
  signal?: AbortSignal,
): Promise<{ i: number; value: T }[]> {
  const settled = await Promise.allSettled(pool.bases.map((_, i) => request(i)));
  if (signal?.aborted) throw signal.reason;
  for (const r of settled) {
    if (r.status === 'rejected' && r.reason instanceof PermanentScorerError) throw r.reason;
  }
  const ok = settled.flatMap((r, i) => (r.status === 'fulfilled' ? [{ i, value: r.value }] : []));
  if (ok.length === 0) throw (settled[0] as PromiseRejectedResult).reason;
  return ok;
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
  const listings = await onEveryReplica(
    pool,
    (i) => pool.request({ method: 'GET', path: '/v1/models', parse, what: 'list models', signal, urlIndex: i }),
    signal,
  );
  const ok = listings.map(({ i, value }) => ({ i, cards: value.data }));
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

