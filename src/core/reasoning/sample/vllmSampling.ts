/**
 * The part of vLLM's OpenAI-compatible protocol that sampling uses: `POST /v1/completions` with
 * `n` and `seed`, and `POST /detokenize` (the text of a rendered chat prompt). Read from vLLM's
 * source (`vllm-project/vllm`; `vllm/entrypoints/openai/protocol.py` in the single-file layout,
 * `vllm/entrypoints/openai/completion/protocol.py` in the newer one, same fields):
 *
 *   class CompletionRequest(OpenAIBaseModel):
 *       model: Optional[str] = None
 *       prompt: Optional[Union[list[int], list[list[int]], str, list[str]]] = None
 *       max_tokens: Optional[int] = 16
 *       n: int = 1
 *       seed: Optional[int] = Field(None, ge=_LONG_INFO.min, le=_LONG_INFO.max)
 *       stop: Optional[Union[str, list[str]]] = []
 *       temperature: Optional[float] = None
 *       top_p: Optional[float] = None
 *       ...
 *       _DEFAULT_SAMPLING_PARAMS: dict = {"repetition_penalty": 1.0, "temperature": 1.0,
 *                                         "top_p": 1.0, "top_k": 0, "min_p": 0.0}
 *
 * `to_sampling_params` passes `n`, `seed`, `stop`, `temperature`, `top_p` and `max_tokens` to
 * `SamplingParams` (unset values take the model's generation_config defaults, else the ones above:
 * Sift always sends temperature and top_p). A list of prompts is a batch with the same parameters
 * for each prompt.
 *
 * How the `n` samples are seeded — `ParentRequest._get_child_sampling_params`
 * (`vllm/v1/engine/parallel_sampling.py`): each of the n children is its own request with `n = 1`
 * and, when the parent has a seed, `child_sampling_params.seed = seed + index`. So the j-th sample
 * of a prompt is the generation with seed `seed + j`, and a request for samples 7..14 (`n: 8,
 * seed: S + 7`) draws exactly the samples 7..14 of a request for 0..14 (`n: 15, seed: S`).
 *
 * Response order — `request_output_to_completion_response`
 * (`vllm/entrypoints/openai/serving_completion.py`): for each prompt's result, for each of its
 * outputs, `CompletionResponseChoice(index=len(choices), text=output.text, logprobs=None without
 * `logprobs`, finish_reason=output.finish_reason, stop_reason=output.stop_reason, ...)`: choice
 * `p * n + j` is sample j of prompt p. `finish_reason` is "stop" (EOS or a stop string, which is
 * not in `text` unless `include_stop_str_in_output`) or "length"; `usage.completion_tokens` counts
 * the generated tokens of all choices.
 *
 * Errors: a prompt with prompt + max_tokens over `max_model_len` fails the whole request with a
 * 400 (see `core/serve/vllmRefusals.ts`); the client splits such a request to find it.
 *
 * `POST /detokenize` (server root; `vllm/entrypoints/openai/protocol.py`):
 *   class DetokenizeRequest(OpenAIBaseModel): model: Optional[str] = None; tokens: list[int]
 *   class DetokenizeResponse(OpenAIBaseModel): prompt: str
 */
import { MalformedResponseError } from '../../net/errors';
import type { GenerationSettings, Generated } from './types';

export interface SamplingCompletionRequest {
  model: string;
  prompt: string[] | number[][];
  n: number;
  seed: number;
  temperature: number;
  top_p: number;
  max_tokens: number;
  stop?: string[];
}

/** One batched sampling request: `count` samples of each prompt, sample j with seed `firstSeed + j`. */
export function buildSamplingRequest(model: string, prompts: string[] | number[][], firstSeed: number, count: number, settings: GenerationSettings): SamplingCompletionRequest {
  const body: SamplingCompletionRequest = {
    model,
    prompt: prompts,
    n: count,
    seed: firstSeed,
    temperature: settings.temperature,
    top_p: settings.topP,
    max_tokens: settings.maxTokens,
  };
  if (settings.stop.length > 0) body.stop = [...settings.stop];
  return body;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/**
 * The samples of a sampling response, `[prompt][sample]`, checked: exactly prompts × n choices with
 * indices 0.., text strings and a known finish reason. Generated tokens are `usage.completion_tokens`
 * shared out evenly (vLLM does not count per choice unless asked for token ids).
 */
export function parseSamplingResponse(body: unknown, prompts: number, n: number): Generated[][] {
  if (!isObject(body)) throw new MalformedResponseError('completion response is not a JSON object');
  const choices = body['choices'];
  if (!Array.isArray(choices)) throw new MalformedResponseError('completion response has no choices array');
  const expected = prompts * n;
  if (choices.length !== expected) throw new MalformedResponseError(`expected ${expected} choices (${prompts} prompt(s) × n = ${n}), got ${choices.length}`);
  const usage = body['usage'];
  const completionTokens = isObject(usage) && typeof usage['completion_tokens'] === 'number' ? usage['completion_tokens'] : 0;
  const perChoice = Math.round(completionTokens / expected);
  const out: Generated[][] = Array.from({ length: prompts }, () => new Array<Generated>(n));
  const seen = new Set<number>();
  for (const c of choices) {
    if (!isObject(c)) throw new MalformedResponseError('choice is not a JSON object');
    const index = c['index'];
    if (typeof index !== 'number' || !Number.isInteger(index) || index < 0 || index >= expected || seen.has(index)) {
      throw new MalformedResponseError(`choice index ${JSON.stringify(index)} is not a new index in 0..${expected - 1}`);
    }
    seen.add(index);
    const text = c['text'];
    if (typeof text !== 'string') throw new MalformedResponseError(`choice ${index} has no text`);
    const finish = c['finish_reason'];
    if (finish !== 'stop' && finish !== 'length') throw new MalformedResponseError(`choice ${index} finished with ${JSON.stringify(finish)} (expected "stop" or "length")`);
    out[Math.floor(index / n)]![index % n] = { text, finishReason: finish, tokens: perChoice };
  }
  return out;
}

export function parseDetokenizeResponse(body: unknown): string {
  if (!isObject(body) || typeof body['prompt'] !== 'string') throw new MalformedResponseError('detokenize response has no prompt text');
  return body['prompt'];
}
