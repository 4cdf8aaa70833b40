/**
 * `SglangScorer`: a {@link TokenScorer} backed by one or more SGLang servers (data-parallel
 * replicas), using SGLang's native `POST /generate` with token ids, `return_logprob`,
 * `logprob_start_len: 0` and `max_new_tokens: 0` (prefill only). See `protocol.ts` for the shapes.
 *
 * - logprobs(): batches of token-id lists (total tokens <= maxTokensPerRequest, at most
 *   maxPromptsPerRequest prompts), checked position by position against the ids we sent.
 * - tokenize(): `POST /v1/tokenize` with a list of texts per request, `add_special_tokens: false`.
 * - A served LoRA adapter (a `/v1/models` card with a parent) is selected with `lora_path`.
 * - maxContext is context_len - 1: SGLang refuses a prompt that fills the whole context.
 * - A prompt the server runs with another length than the one sent (`--allow-auto-truncate`,
 *   speculative decoding) is a server setting, reported once: see logprobs().
 * - Retries, back-off, timeouts, cancellation, replicas: `../http/pool.ts`; batching, refusal
 *   splitting, identity and close: `../http/scorer.ts`.
 *
 * `modelId` is `sglang:<served model name>`; as with vLLM, different weights served under the
 * same name share cached scores unless the cache is cleared.
 */
import { PermanentScorerError } from '../types';
import type { HttpEndpointPool, HttpPoolOptions } from '../http/pool';
import { runAll } from '../http/runAll';
import { planBatches } from '../http/batching';
import { detectBos, discoverServedModel } from '../http/discovery';
import { BatchingHttpScorer, checkPositiveIntegers, connectPool } from '../http/scorer';
import { parseModelList } from '../vllm/protocol';
import { buildGenerateRequest, buildTokenizeRequest, parseGenerateLogprobs, parseTokenizeBatch } from './protocol';

export interface SglangScorerOptions extends HttpPoolOptions {
  /** Served model or LoRA adapter name (default: the first id of GET /v1/models). */
  servedModel?: string;
  /** Upper bound on the summed length of the sequences in one request (default 16384). */
  maxTokensPerRequest?: number;
  /** Upper bound on prompts per /generate request (default 256). */
  maxPromptsPerRequest?: number;
  /** Upper bound on texts per /v1/tokenize request (default 256). */
  maxTextsPerTokenizeRequest?: number;
  /** Text used to discover the BOS id (default "Hello"). */
  bosProbeText?: string;
}

interface SglangServerInfo {
  servedModel: string;
  loraPath: string | undefined;
  contextLen: number;
  bosId: number | undefined;
}

export class SglangScorer extends BatchingHttpScorer {
  readonly modelId: string;
  /** SGLang's `/tokenize` takes a `prompt` only (python/sglang/srt/entrypoints/openai/protocol.py). */
  readonly chatUnavailable = "the sglang backend cannot apply the server's chat template (its /tokenize takes no messages)";
  readonly bosId: number | undefined;
  readonly maxContext: number;
  /** LoRA adapter sent as `lora_path`, when the served model is an adapter. */
  readonly loraPath: string | undefined;
  private readonly maxTextsPerTokenizeRequest: number;
  /** The server-setting problem found by an earlier call, if any (see logprobs). */
  private settingProblem: PermanentScorerError | undefined;

  private constructor(pool: HttpEndpointPool, opts: SglangScorerOptions, info: SglangServerInfo) {
    super(pool, info.servedModel, {
      maxTokensPerRequest: opts.maxTokensPerRequest ?? 16384,
      maxPromptsPerRequest: opts.maxPromptsPerRequest ?? 256,
    });
    this.loraPath = info.loraPath;
    this.modelId = `sglang:${info.servedModel}`;
    this.bosId = info.bosId;
    this.maxContext = info.contextLen - 1;
    this.maxTextsPerTokenizeRequest = opts.maxTextsPerTokenizeRequest ?? 256;
  }

