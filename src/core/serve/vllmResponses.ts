/**
 * Response builders that reproduce vLLM's exact shapes, so that `sift serve` and the test fakes
 * answer like a real vLLM server. The shapes, and where in vLLM's source they come from, are
 * described at the top of `scoring/vllm/protocol.ts`, whose types they fill.
 */
import type {
  CompletionChoice,
  CompletionLogProbs,
  CompletionResponse,
  ErrorResponse,
  LogprobEntry,
  ModelCard,
  ModelList,
  PromptLogprobs,
  TokenizeResponse,
} from '../scoring/vllm/protocol';

/** What a server knows about one scored prompt. */
export interface ScoredPrompt {
  tokenIds: readonly number[];
  /** Text of each token as vLLM shows it (`tokenizer.decode([id])`); same length as tokenIds. */
  tokenTexts: readonly string[];
  /** `lp[j-1] = log p(tokenIds[j] | tokenIds[<j])`, length tokenIds.length - 1 (TokenScorer's layout). */
  logprobs: ArrayLike<number>;
  /** Vocabulary rank of each scored token (1 = argmax), same layout as logprobs; default 1. */
  ranks?: ArrayLike<number>;
  /** Detokenized prompt (echoed as `text`); default: tokenTexts joined. */
  promptText?: string;
  /** The single token the engine generates (vLLM always runs one decode step); default id 0, ''. */
  generated?: { tokenId: number; text: string; logprob: number };
}

export interface CompletionBuildOptions {
  model: string;
  echo: boolean;
  maxTokens: number;
  logprobs: number | null;
  promptLogprobs: number | null;
  id?: string;
  created?: number;
}

const LOGPROB_FLOOR = -9999.0;

function clampLogprob(x: number): number {
  return Math.max(x, LOGPROB_FLOOR);
}

