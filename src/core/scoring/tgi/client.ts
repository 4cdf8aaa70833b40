/**
 * `TgiScorer`: a {@link TokenScorer} backed by Hugging Face text-generation-inference servers
 * (replicas), using `POST /generate` with `decoder_input_details: true` (prefill log-probs; the
 * server must be launched with `--enable-prefill-logprobs`). See `protocol.ts` for the shapes.
 *
 * THE BOUNDARY CONSEQUENCE. TGI accepts text, not token ids, and tokenizes it itself (always with
 * special tokens). Sift's contract hands `logprobs` token-id sequences built by concatenating the
 * ids of separately tokenized pieces (BOS + context + target, METHODS.md §1.4), so this backend:
 *  1. remembers, for every text it tokenized, the ids and byte offsets `/tokenize` returned;
 *  2. turns a sequence back into text by splitting it into remembered pieces (a sequence that
 *     contains ids this scorer did not produce is refused with PermanentScorerError);
 *  3. sends the joined text and compares the server's prefill ids with the requested ids.
 *     Equal (the usual case: tokenizers rarely merge across a piece boundary) → exact log-probs.
 *     Different (a token merged across the context/target boundary, e.g. "...Respon" + "se") →
 *     with `onTokenMismatch: 'realign'` (default) each server token's log-prob is given to the
 *     LAST requested token its byte span overlaps (requested tokens that get none score 0), so the
 *     sum over any span whose edges both tokenizations share is exact, and a merged token's
 *     log-prob counts for the target; with `'error'` the call fails. Either way the mismatch is
 *     counted (`stats().tokenMismatches`) and reported through `onTokenMismatch` callbacks.
 *  A sequence without BOS is still scored by TGI with BOS in front (the server always adds it).
 *  Use vLLM or SGLang when exact per-token scores of arbitrary id sequences matter.
 *
 * `modelId` is `tgi:<model_id>[@<first 12 of model_sha>][+<adapter>]` from `/info`.
 */
import { PermanentScorerError } from '../types';
import { MalformedResponseError } from '../../net/errors';
import type { HttpEndpointPool, HttpPoolOptions, HttpStats } from '../http/pool';
import { runAll } from '../http/runAll';
import { finishLogprobs, isSequenceRefusal, prepareSequences } from '../http/batching';
import { onEveryReplica } from '../http/discovery';
import { connectPool, HttpScorer } from '../http/scorer';
import { PieceMemory, type Piece } from './pieces';
import { buildGenerateRequest, parseInfo, parsePrefill, parseTokenizeResponse, type TgiInfo, type TgiSimpleToken } from './protocol';

export interface TgiMismatch {
  /** Index of the sequence in the `logprobs` call. */
  sequence: number;
  requestedTokens: number;
  serverTokens: number;
}

export interface TgiScorerOptions extends HttpPoolOptions {
  /** LoRA adapter (`parameters.adapter_id`). */
  adapterId?: string;
  /** What to do when the server tokenizes a joined text differently (see the header). */
  onTokenMismatch?: 'realign' | 'error';
  /** Called for every sequence whose server tokenization differed from the requested ids. */
  onMismatch?: (m: TgiMismatch) => void;
  /** Remembered tokenized texts (two generations of this many; default 100000). */
  maxRememberedTexts?: number;
}

export class TgiScorer extends HttpScorer {
  readonly modelId: string;
  // TGI's /chat_tokenize is not used yet: its pieces would need the same span checks as vLLM's ids.
  readonly chatUnavailable = "the tgi backend does not apply the server's chat template yet";
  readonly bosId: number | undefined;
  readonly eosId: number | undefined;
  readonly maxContext: number;
  readonly info: TgiInfo;
  private readonly adapterId: string | undefined;
  private readonly mismatchPolicy: 'realign' | 'error';
  private readonly onMismatch: ((m: TgiMismatch) => void) | undefined;
  private readonly memory: PieceMemory;
  private mismatches = 0;

  private constructor(pool: HttpEndpointPool, opts: TgiScorerOptions, info: TgiInfo, bosId: number | undefined, eosId: number | undefined) {
    super(pool);
    this.info = info;
    this.adapterId = opts.adapterId;
    this.mismatchPolicy = opts.onTokenMismatch ?? 'realign';
    this.onMismatch = opts.onMismatch;
    this.memory = new PieceMemory(opts.maxRememberedTexts ?? 100_000);
    const sha = info.model_sha ? `@${info.model_sha.slice(0, 12)}` : '';
    this.modelId = `tgi:${info.model_id}${sha}${opts.adapterId ? `+${opts.adapterId}` : ''}`;
    this.bosId = bosId;
    this.eosId = eosId;
    this.maxContext = Math.min(info.max_input_tokens, info.max_total_tokens - 1);
  }

