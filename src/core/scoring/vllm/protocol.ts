/**
 * The subset of vLLM's OpenAI-compatible HTTP protocol Sift uses for scoring, as TypeScript types,
 * the requests the vLLM client sends and runtime validation of the responses it reads. The other
 * side, answers in vLLM's exact shapes (so `sift serve` and the test fakes answer like a real vLLM
 * server), is `core/serve/vllmResponses.ts` and `core/serve/vllmRefusals.ts`.
 *
 * Shapes read from vLLM's source (`vllm-project/vllm`, main branch, 2026; the older single-file
 * layout `vllm/entrypoints/openai/protocol.py` + `serving_completion.py` has the same shapes):
 *
 * POST /v1/completions — `vllm/entrypoints/openai/completion/protocol.py` (CompletionRequest,
 * CompletionResponse, CompletionResponseChoice, CompletionLogProbs) and
 * `vllm/entrypoints/openai/completion/serving.py` (request_output_to_completion_response,
 * _create_completion_logprobs); routed in `.../completion/api_router.py`, which requires
 * `Content-Type: application/json` and returns `JSONResponse(response.model_dump())`.
 *   request  {model, prompt: str | list[str] | list[int] | list[list[int]], echo, logprobs: int,
 *             max_tokens: int (default 16), prompt_logprobs: int, n, add_special_tokens, ...}
 *     - A list of token-id lists is a batch: one choice per prompt, `choices[i].index == i`.
 *       Token-id prompts are used as given (no BOS is added to them).
 *     - The prompt list is limited by the env var VLLM_MAX_COMPLETION_PROMPTS (default 1024,
 *       `validate_prompt_list_length`); longer lists get HTTP 400.
 *     - `logprobs` and `prompt_logprobs` must be >= 0 or -1 (`check_logprobs`); 0 is valid and
 *       means "only the given token" (the v1 engine tests `is None`, vllm/v1/engine/logprobs.py).
 *     - `to_sampling_params`: `prompt_logprobs = self.prompt_logprobs, or self.logprobs if echo`;
 *       `echo_without_generation = echo and max_tokens == 0` and then the engine is given
 *       `max_tokens=1`. So `echo: true, max_tokens: 0` IS accepted (this is the path lm-eval uses);
 *       without echo, `max_tokens: 0` is rejected by SamplingParams ("max_tokens must be at least
 *       1, got 0", HTTP 400).
 *     - Length checks, in this order, for a token-id prompt of n tokens (max_model_len m):
 *       1. the renderer (`TokenizeParams._token_len_check`, `vllm/renderers/params.py`, with
 *          `max_output_tokens = max_tokens or 0` from `CompletionRequest.build_tok_params`)
 *          refuses n > m - (max_tokens or 0): {@link vllmInputTooLongMessage}, param
 *          "input_tokens";
 *       2. the V1 engine (`InputProcessor._validate_prompt_len`,
 *          `vllm/v1/engine/input_processor.py`) refuses n > m ("The decoder prompt (length n) is
 *          longer than the maximum model length of m. ...") and, for a generating model, n == m:
 *          {@link vllmPromptFillsContextMessage}, param null. Echo with max_tokens 0 passes the
 *          renderer at n == m and fails here, since the engine runs max_tokens=1.
 *       Both are `VLLMValidationError`s: HTTP 400, `{error: {message: str(exc), type:
 *       "BadRequestError", param: exc.parameter, code: 400}}` (`create_error_response`); str(exc)
 *       appends " (parameter=..., value=...)" when they are set. A request with several prompts
 *       fails as a whole when any one of them is refused. So every mode fits at most m - 1 tokens.
 *   response {id: "cmpl-…", object: "text_completion", created, model, choices: [{index, text,
 *             logprobs: {text_offset: int[], token_logprobs: (float|null)[], tokens: str[],
 *             top_logprobs: (dict[str, float]|null)[]} | null, finish_reason, stop_reason,
 *             token_ids, prompt_logprobs: (dict[int, {logprob, rank, decoded_token}] | null)[] |
 *             null, prompt_token_ids}], usage: {prompt_tokens, total_tokens, completion_tokens,
 *             prompt_tokens_details}, system_fingerprint, service_tier, kv_transfer_params, ...}
 *     - echo + max_tokens 0: `token_ids = prompt_token_ids`, `out_logprobs = prompt_logprobs`,
 *       `text = prompt text` — the logprobs cover exactly the prompt, one entry per prompt token,
 *       `token_logprobs[0] = null` (create_prompt_logprobs starts with None). Values are clamped to
 *       >= -9999.0 (-inf becomes -9999.0). `top_logprobs[j]` has the first `logprobs + 1` entries
 *       of the position's dict (the given token first), keyed by decoded token text.
 *       `text_offset` accumulates `len(token)` (Python code points). `finish_reason` is "length";
 *       `usage.completion_tokens` counts the one token the engine generated internally per prompt.
 *     - `choices[i].prompt_logprobs` is `final_res.prompt_logprobs`, set whenever prompt logprobs
 *       were computed (so also in echo mode). JSON object keys are token ids as strings.
 * POST /tokenize (server root, not under /v1) — `vllm/entrypoints/serve/tokenize/{api_router,
 *   protocol,serving}.py`: request {model, prompt: str, add_special_tokens (default true),
 *   return_token_strs} → {count, max_model_len, tokens: int[], token_strs}. One prompt per call.
 *   Not behind the API-key middleware (`GUARDED_PREFIX = ("/v1", ...)` in
 *   `vllm/entrypoints/serve/middleware/authenticate.py`), but sending the key is harmless.
 * POST /v1/completions/render — `vllm/entrypoints/serve/render/{api_router,serving}.py`: the
 *   completions request (CompletionRequest above) is tokenized by the same renderer as /tokenize
 *   and NOT run: `render_completion_request` answers `[item.model_dump() for item in result]`, one
 *   GenerateRequest per prompt in the order sent (`vllm/entrypoints/serve/disagg/protocol.py`:
 *   {request_id, token_ids: int[], features, sampling_params, model, stream, stream_options,
 *   cache_salt, priority, kv_transfer_params}). So a list of texts is tokenized in one call.
 *     - A prompt that tokenizes to nothing fails the whole request ("No token_ids rendered", 400).
 *     - The completions length check applies (`TokenizeParams._token_len_check`,
 *       `vllm/renderers/params.py`): more than max_model_len - max_tokens tokens is a 400 for the
 *       whole request, and the tokenizer may cut a longer prompt to that many + 1 first.
 *     - It is one of the "scale-out" endpoints (`vllm/entrypoints/scale_out/factories.py`): on
 *       `vllm serve` only with `--enable-scale-out` since v0.30.0 (opt-in since vllm PR 54579;
 *       development builds between read `VLLM_ENABLE_SCALE_OUT_ENDPOINTS=1`); earlier releases
 *       with the route serve it by default; older ones have no such route (404).
 * GET /v1/models — `vllm/entrypoints/openai/models/serving.py` (show_available_models) and
 *   `vllm/entrypoints/serve/engine/protocol.py` (ModelList, ModelCard): {object: "list", data:
 *   [{id, object: "model", created, owned_by: "vllm", root, parent, max_model_len, permission}]};
 *   base models carry `max_model_len`, LoRA adapters have it null and `parent` = base model.
 * Errors — `vllm/entrypoints/serve/engine/protocol.py` (ErrorResponse, ErrorInfo) and
 *   `vllm/entrypoints/serve/exception_handling/`: {error: {message, type, param, code}} with the
 *   HTTP status = code (400 BadRequestError, 404 NotFoundError for an unknown model, 500...).
 *   Older releases: {object: "error", message, type, param, code}. The auth middleware answers
 *   401 {error: "Unauthorized"}.
 */