/** Python `len(str)`: code points, not UTF-16 units. */
function pyLen(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

type StepLogprobs = Map<number, LogprobEntry> | null;

/** vLLM's `_create_completion_logprobs` (serving.py). */
function createCompletionLogprobs(
  tokenIds: readonly number[],
  steps: readonly StepLogprobs[],
  numTop: number,
  decode: (id: number) => string,
): CompletionLogProbs {
  const out: CompletionLogProbs = { text_offset: [], token_logprobs: [], tokens: [], top_logprobs: [] };
  let lastLen = 0;
  tokenIds.forEach((id, i) => {
    const step = steps[i] ?? null;
    let token: string;
    if (step === null) {
      token = decode(id);
      out.tokens.push(token);
      out.token_logprobs.push(null);
      out.top_logprobs.push(null);
    } else {
      const entry = step.get(id);
      if (entry === undefined) throw new Error(`no log-prob for token ${id} at position ${i}`);
      token = entry.decoded_token ?? decode(id);
      out.tokens.push(token);
      out.token_logprobs.push(clampLogprob(entry.logprob));
      const top: Record<string, number> = {};
      let k = 0;
      for (const [tid, e] of step) {
        if (numTop >= k) top[e.decoded_token ?? decode(tid)] = clampLogprob(e.logprob);
        k++;
      }
      out.top_logprobs.push(top);
    }
    out.text_offset.push(out.text_offset.length === 0 ? 0 : (out.text_offset[out.text_offset.length - 1] as number) + lastLen);
    lastLen = pyLen(token);
  });
  return out;
}

/**
 * A `/v1/completions` response exactly as vLLM's `request_output_to_completion_response` builds it
 * for these prompts (non-streaming, n = 1). Supports echo with `max_tokens` 0 (logprobs of the
 * prompt only) and generation of one token (`max_tokens` >= 1; exactly one token is produced).
 * Per position, the log-prob dicts hold only the given token (top-k alternatives are not modelled).
 */
export function buildCompletionResponse(opts: CompletionBuildOptions, prompts: readonly ScoredPrompt[]): CompletionResponse {
  const effectivePromptLogprobs = opts.promptLogprobs ?? (opts.echo ? opts.logprobs : null);
  const choices: CompletionChoice[] = [];
  let promptTokens = 0;
  let completionTokens = 0;
  for (const p of prompts) {
    const n = p.tokenIds.length;
    if (p.tokenTexts.length !== n) throw new Error('tokenTexts must have one entry per token');
    if (n > 0 && p.logprobs.length !== n - 1) throw new Error('logprobs must have tokenIds.length - 1 entries');
    const decode = (id: number): string => {
      const k = p.tokenIds.indexOf(id);
      return k >= 0 ? (p.tokenTexts[k] as string) : '';
    };
    // Prompt log-probs as the engine returns them (first position None).
    let promptSteps: StepLogprobs[] | null = null;
    if (effectivePromptLogprobs !== null) {
      promptSteps = [null];
      for (let j = 1; j < n; j++) {
        const id = p.tokenIds[j] as number;
        promptSteps.push(
          new Map([[id, { logprob: p.logprobs[j - 1] as number, rank: p.ranks ? (p.ranks[j - 1] as number) : 1, decoded_token: p.tokenTexts[j] as string }]]),
        );
      }
    }
    const gen = p.generated ?? { tokenId: 0, text: '', logprob: 0 };
    const genStep: StepLogprobs = new Map([[gen.tokenId, { logprob: gen.logprob, rank: 1, decoded_token: gen.text }]]);
    const promptText = p.promptText ?? p.tokenTexts.join('');

    let tokenIds: number[];
    let steps: StepLogprobs[] | null;
    let text: string;
    if (opts.echo) {
      if (opts.maxTokens === 0) {
        tokenIds = [...p.tokenIds];
        steps = promptSteps;
        text = promptText;
      } else {
        tokenIds = [...p.tokenIds, gen.tokenId];
        steps = opts.logprobs === null ? null : [...(promptSteps ?? []), genStep];
        text = promptText + gen.text;
      }
    } else {
      tokenIds = [gen.tokenId];
      steps = [genStep];
      text = gen.text;
    }
    let logprobs: CompletionLogProbs | null = null;
    if (opts.logprobs !== null) {
      if (steps === null) throw new Error('Did not output logprobs');
      const allTexts = new Map<number, string>();
      p.tokenIds.forEach((id, k) => allTexts.set(id, p.tokenTexts[k] as string));
      allTexts.set(gen.tokenId, gen.text);
      logprobs = createCompletionLogprobs(tokenIds, steps, opts.logprobs, (id) => allTexts.get(id) ?? decode(id));
    }
    const promptLogprobsOut: PromptLogprobs | null =
      promptSteps === null
        ? null
        : promptSteps.map((s) => {
            if (s === null) return null;
            const o: Record<string, LogprobEntry> = {};
            for (const [id, e] of s) o[String(id)] = { ...e, logprob: clampLogprob(e.logprob) };
            return o;
          });
    choices.push({
      index: choices.length,
      text,
      logprobs,
      finish_reason: 'length',
      stop_reason: null,
      token_ids: null,
      prompt_logprobs: promptLogprobsOut,
      prompt_token_ids: null,
    });
    completionTokens += 1;
    promptTokens += n;
  }
  return {
    id: opts.id ?? `cmpl-${randomHex(16)}`,
    object: 'text_completion',
    created: opts.created ?? Math.floor(Date.now() / 1000),
    model: opts.model,
    choices,
    service_tier: null,
    system_fingerprint: null,
    usage: {
      prompt_tokens: promptTokens,
      total_tokens: promptTokens + completionTokens,
      completion_tokens: completionTokens,
      prompt_tokens_details: null,
    },
    kv_transfer_params: null,
  };
}

/** `GET /v1/models` for one served base model (plus optional LoRA adapters). */
export function buildModelList(
  servedModel: string,
  maxModelLen: number,
  opts: { root?: string; created?: number; loras?: readonly string[] } = {},
): ModelList {
  const created = opts.created ?? Math.floor(Date.now() / 1000);
  const card = (id: string, root: string | null, parent: string | null, mml: number | null): ModelCard => ({
    id,
    object: 'model',
    created,
    owned_by: 'vllm',
    root,
    parent,
    max_model_len: mml,
    permission: [
      {
        id: `modelperm-${randomHex(16)}`,
        object: 'model_permission',
        created,
        allow_create_engine: false,
        allow_sampling: true,
        allow_logprobs: true,
        allow_search_indices: false,
        allow_view: true,
        allow_fine_tuning: false,
        organization: '*',
        group: null,
        is_blocking: false,
      },
    ],
  });
  return {
    object: 'list',
    data: [
      card(servedModel, opts.root ?? servedModel, null, maxModelLen),
      ...(opts.loras ?? []).map((l) => card(l, l, servedModel, null)),
    ],
  };
}

/** `POST /tokenize` response. */
export function buildTokenizeResponse(tokens: readonly number[], maxModelLen: number): TokenizeResponse {
  return { count: tokens.length, max_model_len: maxModelLen, tokens: [...tokens], token_strs: null };
}

/**
 * `POST /v1/completions/render` response: one GenerateRequest per prompt, in order
 * (vllm/entrypoints/serve/render/serving.py, render_completion_request; the fields of
 * vllm/entrypoints/serve/disagg/protocol.py). `sampling_params` carries the request's settings as
 * vLLM's engine would run them; Sift reads only `token_ids`, so a representative subset is written.
 */
export function buildRenderResponse(model: string, tokenLists: readonly (readonly number[])[], maxTokens: number): unknown[] {
  return tokenLists.map((ids) => ({
    request_id: `cmpl-${randomHex(32)}`,
    token_ids: [...ids],
    features: null,
    sampling_params: {
      n: 1,
      presence_penalty: 0.0,
      frequency_penalty: 0.0,
      repetition_penalty: 1.0,
      temperature: 1.0,
      top_p: 1.0,
      top_k: 0,
      min_p: 0.0,
      seed: null,
      stop: [],
      stop_token_ids: [],
      ignore_eos: false,
      max_tokens: maxTokens,
      min_tokens: 0,
      logprobs: null,
      prompt_logprobs: null,
      skip_special_tokens: true,
      spaces_between_special_tokens: true,
      include_stop_str_in_output: false,
    },
    model,
    stream: false,
    stream_options: null,
    cache_salt: null,
    priority: 0,
    kv_transfer_params: null,
  }));
}

/** vLLM's current error body; the HTTP status must equal `code`. */
export function buildErrorResponse(message: string, code: number, type?: string, param: string | null = null): ErrorResponse {
  const defaultType = code === 404 ? 'NotFoundError' : code >= 500 ? 'InternalServerError' : 'BadRequestError';
  return { error: { message, type: type ?? defaultType, param, code } };
}

function randomHex(n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += Math.floor(Math.random() * 16).toString(16);
  return s;
}
