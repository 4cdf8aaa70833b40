/**
 * The subset of Hugging Face text-generation-inference (TGI) Sift uses for scoring: types, runtime
 * validation and builders of TGI's shapes (for test fakes).
 *
 * Shapes read from TGI's source (`huggingface/text-generation-inference`, main, commit db931fcf,
 * 2026-01-08):
 *
 * POST /generate — `router/src/lib.rs` (GenerateRequest, GenerateParameters, GenerateResponse,
 *   Details, PrefillToken, Token), `router/src/server.rs` (generate_internal):
 *   request {inputs: string, parameters: {max_new_tokens, details, decoder_input_details,
 *   do_sample, adapter_id, ...}}. TGI takes TEXT: the router tokenizes `inputs` itself, always
 *   with special tokens (`add_special_tokens` is `#[serde(skip)]`, true for /generate).
 *   `max_new_tokens` must be >= 1 (`validation.rs`: NegativeMaxNewTokens "`max_new_tokens` must
 *   be strictly positive"), so one token is generated and ignored.
 *   response {generated_text, details: {finish_reason: "length" | "eos_token" | "stop_sequence",
 *   generated_tokens, seed, prefill: [{id, text, logprob}], tokens: [{id, text, logprob,
 *   special}], top_tokens (omitted when empty), best_of_sequences (omitted when None)}}.
 *   `prefill` has one entry per input token (BOS included); the first logprob is NaN, which
 *   serde_json writes as null (`server/text_generation_server/models/flash_causal_lm.py`: "add nan
 *   for cached prompt tokens/first token"; the v3 queue does not reuse the prefix cache when
 *   prefill logprobs are requested). Prefill logprobs are only computed when the server was
 *   launched with `--enable-prefill-logprobs` (env REQUEST_LOGPROBS, `launcher/src/main.rs`);
 *   otherwise `prefill` comes back EMPTY — a configuration error, not a transient one.
 *   Errors: {error, error_type} with 422 (validation), 429 (overloaded), 424 (generation error),
 *   500; 401 without a body for a wrong key.
 * POST /tokenize — server.rs `tokenize`: body GenerateRequest, response TokenizeResponse =
 *   [{id, text, start, stop}] (SimpleToken; char offsets into `inputs`), special tokens included
 *   (zero-width offsets). 404 {error: "No fast tokenizer available"} without a fast tokenizer.
 * GET /info — lib.rs `Info`: {model_id, model_sha, model_pipeline_tag, max_concurrent_requests,
 *   max_best_of, max_stop_sequences, max_input_tokens, max_total_tokens, validation_workers,
 *   max_client_batch_size, router, version, sha, docker_label}.
 */
import { PermanentScorerError } from '../types';
import { MalformedResponseError } from '../../net/errors';

export interface TgiGenerateRequest {
  inputs: string;
  parameters: {
    max_new_tokens: number;
    details: boolean;
    decoder_input_details: boolean;
    do_sample?: boolean;
    adapter_id?: string;
    [k: string]: unknown;
  };
}

export interface TgiPrefillToken {
  id: number;
  text: string;
  logprob: number | null;
}

export interface TgiToken extends TgiPrefillToken {
  special: boolean;
}

export interface TgiDetails {
  finish_reason: 'length' | 'eos_token' | 'stop_sequence';
  generated_tokens: number;
  seed: number | null;
  prefill: TgiPrefillToken[];
  tokens: TgiToken[];
  top_tokens?: TgiToken[][];
}

export interface TgiGenerateResponse {
  generated_text: string;
  details?: TgiDetails;
}

export interface TgiSimpleToken {
  id: number;
  text: string;
  start: number;
  stop: number;
}

export interface TgiInfo {
  model_id: string;
  model_sha: string | null;
  model_pipeline_tag: string | null;
  max_concurrent_requests: number;
  max_best_of: number;
  max_stop_sequences: number;
  max_input_tokens: number;
  max_total_tokens: number;
  validation_workers: number;
  max_client_batch_size: number;
  router: string;
  version: string;
  sha: string | null;
  docker_label: string | null;
}

export interface TgiErrorResponse {
  error: string;
  error_type: string;
}