import { MalformedResponseError } from '../../net/errors';

// ---------------------------------------------------------------------------------------------
// Types: the subset we send and read.
// ---------------------------------------------------------------------------------------------

export interface CompletionRequest {
  model: string;
  prompt: string | string[] | number[] | number[][];
  echo?: boolean;
  max_tokens?: number;
  logprobs?: number | null;
  prompt_logprobs?: number | null;
  temperature?: number;
  n?: number;
  stream?: boolean;
  add_special_tokens?: boolean;
  return_token_ids?: boolean;
}

export interface CompletionLogProbs {
  text_offset: number[];
  token_logprobs: (number | null)[];
  tokens: string[];
  top_logprobs: (Record<string, number> | null)[];
}

/** vLLM's `Logprob` dataclass as serialised. */
export interface LogprobEntry {
  logprob: number;
  rank: number | null;
  decoded_token: string | null;
}

/** Per prompt position: token id (as a string key) → log-prob; `null` at position 0. */
export type PromptLogprobs = (Record<string, LogprobEntry> | null)[];

export interface CompletionChoice {
  index: number;
  text: string;
  logprobs: CompletionLogProbs | null;
  finish_reason: string | null;
  stop_reason: number | string | null;
  token_ids: number[] | null;
  prompt_logprobs: PromptLogprobs | null;
  prompt_token_ids: number[] | null;
}

