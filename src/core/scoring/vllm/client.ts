/**
 * `VllmScorer`: a {@link TokenScorer} backed by one or more vLLM OpenAI-compatible servers
 * (data-parallel replicas of the same model). See `protocol.ts` for the exact wire shapes.
 *
 * - logprobs(): batches sequences into `POST /v1/completions` requests whose prompt is a list of
 *   token-id lists (total tokens <= maxTokensPerRequest, at most maxPromptsPerRequest prompts; a
 *   longer sequence goes alone), sends them concurrently within the per-replica in-flight limit,
 *   validates that every choice covers its whole prompt, and reassembles results in input order.
 * - tokenize(): `add_special_tokens: false`, under the same limits. vLLM's /tokenize takes one
 *   prompt (vllm/entrypoints/serve/tokenize/protocol.py: `class TokenizeCompletionRequest(
 *   OpenAIBaseModel): model: str | None = None; prompt: str`), and an HTTP call per text is most of
 *   what scoring costs the client (and a Python API server). When the server has
 *   `/v1/completions/render` (see protocol.ts) and, at connect, tokenizes a probe there exactly as
 *   /tokenize does, texts go there in batches ({@link RENDER_TEXTS_PER_REQUEST}); a text that
 *   might pass the renderer's length limit, or a batch it refuses, goes through /tokenize one
 *   text at a time, so the ids are /tokenize's either way. The texts of a chunk are tokenized once
 *   each (scoreRecords dedupes them); SGLang's /v1/tokenize takes a list (sglang/client.ts).
 * - Retries, back-off, Retry-After, timeouts, cancellation and replica selection: `../http/pool.ts`;
 *   batching, refusal splitting, identity and close: `../http/scorer.ts`.
 *
 * Model identity: `modelId` is `vllm:<served model name>`. The score store keys scores by it, so
 * two servers serving DIFFERENT weights under the SAME name share cached scores: give them
 * different `--served-model-name`s, or clear the cache when you change the weights behind a name.
 */
import { DEFAULT_VLLM_MODE } from '../backends';
import { PermanentScorerError } from '../types';
import type { HttpEndpointPool, HttpEvent, HttpPoolOptions, HttpStats } from '../http/pool';
import { planBatches } from '../http/batching';
import { detectBos, discoverServedModel } from '../http/discovery';
import { BatchingHttpScorer, checkPositiveIntegers, connectPool } from '../http/scorer';
import type { ChatRenderer } from '../chat/types';
import { VllmChatRenderer } from './chatRenderer';
import { scanPromptLogprobs } from './promptLogprobsScan';
import { runAll } from '../http/runAll';
import { sameIds } from '../sequenceSet';
import {
  buildRenderRequest,
  buildScoringRequest,
  buildTokenizeRequest,
  parseEchoLogprobs,
  parseModelList,
  parsePromptLogprobs,
  parseRenderResponse,
  parseTokenizeResponse,
  type VllmMode,
} from './protocol';

export interface VllmScorerOptions extends HttpPoolOptions {
  /** Model name to request (`--served-model-name`, or a LoRA adapter name); default: the first id of GET /v1/models. */
  servedModel?: string;
  /**
   * `prompt_logprobs` (default, {@link DEFAULT_VLLM_MODE}): `prompt_logprobs: 0, max_tokens: 1`,
   * read `choices[i].prompt_logprobs`.
   * `echo`: `echo: true, max_tokens: 0, logprobs: 0`, read `logprobs.token_logprobs` (what
   * `sift serve` and servers without `prompt_logprobs` speak).
   * Either way a sequence may use at most max_model_len - 1 tokens.
   */
  mode?: VllmMode;
  /** Upper bound on the summed length of the sequences in one request (default 16384). */
  maxTokensPerRequest?: number;
  /** Upper bound on prompts per request (default 1024 = vLLM's VLLM_MAX_COMPLETION_PROMPTS default). */
  maxPromptsPerRequest?: number;
  /** Text used to discover the BOS id at connect (default "Hello"). */
  bosProbeText?: string;
  /** Probe the server's chat template at connect (for the `chat` template); see chatRenderer.ts. */
  chatTemplate?: boolean;
}

export interface VllmServerInfo {
  servedModel: string;
  maxModelLen: number;
  bosId: number | undefined;
  /** The server tokenizes lists of texts at /v1/completions/render, as /tokenize does. */
  render: boolean;
}

const DEFAULT_MAX_TOKENS_PER_REQUEST = 16384;
const DEFAULT_MAX_PROMPTS_PER_REQUEST = 1024;
/**
 * Texts per /v1/completions/render call, and their summed UTF-16 length at most (half of what
 * `sift serve` takes in one request: a modest body for any server).
 */
