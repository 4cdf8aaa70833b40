import type { VllmMode } from './vllm/protocol';

/** Where the student model runs: a GGUF in-process, or an HTTP inference server. */
export const BACKEND_NAMES = ['local', 'vllm', 'sglang', 'tgi'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];

/**
 * Every value of a string union, checked at compile time in both directions: a value the union
 * drops or one it adds is a type error here rather than a choice silently missing.
 */
function everyValueOf<T extends string>() {
  return <const A extends readonly T[]>(values: A & ([T] extends [A[number]] ? unknown : never)): A => values;
}

/**
 * How log-probs are requested from vLLM (the vLLM client's `mode`), listed here so settings can
 * offer the choice without loading a scorer.
 */
export const VLLM_MODES = everyValueOf<VllmMode>()(['echo', 'prompt_logprobs']);

/**
 * The scoring mode used when none is configured: `prompt_logprobs`. Read from vLLM's source
 * (`vllm-project/vllm`, main, 2026):
 * - Context: no difference. `CompletionRequest.to_sampling_params`
 *   (`vllm/entrypoints/openai/completion/protocol.py`) turns `echo` with `max_tokens: 0` into
 *   `max_tokens=1` (`echo_without_generation`), and the V1 engine refuses a prompt that leaves no
 *   room for one output token (`InputProcessor._validate_prompt_len`,
 *   `vllm/v1/engine/input_processor.py`; the message is `vllmPromptFillsContextMessage` in
 *   `protocol.ts`). So both modes
 *   generate one token and both fit at most max_model_len - 1 prompt tokens.
 * - Prefix caching: no difference. Echo sets `prompt_logprobs = logprobs` (same function), and
 *   any request with prompt log-probs skips reading the prefix cache
 *   (`SamplingParams.skip_reading_prefix_cache = prompt_logprobs is not None`,
 *   `vllm/sampling_params.py`) in either mode.
 * - Response size: echo answers every prompt position TWICE, once in `choices[i].logprobs`
 *   (`tokens`, `token_logprobs`, `text_offset`, `top_logprobs`, built by
 *   `_create_completion_logprobs` in `.../completion/serving.py`) and once in
 *   `choices[i].prompt_logprobs` (set whenever prompt log-probs were computed), plus the echoed
 *   prompt `text`; prompt_logprobs mode sends the second only (about half the bytes to build,
 *   send and parse).
 * - Detokenization: echo needs the prompt text (`build_tok_params`: `needs_detokenization =
 *   echo and not return_token_ids`) and per-token strings for `tokens`/`top_logprobs`; the
 *   prompt_logprobs mode needs neither.
 * - Checking: `prompt_logprobs` entries are keyed by token id, so every position proves the server
 *   scored the id Sift sent.
 * Echo stays available (`mode: 'echo'`) for servers that speak only echo. `sift serve` answers both.
 */
export const DEFAULT_VLLM_MODE: VllmMode = 'prompt_logprobs';