export interface UsageInfo {
  prompt_tokens: number;
  total_tokens: number;
  completion_tokens: number | null;
  prompt_tokens_details: { cached_tokens: number | null } | null;
}

export interface CompletionResponse {
  id: string;
  object: 'text_completion';
  created: number;
  model: string;
  choices: CompletionChoice[];
  service_tier: string | null;
  system_fingerprint: string | null;
  usage: UsageInfo;
  kv_transfer_params: Record<string, unknown> | null;
}

export interface ModelCard {
  id: string;
  object: 'model';
  created: number;
  owned_by: string;
  root: string | null;
  parent: string | null;
  max_model_len: number | null;
  permission: unknown[];
}

export interface ModelList {
  object: 'list';
  data: ModelCard[];
}

export interface TokenizeRequest {
  model?: string;
  prompt: string;
  add_special_tokens?: boolean;
  return_token_strs?: boolean;
}

export interface TokenizeResponse {
  count: number;
  max_model_len: number;
  tokens: number[];
  token_strs: string[] | null;
}

export interface ErrorInfo {
  message: string;
  type: string;
  param: string | null;
  code: number;
}

export interface ErrorResponse {
  error: ErrorInfo;
}

export type VllmMode = 'echo' | 'prompt_logprobs';

// ---------------------------------------------------------------------------------------------
// Requests we send.
// ---------------------------------------------------------------------------------------------

/**
 * One batched scoring request.
 * - `echo`: `{echo: true, max_tokens: 0, logprobs: 0}` — read `choices[i].logprobs.token_logprobs`.
 * - `prompt_logprobs`: `{max_tokens: 1, prompt_logprobs: 0}` — read `choices[i].prompt_logprobs`.
 * In both, vLLM V1 generates one token and ignores it, so a prompt may be at most max_model_len - 1
 * tokens (see the header).
 */
export function buildScoringRequest(model: string, sequences: number[][], mode: VllmMode): CompletionRequest {
  if (mode === 'echo') {
    return { model, prompt: sequences, echo: true, max_tokens: 0, logprobs: 0 };
  }
  return { model, prompt: sequences, max_tokens: 1, prompt_logprobs: 0 };
}

export function buildTokenizeRequest(model: string, text: string, addSpecialTokens: boolean): TokenizeRequest {
  return { model, prompt: text, add_special_tokens: addSpecialTokens };
}

/**
 * `POST /v1/completions/render` of texts: tokenized like `/tokenize` with `add_special_tokens`
 * false, one id list per text. `max_tokens: 1` keeps the renderer's length limit at
 * max_model_len - 1 tokens, the most a scored sequence may use anyway.
 */
