/**
 * `VllmScorer`: a {@link TokenScorer} backed by one or more vLLM OpenAI-compatible servers
 * (data-parallel replicas of the same model). See `protocol.ts` for the exact wire shapes.
 *
 * - logprobs(): batches sequences into `POST /v1/completions` requests whose prompt is a list of
 *   token-id lists (total tokens <= maxTokensPerRequest, at most maxPromptsPerRequest prompts; a
 *   longer sequence goes alone), sends them concurrently within the per-replica in-flight limit,
 *   validates that every choice covers its whole prompt, and reassembles results in input order.
 * - tokenize(): `POST /tokenize` per text, `add_special_tokens: false`, concurrently under the same
 *   limits. It cannot be batched: vLLM's request takes one prompt
 *   (vllm/entrypoints/serve/tokenize/protocol.py: `class TokenizeCompletionRequest(OpenAIBaseModel):
 *   model: str | None = None; prompt: str`), and the one request that takes a list of prompts,
 *   /v1/completions, would run the model over every text to return its ids. The texts of a chunk
 *   are tokenized once each (scoreRecords dedupes them); SGLang's /v1/tokenize takes a list and is
 *   batched (sglang/client.ts).
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
import {
  buildScoringRequest,
  buildTokenizeRequest,
  parseEchoLogprobs,
  parseModelList,
  parsePromptLogprobs,
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
}

const DEFAULT_MAX_TOKENS_PER_REQUEST = 16384;
const DEFAULT_MAX_PROMPTS_PER_REQUEST = 1024;

export class VllmScorer extends BatchingHttpScorer {
  readonly modelId: string;
  readonly bosId: number | undefined;
  readonly maxContext: number;
  /** max_model_len reported by the server. */
  readonly maxModelLen: number;
  readonly mode: VllmMode;
  chat?: ChatRenderer;
  chatUnavailable?: string;

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

  tokenize(texts: string[], signal?: AbortSignal): Promise<number[][]> {
    return this.tokenizeEach(
      texts,
      async (text, sig) => {
        const r = await this.pool.request({
          method: 'POST',
          path: '/tokenize',
          body: buildTokenizeRequest(this.servedModel, text, false),
          parse: parseTokenizeResponse,
          what: 'tokenize',
          light: true,
          signal: sig,
        });
        return r.tokens;
      },
      signal,
    );
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
  return { servedModel, maxModelLen, bosId };
}

export { planBatches, detectBos };
export type { HttpEvent, HttpStats };