  static async connect(opts: TgiScorerOptions, signal?: AbortSignal): Promise<TgiScorer> {
    if (opts.onTokenMismatch !== undefined && opts.onTokenMismatch !== 'realign' && opts.onTokenMismatch !== 'error') {
      throw new PermanentScorerError(`unknown onTokenMismatch ${JSON.stringify(opts.onTokenMismatch)}`);
    }
    // 424 is TGI's "generation failed" (e.g. out of memory): worth retrying.
    const poolOptions = { ...opts, extraRetryableStatuses: [424, ...(opts.extraRetryableStatuses ?? [])] };
    const { pool, found } = await connectPool(poolOptions, (p) => discover(p, signal));
    return new TgiScorer(pool, opts, found.info, found.bosId, found.eosId);
  }

  /** Drop the special tokens the server adds around a text (leading BOS, trailing EOS). */
  private stripSpecial(tokens: TgiSimpleToken[]): TgiSimpleToken[] {
    let s = 0;
    let e = tokens.length;
    if (this.bosId !== undefined && tokens[0]?.id === this.bosId && tokens[0].start === tokens[0].stop) s = 1;
    const last = tokens[e - 1];
    if (this.eosId !== undefined && e > s && last?.id === this.eosId && last.start === last.stop) e--;
    return tokens.slice(s, e);
  }

  tokenize(texts: string[], signal?: AbortSignal): Promise<number[][]> {
    return this.tokenizeEach(
      texts,
      async (text, sig) => {
        const tokens = await this.pool.request({
          method: 'POST',
          path: '/tokenize',
          body: { inputs: text },
          parse: parseTokenizeResponse,
          what: 'tokenize',
          light: true,
          signal: sig,
        });
        const body = this.stripSpecial(tokens);
        this.memory.add({ ids: body.map((t) => t.id), text, starts: body.map((t) => t.start), stops: body.map((t) => t.stop) });
        return body.map((t) => t.id);
      },
      signal,
    );
  }

  async logprobs(sequences: number[][], signal?: AbortSignal): Promise<Float64Array[]> {
    const { results, toSend, failures } = prepareSequences(sequences, this.maxContext, this.info.model_id);
    // Turn every sequence back into text before sending anything.
    const plans = toSend.map((i) => {
      const ids = sequences[i] as number[];
      const hasBos = this.bosId !== undefined && ids[0] === this.bosId;
      const pieces = this.memory.segment(ids, hasBos ? 1 : 0);
      if (pieces === undefined) {
        throw new PermanentScorerError(
          `sequence ${i}: TGI scores text, and this sequence contains token ids that were not produced by this scorer's tokenize()`,
        );
      }
      return { i, ids, hasBos, pieces, text: pieces.map((p) => p.text).join('') };
    });
    // TGI takes one text per request, so a refused sequence (422 validation error) is already
    // alone: it gets the error and every other sequence is still scored.
    await runAll(
      plans.length,
      async (k, sig) => {
        const plan = plans[k] as (typeof plans)[number];
        try {
          await this.scoreOne(plan, results, sig);
        } catch (e) {
          if (!isSequenceRefusal(e)) throw e;
          failures.set(plan.i, e as Error);
        }
      },
      signal,
    );
    return finishLogprobs(results, failures);
  }

  private async scoreOne(
    plan: { i: number; ids: number[]; hasBos: boolean; pieces: Piece[]; text: string },
    results: (Float64Array | undefined)[],
    sig: AbortSignal,
  ): Promise<void> {
    const generate = (expectIds?: readonly number[]) =>
      this.pool.request({
        method: 'POST',
        path: '/generate',
        body: buildGenerateRequest(plan.text, this.adapterId),
        parse: (b) => {
          const p = parsePrefill(b);
          if (p.logprobs.slice(1).some((x) => x === null)) {
            throw new MalformedResponseError('prefill has a null log-prob after the first token (a cached prefix?)');
          }
          if (expectIds && (p.ids.length !== expectIds.length || p.ids.some((id, j) => id !== expectIds[j]))) {
            throw new MalformedResponseError('prefill token ids differ from /tokenize of the same text');
          }
          return p;
        },
        what: `generate (${plan.ids.length} tokens)`,
        signal: sig,
      });
    let prefill = await generate();
    const exact = this.exactLogprobs(plan, prefill);
    if (exact) {
      results[plan.i] = exact;
      return;
    }
    // The server's tokens differ from ours: a boundary merge, or a corrupt answer. /tokenize of
    // the same text tells which (and gives the byte spans to realign with).
    const serverTokens = await this.pool.request({
      method: 'POST',
      path: '/tokenize',
      body: { inputs: plan.text },
      parse: parseTokenizeResponse,
      what: 'tokenize (joined text)',
      light: true,
      signal: sig,
    });
    const serverIds = serverTokens.map((t) => t.id);
    if (serverIds.length !== prefill.ids.length || serverIds.some((id, j) => id !== prefill.ids[j])) {
      prefill = await generate(serverIds); // the first answer was inconsistent: ask again, validated
      const again = this.exactLogprobs(plan, prefill);
      if (again) {
        results[plan.i] = again;
        return;
      }
    }
    results[plan.i] = this.realign(plan, prefill, serverTokens);
  }