export function buildRenderRequest(model: string, texts: string[]): CompletionRequest {
  return { model, prompt: texts, max_tokens: 1, add_special_tokens: false };
}

// ---------------------------------------------------------------------------------------------
// Validation of responses. Everything that is not as promised throws MalformedResponseError
// (retryable).
// ---------------------------------------------------------------------------------------------

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function asObject(v: unknown, what: string): Record<string, unknown> {
  if (!isObject(v)) throw new MalformedResponseError(`${what} is not a JSON object`);
  return v;
}

function isTokenId(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0;
}

/** A log-probability read from a response: a number, not NaN, not +Infinity. -Infinity is kept. */
function readLogprob(v: unknown, where: string): number {
  if (typeof v !== 'number' || Number.isNaN(v) || v === Infinity) {
    throw new MalformedResponseError(`${where}: log-prob is ${v === undefined ? 'missing' : JSON.stringify(v) ?? String(v)}`);
  }
  return v;
}

/** A 200 whose body is an error object (some proxies do this). */
function rejectErrorBody(o: Record<string, unknown>): void {
  if (o['object'] === 'error' || (o['error'] !== undefined && o['choices'] === undefined)) {
    const err = o['error'];
    const msg = isObject(err) && typeof err['message'] === 'string' ? err['message'] : typeof o['message'] === 'string' ? o['message'] : 'error';
    throw new MalformedResponseError(`response carries an error instead of a result: ${msg}`);
  }
}

/** Choices of a completion response ordered by `index`, checked to be exactly 0..n-1. */
export function orderedChoices(body: unknown, n: number): Record<string, unknown>[] {
  const o = asObject(body, 'completion response');
  rejectErrorBody(o);
  const choices = o['choices'];
  if (!Array.isArray(choices)) throw new MalformedResponseError('completion response has no choices array');
  if (choices.length !== n) {
    throw new MalformedResponseError(`expected ${n} choices (one per prompt), got ${choices.length}`);
  }
  const out: (Record<string, unknown> | undefined)[] = new Array(n).fill(undefined);
  for (const c of choices) {
    const choice = asObject(c, 'choice');
    const index = choice['index'];
    if (typeof index !== 'number' || !Number.isInteger(index) || index < 0 || index >= n) {
      throw new MalformedResponseError(`choice index ${JSON.stringify(index)} is not in 0..${n - 1}`);
    }
    if (out[index] !== undefined) throw new MalformedResponseError(`choice index ${index} appears twice`);
    out[index] = choice;
  }
  return out as Record<string, unknown>[];
}

/**
 * Per-sequence log-probs from an echo response (`choices[i].logprobs.token_logprobs`), checking
 * that each choice covers its whole prompt. Result `i` has length `sequences[i].length - 1`.
 */
export function parseEchoLogprobs(body: unknown, sequences: readonly (readonly number[])[]): Float64Array[] {
  const choices = orderedChoices(body, sequences.length);
  return choices.map((choice, i) => {
    const ids = sequences[i] as readonly number[];
    const lp = choice['logprobs'];
    if (!isObject(lp)) throw new MalformedResponseError(`choice ${i}: logprobs missing`);
    const tl = lp['token_logprobs'];
    if (!Array.isArray(tl)) throw new MalformedResponseError(`choice ${i}: logprobs.token_logprobs missing`);
    if (tl.length !== ids.length) {
      throw new MalformedResponseError(
        `choice ${i}: ${tl.length} token log-probs for a ${ids.length}-token prompt (the echo must cover the whole prompt and nothing else)`,
      );
    }
    const tokens = lp['tokens'];
    if (Array.isArray(tokens) && tokens.length !== ids.length) {
      throw new MalformedResponseError(`choice ${i}: ${tokens.length} tokens for a ${ids.length}-token prompt`);
    }
    const out = new Float64Array(ids.length - 1);
    for (let j = 1; j < ids.length; j++) out[j - 1] = readLogprob(tl[j], `choice ${i}, position ${j}`);
    return out;
  });
}

