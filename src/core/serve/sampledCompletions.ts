import { randomBytes, randomInt } from 'node:crypto';
import type { Generation, GenerationOptions, LocalGenerator } from '../reasoning/sample/localGenerator';
import { HttpError } from './httpError';

/** What `sift serve` needs to answer generation requests: a LocalGenerator (see {@link lazyGenerator}). */
export interface CompletionGenerator {
  /** Why `ids` cannot be continued by `maxTokens` tokens, in vLLM's words, or undefined. */
  refusal(ids: readonly number[], maxTokens: number): Promise<string | undefined>;
  generate(ids: readonly number[], seeds: readonly number[], options: GenerationOptions, onSample: (index: number, generation: Generation) => void, signal?: AbortSignal): Promise<void>;
  /** The text of token ids with special tokens as text (`/detokenize`). */
  detokenize(ids: readonly number[]): Promise<string>;
  close(): Promise<void>;
}

/** The generation engine, loaded on the first request that needs it; `close` is free when it never loaded. */
export function lazyGenerator(load: () => Promise<LocalGenerator>): CompletionGenerator {
  let engine: Promise<LocalGenerator> | undefined;
  const get = (): Promise<LocalGenerator> =>
    (engine ??= load().catch((error: unknown) => {
      engine = undefined;
      throw error;
    }));
  return {
    refusal: async (ids, maxTokens) => (await get()).refusal(ids, maxTokens),
    generate: async (ids, seeds, options, onSample, signal) => (await get()).generate(ids, seeds, options, onSample, signal),
    detokenize: async (ids) => (await get()).detokenize(ids, true),
    async close() {
      if (engine) await (await engine.catch(() => undefined))?.close();
    },
  };
}

/** A generation request as `sift serve` takes it from vLLM's CompletionRequest fields. */
export interface SamplingParameters extends GenerationOptions {
  n: number;
  /** Sample j of each prompt uses seed + j (vLLM's parallel sampling); undefined: random seeds. */
  seed: number | undefined;
}

const MAX_SEED = 0xffffffff;
const MAX_N = 1024;

/**
 * The sampling fields of vLLM's `CompletionRequest` that `sift serve` honours — `n`, `seed`,
 * `temperature` (default 1.0, vLLM's `_DEFAULT_SAMPLING_PARAMS`), `top_p` (1.0), `max_tokens` (16),
 * `stop` — checked. Fields that would change the samples and that the local engine does not
 * implement (beam search, best_of, top_k, min_p, penalties, logit bias, `ignore_eos`, `min_tokens`,
 * `include_stop_str_in_output`, log-probs of the generated tokens) are refused with a 400 when set
 * to anything but their default, rather than ignored.
 */
export function samplingParameters(request: Record<string, unknown>): SamplingParameters {
  const unsupported: [string, (v: unknown) => boolean][] = [
    ['use_beam_search', (v) => v === true],
    ['best_of', (v) => v !== request.n && v !== 1],
    ['top_k', (v) => v !== 0 && v !== -1],
    ['min_p', (v) => v !== 0],
    ['repetition_penalty', (v) => v !== 1],
    ['presence_penalty', (v) => v !== 0],
    ['frequency_penalty', (v) => v !== 0],
    ['logit_bias', (v) => !(typeof v === 'object' && v !== null && Object.keys(v).length === 0)],
    ['ignore_eos', (v) => v === true],
    ['min_tokens', (v) => v !== 0],
    ['include_stop_str_in_output', (v) => v === true],
    ['logprobs', () => true],
    ['stop_token_ids', (v) => !(Array.isArray(v) && v.length === 0)],
  ];
  for (const [field, isSet] of unsupported) {
    const value = request[field];
    if (value !== undefined && value !== null && isSet(value)) throw new HttpError(400, `sift serve does not support ${field} when generating (got ${JSON.stringify(value)})`, 'BadRequestError', field);
  }
  const n = integer(request.n, 'n', 1, 1, MAX_N);
  const seed = request.seed === undefined || request.seed === null ? undefined : integer(request.seed, 'seed', 0, 0, MAX_SEED - (n - 1));
  const temperature = number(request.temperature, 'temperature', 1, (t) => t >= 0, 'at least 0');
  const topP = number(request.top_p, 'top_p', 1, (p) => p > 0 && p <= 1, 'in (0, 1]');
  const maxTokens = integer(request.max_tokens, 'max_tokens', 16, 1, Number.MAX_SAFE_INTEGER);
  return { n, seed, temperature, topP, maxTokens, stop: stopList(request.stop) };
}