  /** Log-probs when the server tokenized the text exactly into the requested ids; else undefined. */
  private exactLogprobs(
    plan: { ids: number[]; hasBos: boolean },
    prefill: { ids: number[]; logprobs: (number | null)[] },
  ): Float64Array | undefined {
    const { ids, hasBos } = plan;
    let s = 0;
    let e = prefill.ids.length;
    if (this.bosId !== undefined && prefill.ids[0] === this.bosId) s = 1;
    if (this.eosId !== undefined && e > s && prefill.ids[e - 1] === this.eosId && ids[ids.length - 1] !== this.eosId) e--;
    const ours = ids.slice(hasBos ? 1 : 0);
    if (e - s !== ours.length || !ours.every((id, k) => prefill.ids[s + k] === id)) return undefined;
    const out = new Float64Array(ids.length - 1);
    // our position j (>= 1) is server position j + shift
    const shift = hasBos ? 0 : s;
    for (let j = 1; j < ids.length; j++) out[j - 1] = prefill.logprobs[j + shift] as number;
    return out;
  }

  /** See the header: each server token's log-prob goes to the last requested token it overlaps. */
  private realign(
    plan: { i: number; ids: number[]; hasBos: boolean; pieces: Piece[] },
    prefill: { ids: number[]; logprobs: (number | null)[] },
    serverTokens: TgiSimpleToken[],
  ): Float64Array {
    const { ids, hasBos } = plan;
    const requested = ids.length - (hasBos ? 1 : 0);
    const serverBody = serverTokens.filter((t) => t.start !== t.stop).length;
    const m: TgiMismatch = { sequence: plan.i, requestedTokens: requested, serverTokens: serverBody };
    this.mismatches++;
    try {
      this.onMismatch?.(m);
    } catch {
      // a reporting hook must not break scoring
    }
    if (this.mismatchPolicy === 'error') {
      throw new PermanentScorerError(
        `sequence ${plan.i}: TGI tokenized the joined text into ${m.serverTokens} tokens where ${m.requestedTokens} were requested (a token merged across a piece boundary)`,
      );
    }
    if (serverBody === 0) {
      throw new PermanentScorerError(`sequence ${plan.i}: TGI's /tokenize gave no token offsets, so its tokens cannot be realigned`);
    }
    // Our spans: piece offsets shifted by the byte length of the preceding pieces.
    const ourStarts: number[] = [];
    const ourStops: number[] = [];
    let base = 0;
    for (const p of plan.pieces) {
      p.starts.forEach((st, k) => {
        ourStarts.push(base + st);
        ourStops.push(base + (p.stops[k] as number));
      });
      base += Buffer.byteLength(p.text, 'utf8');
    }
    const out = new Float64Array(ids.length - 1);
    const offset = hasBos ? 1 : 0; // index in `ids` of our first body token
    for (let k = 1; k < serverTokens.length; k++) {
      const t = serverTokens[k] as TgiSimpleToken;
      if (t.start === t.stop) continue; // special tokens carry no text
      let target = -1;
      for (let q = 0; q < ourStarts.length; q++) {
        if ((ourStarts[q] as number) < t.stop && (ourStops[q] as number) > t.start) target = q;
      }
      const j = target + offset; // position in ids
      if (target >= 0 && j >= 1) out[j - 1] = (out[j - 1] as number) + (prefill.logprobs[k] as number);
    }
    return out;
  }

  override stats(): HttpStats & { tokenMismatches: number } {
    return { ...this.pool.stats(), tokenMismatches: this.mismatches };
  }
}

/** `/info` on every replica (all must serve the same weights), then BOS/EOS from two probes. */
async function discover(
  pool: HttpEndpointPool,
  signal: AbortSignal | undefined,
): Promise<{ info: TgiInfo; bosId: number | undefined; eosId: number | undefined }> {
  const ok = await onEveryReplica(
    pool,
    (i) => pool.request({ method: 'GET', path: '/info', parse: parseInfo, what: 'info', signal, urlIndex: i }),
    signal,
  );
  const info = (ok[0] as { value: TgiInfo }).value;
  for (const { i, value: other } of ok) {
    if (other.model_id !== info.model_id || (other.model_sha ?? null) !== (info.model_sha ?? null)) {
      throw new PermanentScorerError(`${pool.displayUrl(i)} serves ${other.model_id}, not ${info.model_id}`);
    }
  }
  // BOS/EOS: zero-width tokens the tokenizer puts at the start/end of any text.
  const tok = (text: string) =>
    pool.request({ method: 'POST', path: '/tokenize', body: { inputs: text }, parse: parseTokenizeResponse, what: 'tokenize (probe)', signal });
  const [a, b] = await Promise.all([tok('Hello'), tok('xyz')]);
  const edge = (x: TgiSimpleToken | undefined, y: TgiSimpleToken | undefined) =>
    x !== undefined && y !== undefined && x.id === y.id && x.start === x.stop && y.start === y.stop ? x.id : undefined;
  const bosId = edge(a[0], b[0]);
  const eosId = a.length > 1 ? edge(a[a.length - 1], b[b.length - 1]) : undefined;
  return { info, bosId, eosId: eosId === bosId ? undefined : eosId };
}
