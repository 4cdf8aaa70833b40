/**
 * The subset of SGLang's native HTTP protocol Sift uses for scoring: types, runtime validation of
 * responses, and builders that reproduce SGLang's shapes (for test fakes).
 *
 * Shapes read from SGLang's source (`sgl-project/sglang`, main branch, 2026):
 *
 * POST /generate — `python/sglang/srt/entrypoints/http_server.py` (generate_request),
 *   request `GenerateReqInput` in `python/sglang/srt/managers/io_struct.py`:
 *   {input_ids: list[int] | list[list[int]], sampling_params: dict | list[dict], return_logprob,
 *    logprob_start_len (default -1 = output tokens only; 0 = from the first prompt token),
 *    top_logprobs_num, return_text_in_logprobs (default false), lora_path, stream, ...}.
 *   A list of id lists is a batch; the response is then a JSON list with one object per prompt,
 *   in input order; a single id list gives one object.
 *   `sampling_params.max_new_tokens: 0` is accepted (SamplingParams.verify only rejects < 0):
 *   a prefill-only request, `completion_tokens` 0, `output_token_logprobs` [].
 *   Response object (tokenizer_manager.py `_handle_batch_output`): {text, output_ids, meta_info:
 *   {id, finish_reason: {type: "length", length: 0} | {type: "abort", message} | ...,
 *   prompt_tokens, weight_version, total_retractions, input_token_logprobs,
 *   output_token_logprobs, completion_tokens, cached_tokens, e2e_latency}}.
 *   `input_token_logprobs` (`detokenize_logprob_tokens`) is a list of `[logprob, token_id,
 *   text | null]` triples; with logprob_start_len 0 it has one entry per prompt token, values
 *   `[None] + logprobs[:-1]` and ids `origin_input_ids[0:]` (scheduler logprob processor,
 *   `_process_input_token_logprobs`). Ids >= vocab_size - 1 are reported as 0 there (a clip for
 *   image-token hashes). JSON is written by orjson, which writes NaN/±Infinity as null.
 *   Errors: 400 {"error": {"message": "..."}} (ValueError, e.g. a prompt longer than the context
 *   length) or the OpenAI-style {object: "error", message, type, param, code}.
 * POST /v1/tokenize (alias /tokenize) — `python/sglang/srt/entrypoints/openai/serving_tokenize.py`:
 *   {model, prompt: str | list[str], add_special_tokens (default true)} → {tokens: list[int] |
 *   list[list[int]], count, max_model_len (the tokenizer's model_max_length, NOT the context)}.
 * GET /v1/models — http_server.py `available_models`: vLLM's ModelList shape, `owned_by:
 *   "sglang"`, `max_model_len` = model_config.context_len; LoRA adapters have `parent` and a null
 *   max_model_len.
 */
import { MalformedResponseError } from '../../net/errors';
import { PermanentScorerError } from '../types';

/**
 * The message for a prompt SGLang ran with another length than the one sent (`meta_info.
 * prompt_tokens` differs): a server setting, reported once (see SglangScorer.logprobs).
 * - `--allow-auto-truncate`: `validate_input_length` in `python/sglang/srt/managers/utils.py`
 *   cuts `origin_input_ids` to the limit and only logs a warning ("Request length is longer than
 *   the KV cache pool size or the max context length. Truncated."), where it would otherwise refuse
 *   with "Input length (N tokens) exceeds the maximum allowed length (M tokens). Use a shorter
 *   input or enable --allow-auto-truncate." (the advice Sift must not follow).
 * - Speculative decoding (`--speculative-algorithm`): the tokenizer manager reserves output slots
 *   per request for draft tokens (`compute_num_reserved_tokens`), so the usable prompt length is
 *   below `context_len`; with auto-truncate on, prompts between the two are cut silently.
 */
export function sglangLengthMismatchMessage(output: number, sent: number, ran: number): string {
  return (
    `SGLang server setting: output ${output} scored ${ran} prompt tokens where ${sent} were sent, so the server changed the prompt ` +
    `and its log-probs cannot be trusted. Launch SGLang without --allow-auto-truncate (it silently cuts prompts longer than its ` +
    `limit; speculative decoding, --speculative-algorithm, lowers that limit below the context length by the tokens it reserves ` +
    `for drafts), or score with a server whose prompt limit is the context length it reports.`
  );
}