/** The seeds of one prompt's n samples: vLLM gives child j of a seeded request `seed + j`. */
export function sampleSeeds(params: SamplingParameters): number[] {
  return Array.from({ length: params.n }, (_, j) => (params.seed === undefined ? randomInt(0, MAX_SEED) : params.seed + j));
}

function integer(value: unknown, name: string, fallback: number, min: number, max: number): number {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new HttpError(400, `${name} must be an integer from ${min} to ${max} (got ${JSON.stringify(value)})`, 'BadRequestError', name);
  }
  return value;
}

function number(value: unknown, name: string, fallback: number, ok: (x: number) => boolean, range: string): number {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || !ok(value)) throw new HttpError(400, `${name} must be a number ${range} (got ${JSON.stringify(value)})`, 'BadRequestError', name);
  return value;
}

function stopList(value: unknown): string[] {
  if (value === undefined || value === null) return [];
  if (typeof value === 'string') return value === '' ? [] : [value];
  if (Array.isArray(value) && value.every((s) => typeof s === 'string')) return (value as string[]).filter((s) => s !== '');
  throw new HttpError(400, 'stop must be a string or a list of strings', 'BadRequestError', 'stop');
}

/** One generated choice of a completion response. */
export interface SampledChoice extends Generation {
  /** Index of the prompt it continues. */
  prompt: number;
}

/**
 * A `/v1/completions` response with generated text, in vLLM's shape
 * (`request_output_to_completion_response`, `vllm/entrypoints/openai/serving_completion.py`):
 * choice `p * n + j` is sample j of prompt p, `logprobs` null (none asked), `finish_reason` "stop"
 * or "length", `stop_reason` the stop string that ended it (else null); usage counts each prompt's
 * tokens once and every generated token.
 */
export function buildSampledCompletionResponse(model: string, promptLengths: readonly number[], choices: readonly SampledChoice[]): unknown {
  const completionTokens = choices.reduce((sum, c) => sum + c.tokens, 0);
  const promptTokens = promptLengths.reduce((sum, n) => sum + n, 0);
  return {
    id: `cmpl-${randomBytes(8).toString('hex')}`,
    object: 'text_completion',
    created: Math.floor(Date.now() / 1000),
    model,
    choices: choices.map((c, index) => ({
      index,
      text: c.text,
      logprobs: null,
      finish_reason: c.finishReason,
      stop_reason: c.stopReason,
      token_ids: null,
      prompt_logprobs: null,
      prompt_token_ids: null,
    })),
    service_tier: null,
    system_fingerprint: null,
    usage: { prompt_tokens: promptTokens, total_tokens: promptTokens + completionTokens, completion_tokens: completionTokens, prompt_tokens_details: null },
    kv_transfer_params: null,
  };
}

/** Generates every prompt's n samples in order; a refused prompt fails the whole request, as in vLLM. */
export async function generateCompletions(generator: CompletionGenerator, prompts: readonly number[][], params: SamplingParameters, signal: AbortSignal): Promise<SampledChoice[]> {
  for (const [i, ids] of prompts.entries()) {
    const refused = await generator.refusal(ids, params.maxTokens);
    if (refused) throw new HttpError(400, prompts.length > 1 ? `prompt ${i}: ${refused}` : refused, 'BadRequestError');
  }
  const choices: SampledChoice[] = [];
  for (const [p, ids] of prompts.entries()) {
    const samples: Generation[] = [];
    await generator.generate(ids, sampleSeeds(params), params, (j, generation) => (samples[j] = generation), signal);
    for (const generation of samples) choices.push({ ...generation, prompt: p });
  }
  return choices;
}