/**
 * Per-sequence log-probs from `choices[i].prompt_logprobs`: position j must have an entry keyed by
 * the id we sent (`String(ids[j])`), which also proves the server scored our tokens.
 */
export function parsePromptLogprobs(body: unknown, sequences: readonly (readonly number[])[]): Float64Array[] {
  const choices = orderedChoices(body, sequences.length);
  return choices.map((choice, i) => {
    const ids = sequences[i] as readonly number[];
    const pl = choice['prompt_logprobs'];
    if (!Array.isArray(pl)) throw new MalformedResponseError(`choice ${i}: prompt_logprobs missing`);
    if (pl.length !== ids.length) {
      throw new MalformedResponseError(`choice ${i}: ${pl.length} prompt log-probs for a ${ids.length}-token prompt`);
    }
    const out = new Float64Array(ids.length - 1);
    for (let j = 1; j < ids.length; j++) {
      const pos = pl[j];
      if (!isObject(pos)) throw new MalformedResponseError(`choice ${i}, position ${j}: no prompt log-probs`);
      const entry = pos[String(ids[j])];
      if (!isObject(entry)) {
        throw new MalformedResponseError(`choice ${i}, position ${j}: no log-prob for the prompt token ${ids[j]}`);
      }
      out[j - 1] = readLogprob(entry['logprob'], `choice ${i}, position ${j}`);
    }
    return out;
  });
}

export function parseModelList(body: unknown): ModelList {
  const o = asObject(body, 'model list');
  rejectErrorBody(o);
  const data = o['data'];
  if (!Array.isArray(data)) throw new MalformedResponseError('model list has no data array');
  const cards = data.map((d, i) => {
    const c = asObject(d, `model ${i}`);
    if (typeof c['id'] !== 'string' || c['id'] === '') throw new MalformedResponseError(`model ${i} has no id`);
    const mml = c['max_model_len'];
    if (mml !== undefined && mml !== null && !(typeof mml === 'number' && Number.isInteger(mml) && mml > 0)) {
      throw new MalformedResponseError(`model ${i} has an invalid max_model_len`);
    }
    return c as unknown as ModelCard;
  });
  return { object: 'list', data: cards };
}

export function parseTokenizeResponse(body: unknown): TokenizeResponse {
  const o = asObject(body, 'tokenize response');
  rejectErrorBody(o);
  const tokens = o['tokens'];
  if (!Array.isArray(tokens) || !tokens.every(isTokenId)) {
    throw new MalformedResponseError('tokenize response has no valid tokens array');
  }
  const count = o['count'];
  if (count !== undefined && count !== tokens.length) {
    throw new MalformedResponseError(`tokenize response count ${JSON.stringify(count)} != ${tokens.length} tokens`);
  }
  const mml = o['max_model_len'];
  return {
    count: tokens.length,
    max_model_len: typeof mml === 'number' && Number.isInteger(mml) && mml > 0 ? mml : 0,
    tokens: tokens as number[],
    token_strs: null,
  };
}

/** The token ids of each of `n` prompts from a `/v1/completions/render` answer, in the order sent. */
export function parseRenderResponse(body: unknown, n: number): number[][] {
  if (!Array.isArray(body)) {
    rejectErrorBody(asObject(body, 'render response'));
    throw new MalformedResponseError('render response is not a list');
  }
  if (body.length !== n) throw new MalformedResponseError(`render response has ${body.length} entries for ${n} prompts`);
  return body.map((item, i) => {
    const ids = asObject(item, `render entry ${i}`)['token_ids'];
    if (!Array.isArray(ids) || !ids.every(isTokenId)) throw new MalformedResponseError(`render entry ${i} has no valid token_ids`);
    return ids as number[];
  });
}