export interface SglangGenerateRequest {
  input_ids: number[][] | number[];
  sampling_params: { max_new_tokens: number; [k: string]: unknown };
  return_logprob: boolean;
  logprob_start_len: number;
  return_text_in_logprobs?: boolean;
  lora_path?: string;
  stream?: boolean;
}

/** `[logprob | null, token_id, text | null]`. */
export type SglangTokenLogprob = [number | null, number, string | null];

export interface SglangMetaInfo {
  id: string;
  finish_reason: { type: string; length?: number; message?: string; matched?: unknown } | null;
  prompt_tokens: number;
  weight_version?: string;
  total_retractions?: number;
  input_token_logprobs?: SglangTokenLogprob[];
  output_token_logprobs?: SglangTokenLogprob[];
  completion_tokens: number;
  cached_tokens: number;
  e2e_latency?: number;
}

export interface SglangGenerateOutput {
  text: string;
  output_ids: number[];
  meta_info: SglangMetaInfo;
}

export interface SglangTokenizeRequest {
  model?: string;
  prompt: string | string[];
  add_special_tokens?: boolean;
}

export interface SglangTokenizeResponse {
  tokens: number[] | number[][];
  count: number | number[];
  max_model_len: number;
}

/** A prefill-only scoring request for a batch of token-id sequences. */
export function buildGenerateRequest(sequences: number[][], loraPath?: string): SglangGenerateRequest {
  return {
    input_ids: sequences,
    sampling_params: { max_new_tokens: 0 },
    return_logprob: true,
    logprob_start_len: 0,
    return_text_in_logprobs: false,
    stream: false,
    ...(loraPath !== undefined ? { lora_path: loraPath } : {}),
  };
}