export const RENDER_TEXTS_PER_REQUEST = 256;
const RENDER_CHARS_PER_REQUEST = 500_000;

export class VllmScorer extends BatchingHttpScorer {
  readonly modelId: string;
  readonly bosId: number | undefined;
  readonly maxContext: number;
  /** max_model_len reported by the server. */
  readonly maxModelLen: number;
  readonly mode: VllmMode;
  chat?: ChatRenderer;
  chatUnavailable?: string;
  /** Whether texts are tokenized in batches at /v1/completions/render (see tokenize()). */
  renderTexts: boolean;
  /**
   * The longest text, in UTF-8 bytes, sent to the renderer: its limit is max_model_len - 1 tokens
   * (max_tokens 1), and a text of b bytes has at most b + 1 tokens (each token covers at least one
   * byte; a SentencePiece tokenizer may add one leading word-start piece).
   */
  private readonly maxRenderBytes: number;

  private constructor(pool: HttpEndpointPool, opts: VllmScorerOptions, info: VllmServerInfo) {
    super(pool, info.servedModel, {
      maxTokensPerRequest: opts.maxTokensPerRequest ?? DEFAULT_MAX_TOKENS_PER_REQUEST,
      maxPromptsPerRequest: opts.maxPromptsPerRequest ?? DEFAULT_MAX_PROMPTS_PER_REQUEST,
    });
    this.mode = opts.mode ?? DEFAULT_VLLM_MODE;
    this.modelId = `vllm:${info.servedModel}`;
    this.bosId = info.bosId;
    this.maxModelLen = info.maxModelLen;
    // Both modes run one generated token (see DEFAULT_VLLM_MODE), which must fit in the context.
    this.maxContext = info.maxModelLen - 1;
    this.renderTexts = info.render;
    this.maxRenderBytes = info.maxModelLen - 2;
  }

  /**
   * Connect: list the models of every replica (each must serve the chosen model; a replica that
   * cannot be reached is tolerated if another one answers), read max_model_len, discover the BOS
   * id. Rejects with PermanentScorerError for configuration problems and RetriesExhaustedError when
   * no replica answers.
   */
  static async connect(opts: VllmScorerOptions, signal?: AbortSignal): Promise<VllmScorer> {
    validateOptions(opts);
    const { pool, found } = await connectPool(opts, (p) => discover(p, opts, signal));
    const scorer = new VllmScorer(pool, opts, found);
    if (opts.chatTemplate) {
      const chat = await VllmChatRenderer.connect(pool, found.servedModel, signal);
      if ('unavailable' in chat) scorer.chatUnavailable = chat.unavailable;
      else scorer.chat = chat;
    } else {
      scorer.chatUnavailable = 'the chat template was not probed on this connection';
    }
    return scorer;
  }

  tokenizeRoute(): string {
    return this.renderTexts ? RENDER_PATH : '/tokenize';
  }

  async tokenize(texts: string[], signal?: AbortSignal): Promise<number[][]> {
    if (!this.renderTexts) return this.tokenizeEach(texts, (text, sig) => this.tokenizeOne(text, sig), signal);
    const results: number[][] = texts.map(() => []);
    const batched: number[] = [];
    const alone: number[] = [];
    texts.forEach((text, i) => {
      if (text === '') return;
      (Buffer.byteLength(text, 'utf8') <= this.maxRenderBytes ? batched : alone).push(i);
    });
    const batches = planBatches(
      batched.map((i) => (texts[i] as string).length),
      RENDER_CHARS_PER_REQUEST,
      RENDER_TEXTS_PER_REQUEST,
    ).map((b) => b.map((k) => batched[k] as number));
    await runAll(
      batches.length + alone.length,
      async (k, sig) => {
        if (k >= batches.length) {
          const i = alone[k - batches.length] as number;
          results[i] = await this.tokenizeOne(texts[i] as string, sig);
          return;
        }
        const idx = batches[k] as number[];
        const lists = await this.renderBatch(idx.map((i) => texts[i] as string), sig);
        idx.forEach((i, j) => {
          results[i] = lists[j] as number[];
        });
      },
      signal,
    );
    return results;
  }