  static async connect(opts: SglangScorerOptions, signal?: AbortSignal): Promise<SglangScorer> {
    checkPositiveIntegers({
      maxTokensPerRequest: opts.maxTokensPerRequest,
      maxPromptsPerRequest: opts.maxPromptsPerRequest,
      maxTextsPerTokenizeRequest: opts.maxTextsPerTokenizeRequest,
    });
    const { pool, found } = await connectPool(opts, (p) => discover(p, opts, signal));
    return new SglangScorer(pool, opts, found);
  }

  async tokenize(texts: string[], signal?: AbortSignal): Promise<number[][]> {
    const results: number[][] = texts.map(() => []);
    const nonEmpty = texts.flatMap((t, i) => (t === '' ? [] : [i]));
    const batches = planBatches(
      nonEmpty.map(() => 1),
      this.maxTextsPerTokenizeRequest,
      this.maxTextsPerTokenizeRequest,
    ).map((b) => b.map((k) => nonEmpty[k] as number));
    await runAll(
      batches.length,
      async (b, sig) => {
        const idx = batches[b] as number[];
        const out = await this.pool.request({
          method: 'POST',
          path: '/v1/tokenize',
          body: buildTokenizeRequest(this.servedModel, idx.map((i) => texts[i] as string), false),
          parse: (body) => parseTokenizeBatch(body, idx.length),
          what: `tokenize (${idx.length} texts)`,
          light: true,
          signal: sig,
        });
        idx.forEach((i, k) => {
          results[i] = out[k] as number[];
        });
      },
      signal,
    );
    return results;
  }

  /**
   * Scores each sequence; a refused one fails alone (see batchedLogprobs). A server that runs a
   * prompt of another length than the one sent (`--allow-auto-truncate`, speculative decoding's
   * reserved tokens) is a server setting: the first such answer fails the call with a message
   * naming the flag, and every later call fails at once with the same error, without a request,
   * so the problem is reported once instead of once per request and never retried.
   */
  async logprobs(sequences: number[][], signal?: AbortSignal): Promise<Float64Array[]> {
    if (this.settingProblem) throw this.settingProblem;
    try {
      return await this.scoreBatches(sequences, signal);
    } catch (e) {
      const status = (e as PermanentScorerError & { status?: number }).status;
      // A 2xx answer refused for good can only be the length check of parseGenerateLogprobs.
      if (e instanceof PermanentScorerError && status !== undefined && status >= 200 && status < 300) this.settingProblem ??= e;
      throw e;
    }
  }

  private scoreBatches(sequences: number[][], signal?: AbortSignal): Promise<Float64Array[]> {
    return this.scoreInBatches(
      sequences,
      { path: '/generate', body: (seqs) => buildGenerateRequest(seqs, this.loraPath), parse: parseGenerateLogprobs, what: 'generate' },
      signal,
    );
  }
}

async function discover(pool: HttpEndpointPool, opts: SglangScorerOptions, signal?: AbortSignal): Promise<SglangServerInfo> {
  const found = await discoverServedModel(pool, parseModelList, opts.servedModel, signal);
  if (found.maxModelLen <= 1) {
    throw new PermanentScorerError(`could not read the context length of ${JSON.stringify(found.servedModel)} from /v1/models`);
  }
  const probe = opts.bosProbeText ?? 'Hello';
  const tok = (special: boolean) =>
    pool.request({
      method: 'POST',
      path: '/v1/tokenize',
      body: buildTokenizeRequest(found.servedModel, [probe], special),
      parse: (b) => parseTokenizeBatch(b, 1)[0] as number[],
      what: 'tokenize (BOS probe)',
      signal,
    });
  const [withSpecial, plain] = await Promise.all([tok(true), tok(false)]);
  return {
    servedModel: found.servedModel,
    loraPath: found.card.parent ? found.servedModel : undefined,
    contextLen: found.maxModelLen,
    bosId: detectBos(withSpecial, plain),
  };
}