export function buildTokenizeRequest(model: string, texts: string[], addSpecialTokens: boolean): SglangTokenizeRequest {
  return { model, prompt: texts, add_special_tokens: addSpecialTokens };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function rejectErrorBody(body: unknown): void {
  if (!isObject(body)) return;
  if (body['object'] === 'error' || (body['error'] !== undefined && body['meta_info'] === undefined && body['tokens'] === undefined)) {
    const err = body['error'];
    const msg = isObject(err) && typeof err['message'] === 'string' ? err['message'] : typeof body['message'] === 'string' ? body['message'] : String(err);
    throw new MalformedResponseError(`response carries an error instead of a result: ${msg}`);
  }
}

/**
 * Per-sequence log-probs from a `/generate` batch response: one object per prompt, in order, each
 * with `meta_info.input_token_logprobs` covering the whole prompt with our token ids.
 */
export function parseGenerateLogprobs(body: unknown, sequences: readonly (readonly number[])[]): Float64Array[] {
  rejectErrorBody(body);
  const items: unknown[] = Array.isArray(body) ? body : sequences.length === 1 && isObject(body) ? [body] : [];
  if (!Array.isArray(body) && items.length === 0) throw new MalformedResponseError('generate response is not a list');
  if (items.length !== sequences.length) {
    throw new MalformedResponseError(`expected ${sequences.length} outputs (one per prompt), got ${items.length}`);
  }
  return items.map((item, i) => {
    const ids = sequences[i] as readonly number[];
    if (!isObject(item)) throw new MalformedResponseError(`output ${i} is not an object`);
    const meta = item['meta_info'];
    if (!isObject(meta)) throw new MalformedResponseError(`output ${i}: meta_info missing`);
    const fr = meta['finish_reason'];
    if (isObject(fr) && fr['type'] === 'abort') {
      throw new MalformedResponseError(`output ${i}: aborted by the server: ${String(fr['message'] ?? '')}`);
    }
    const promptTokens = meta['prompt_tokens'];
    if (typeof promptTokens === 'number' && promptTokens !== ids.length) {
      // Not a corrupt answer: the server ran a different prompt. Asking again gives the same.
      throw new PermanentScorerError(sglangLengthMismatchMessage(i, ids.length, promptTokens));
    }
    const itl = meta['input_token_logprobs'];
    if (!Array.isArray(itl)) throw new MalformedResponseError(`output ${i}: meta_info.input_token_logprobs missing`);
    if (itl.length !== ids.length) {
      throw new MalformedResponseError(`output ${i}: ${itl.length} input log-probs for a ${ids.length}-token prompt`);
    }
    const out = new Float64Array(ids.length - 1);
    for (let j = 0; j < ids.length; j++) {
      const e = itl[j];
      if (!Array.isArray(e) || e.length < 2) throw new MalformedResponseError(`output ${i}, position ${j}: not a [logprob, id, text] triple`);
      const id = e[1];
      // SGLang reports ids >= vocab_size - 1 as 0 (see the header); any other difference is an error.
      if (id !== ids[j] && id !== 0) {
        throw new MalformedResponseError(`output ${i}, position ${j}: log-prob is for token ${JSON.stringify(id)}, not ${ids[j]}`);
      }
      if (j === 0) continue;
      const lp = e[0];
      if (lp === null) {
        out[j - 1] = -Infinity; // orjson writes -inf (and NaN) as null
      } else if (typeof lp === 'number' && !Number.isNaN(lp) && lp !== Infinity) {
        out[j - 1] = lp;
      } else {
        throw new MalformedResponseError(`output ${i}, position ${j}: log-prob is ${JSON.stringify(lp) ?? String(lp)}`);
      }
    }
    return out;
  });
}

/** Token ids of each text from a batched `/v1/tokenize` response. */
export function parseTokenizeBatch(body: unknown, n: number): number[][] {
  rejectErrorBody(body);
  if (!isObject(body)) throw new MalformedResponseError('tokenize response is not a JSON object');
  const tokens = body['tokens'];
  if (!Array.isArray(tokens) || tokens.length !== n) {
    throw new MalformedResponseError(`tokenize response has ${Array.isArray(tokens) ? tokens.length : 'no'} token lists for ${n} texts`);
  }
  return tokens.map((t, i) => {
    if (!Array.isArray(t) || !t.every((x) => Number.isInteger(x) && (x as number) >= 0)) {
      throw new MalformedResponseError(`tokenize response: entry ${i} is not a list of token ids`);
    }
    return t as number[];
  });
}

// ---- builders (test fakes) ----

export interface SglangScoredPrompt {
  tokenIds: readonly number[];
  /** `lp[j-1] = log p(tokenIds[j] | tokenIds[<j])`. */
  logprobs: ArrayLike<number>;
  tokenTexts?: readonly string[];
}

/** The `/generate` response SGLang gives for prefill-only requests (max_new_tokens 0). */
export function buildGenerateResponse(
  prompts: readonly SglangScoredPrompt[],
  opts: { batch: boolean; returnText?: boolean; weightVersion?: string },
): SglangGenerateOutput[] | SglangGenerateOutput {
  const outs = prompts.map((p): SglangGenerateOutput => {
    const itl: SglangTokenLogprob[] = p.tokenIds.map((id, j) => {
      const lp = j === 0 ? null : (p.logprobs[j - 1] as number);
      const text = opts.returnText ? (p.tokenTexts?.[j] ?? '') : null;
      return [lp !== null && !Number.isFinite(lp) ? null : lp, id, text];
    });
    return {
      text: '',
      output_ids: [],
      meta_info: {
        id: randomHex(32),
        finish_reason: { type: 'length', length: 0 },
        prompt_tokens: p.tokenIds.length,
        weight_version: opts.weightVersion ?? 'default',
        total_retractions: 0,
        input_token_logprobs: itl,
        output_token_logprobs: [],
        completion_tokens: 0,
        cached_tokens: 0,
        e2e_latency: 0.001,
      },
    };
  });
  return opts.batch ? outs : (outs[0] as SglangGenerateOutput);
}

export function buildTokenizeBatchResponse(tokens: readonly (readonly number[])[], modelMaxLength: number): SglangTokenizeResponse {
  return { tokens: tokens.map((t) => [...t]), count: tokens.map((t) => t.length), max_model_len: modelMaxLength };
}

function randomHex(n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += Math.floor(Math.random() * 16).toString(16);
  return s;
}