  /**
   * One batch at /v1/completions/render. A refusal (a text over the length limit after all, one
   * that tokenizes to nothing, a replica without the route) sends the batch through /tokenize.
   */
  private async renderBatch(batch: string[], signal: AbortSignal): Promise<number[][]> {
    try {
      return await this.pool.request({
        method: 'POST',
        path: RENDER_PATH,
        body: buildRenderRequest(this.servedModel, batch),
        parse: (body) => parseRenderResponse(body, batch.length),
        what: `render (${batch.length} texts)`,
        light: true,
        refusalHandled: true,
        signal,
      });
    } catch (e) {
      if (!(e instanceof PermanentScorerError)) throw e;
      // A replica without the route: the others may have it, but a batch there would wait twice.
      if ((e as PermanentScorerError & { status?: number }).status === 404) this.renderTexts = false;
      return this.tokenizeEach(batch, (text, sig) => this.tokenizeOne(text, sig), signal);
    }
  }

  private async tokenizeOne(text: string, signal: AbortSignal): Promise<number[]> {
    const r = await this.pool.request({
      method: 'POST',
      path: '/tokenize',
      body: buildTokenizeRequest(this.servedModel, text, false),
      parse: parseTokenizeResponse,
      what: 'tokenize',
      light: true,
      signal,
    });
    return r.tokens;
  }

  /** `needFrom`: the prompt_logprobs reader leaves the log-probs before it unconverted (NaN). */
  logprobs(sequences: number[][], signal?: AbortSignal, needFrom?: number[]): Promise<Float64Array[]> {
    return this.scoreInBatches(
      sequences,
      {
        path: '/v1/completions',
        body: (seqs) => buildScoringRequest(this.servedModel, seqs, this.mode),
        parse: this.mode === 'echo' ? parseEchoLogprobs : parsePromptLogprobs,
        ...(this.mode === 'echo' ? {} : { parseBytes: scanPromptLogprobs }),
        what: 'completions',
      },
      signal,
      needFrom,
    );
  }
}

function validateOptions(opts: VllmScorerOptions): void {
  if (opts.mode !== undefined && opts.mode !== 'echo' && opts.mode !== 'prompt_logprobs') {
    throw new PermanentScorerError(`unknown vLLM scoring mode ${JSON.stringify(opts.mode)}`);
  }
  checkPositiveIntegers({ maxTokensPerRequest: opts.maxTokensPerRequest, maxPromptsPerRequest: opts.maxPromptsPerRequest });
}

async function discover(pool: HttpEndpointPool, opts: VllmScorerOptions, signal?: AbortSignal): Promise<VllmServerInfo> {
  // 1. /v1/models on every replica.
  const found = await discoverServedModel(pool, parseModelList, opts.servedModel, signal);
  const servedModel = found.servedModel;
  let maxModelLen = found.maxModelLen;

  // 2. BOS: tokenize a probe with and without special tokens; BOS is the extra leading token.
  // (Tokenizing '' would also work for most models, but misreads tokenizers that append an EOS.)
  const probe = opts.bosProbeText ?? 'Hello';
  const tok = (special: boolean) =>
    pool.request({
      method: 'POST',
      path: '/tokenize',
      body: buildTokenizeRequest(servedModel, probe, special),
      parse: parseTokenizeResponse,
      what: 'tokenize (BOS probe)',
      signal,
    });
  const [withSpecial, plain] = await Promise.all([tok(true), tok(false)]);
  const bosId = detectBos(withSpecial.tokens, plain.tokens);
  if (maxModelLen === 0) maxModelLen = withSpecial.max_model_len;
  if (maxModelLen <= 1) {
    throw new PermanentScorerError(`could not read max_model_len of ${JSON.stringify(servedModel)} from ${pool.displayUrl(0)}`);
  }

  // 3. Batched tokenizing: only where the renderer gives the probe's ids exactly as /tokenize did.
  const rendered = await pool.tryOnce({
    method: 'POST',
    path: RENDER_PATH,
    body: buildRenderRequest(servedModel, [probe, RENDER_PROBE_TEXT]),
    parse: (body) => parseRenderResponse(body, 2),
    what: 'render (probe)',
    ...(signal ? { signal } : {}),
  });
  let render = false;
  if (rendered !== undefined && sameIds(rendered[0] as number[], plain.tokens)) {
    const other = await pool.request({
      method: 'POST',
      path: '/tokenize',
      body: buildTokenizeRequest(servedModel, RENDER_PROBE_TEXT, false),
      parse: parseTokenizeResponse,
      what: 'tokenize (render probe)',
      signal,
    });
    render = sameIds(rendered[1] as number[], other.tokens);
  }
  return { servedModel, maxModelLen, bosId, render };
}

const RENDER_PATH = '/v1/completions/render';
/** Leading space, accents, a tab and newline, CJK and an emoji: where two tokenizing paths would part. */
const RENDER_PROBE_TEXT = ' Naïve café:\n\tnumber 12345 日本語 🙂 done.';


export { planBatches, detectBos };
export type { HttpEvent, HttpStats };