export function buildGenerateRequest(text: string, adapterId?: string): TgiGenerateRequest {
  return {
    inputs: text,
    parameters: {
      max_new_tokens: 1,
      details: true,
      decoder_input_details: true,
      do_sample: false,
      ...(adapterId !== undefined ? { adapter_id: adapterId } : {}),
    },
  };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** The prefill tokens (ids and log-probs, first log-prob null) of a /generate response. */
export function parsePrefill(body: unknown): { ids: number[]; logprobs: (number | null)[] } {
  if (!isObject(body)) throw new MalformedResponseError('generate response is not a JSON object');
  if (typeof body['error'] === 'string') throw new MalformedResponseError(`response carries an error instead of a result: ${body['error']}`);
  const details = body['details'];
  if (!isObject(details)) throw new MalformedResponseError('generate response has no details');
  const prefill = details['prefill'];
  if (!Array.isArray(prefill)) throw new MalformedResponseError('generate response has no details.prefill');
  if (prefill.length === 0) {
    throw new PermanentScorerError(
      'TGI returned no prefill log-probs: launch the server with --enable-prefill-logprobs (env REQUEST_LOGPROBS=1)',
    );
  }
  const ids: number[] = [];
  const logprobs: (number | null)[] = [];
  prefill.forEach((t, j) => {
    if (!isObject(t) || !Number.isInteger(t['id']) || (t['id'] as number) < 0) {
      throw new MalformedResponseError(`prefill token ${j} is not {id, text, logprob}`);
    }
    const lp = t['logprob'];
    if (j === 0) {
      logprobs.push(null);
    } else if (lp === null) {
      logprobs.push(null); // NaN (serde_json writes NaN as null); the caller decides
    } else if (typeof lp === 'number' && !Number.isNaN(lp) && lp !== Infinity) {
      logprobs.push(lp);
    } else {
      throw new MalformedResponseError(`prefill token ${j}: log-prob is ${JSON.stringify(lp) ?? String(lp)}`);
    }
    ids.push(t['id'] as number);
  });
  return { ids, logprobs };
}

export function parseTokenizeResponse(body: unknown): TgiSimpleToken[] {
  if (!Array.isArray(body)) {
    if (isObject(body) && typeof body['error'] === 'string') throw new MalformedResponseError(`tokenize failed: ${body['error']}`);
    throw new MalformedResponseError('tokenize response is not a list');
  }
  return body.map((t, i) => {
    if (
      !isObject(t) ||
      !Number.isInteger(t['id']) ||
      (t['id'] as number) < 0 ||
      !Number.isInteger(t['start']) ||
      !Number.isInteger(t['stop']) ||
      (t['stop'] as number) < (t['start'] as number)
    ) {
      throw new MalformedResponseError(`tokenize response: token ${i} is not {id, text, start, stop}`);
    }
    return { id: t['id'] as number, text: typeof t['text'] === 'string' ? t['text'] : '', start: t['start'] as number, stop: t['stop'] as number };
  });
}

export function parseInfo(body: unknown): TgiInfo {
  if (!isObject(body)) throw new MalformedResponseError('info response is not a JSON object');
  if (typeof body['model_id'] !== 'string') throw new MalformedResponseError('info response has no model_id');
  for (const k of ['max_input_tokens', 'max_total_tokens']) {
    const v = body[k];
    if (!(typeof v === 'number' && Number.isInteger(v) && v > 0)) throw new MalformedResponseError(`info response has no valid ${k}`);
  }
  return body as unknown as TgiInfo;
}

// ---- builders (test fakes) ----

export function buildGenerateResponse(
  prefill: readonly { id: number; text: string; logprob: number | null }[],
  generated: { id: number; text: string; logprob: number; special: boolean },
): TgiGenerateResponse {
  return {
    generated_text: generated.special ? '' : generated.text,
    details: {
      finish_reason: 'length',
      generated_tokens: 1,
      seed: null,
      prefill: prefill.map((t, j) => ({ id: t.id, text: t.text, logprob: j === 0 || t.logprob === null || Number.isNaN(t.logprob) ? null : t.logprob })),
      tokens: [{ ...generated }],
    },
  };
}

export function buildInfo(modelId: string, maxInputTokens: number, maxTotalTokens: number, modelSha: string | null = null): TgiInfo {
  return {
    model_id: modelId,
    model_sha: modelSha,
    model_pipeline_tag: 'text-generation',
    max_concurrent_requests: 128,
    max_best_of: 2,
    max_stop_sequences: 4,
    max_input_tokens: maxInputTokens,
    max_total_tokens: maxTotalTokens,
    validation_workers: 2,
    max_client_batch_size: 4,
    router: 'text-generation-router',
    version: '3.3.7',
    sha: null,
    docker_label: null,
  };
}
