/**
 * vLLM V1's refusals of prompts that do not fit the context, with vLLM's own messages, so that
 * `sift serve` and the test fakes refuse exactly what a real vLLM server refuses (the order of the
 * checks is described at the top of `scoring/vllm/protocol.ts`).
 */

/**
 * vLLM V1's refusal of a prompt that leaves no room for the one token the engine generates (also
 * in echo mode with max_tokens 0), verbatim from `InputProcessor._validate_prompt_len`
 * (`vllm/v1/engine/input_processor.py`, text-only model): HTTP 400, param null.
 */
export function vllmPromptFillsContextMessage(promptLen: number, maxModelLen: number): string {
  return (
    `The decoder prompt (length ${promptLen}) plus the number of requested output tokens (at least 1) is longer than the maximum ` +
    `model length of ${maxModelLen}. Make sure that \`max_model_len\` is no smaller than the number of text tokens (prompt + requested output tokens).`
  );
}

/** The same function's refusal of a prompt longer than max_model_len (text-only model). */
export function vllmPromptTooLongMessage(promptLen: number, maxModelLen: number): string {
  return (
    `The decoder prompt (length ${promptLen}) is longer than the maximum model length of ${maxModelLen}. ` +
    `Make sure that \`max_model_len\` is no smaller than the number of text tokens.`
  );
}

/**
 * The renderer's refusal (`TokenizeParams._token_len_check`, `vllm/renderers/params.py`) of n
 * prompt tokens that do not fit max_model_len - max_output_tokens, as `str(VLLMValidationError)`
 * puts it in the error body (parameter "input_tokens", value n): HTTP 400.
 */
export function vllmInputTooLongMessage(promptLen: number, maxOutputTokens: number, maxModelLen: number): string {
  return (
    `You passed ${promptLen} input tokens and requested ${maxOutputTokens} output tokens. However, the model's context length is only ` +
    `${maxModelLen} tokens, resulting in a maximum input length of ${maxModelLen - maxOutputTokens} tokens. Please reduce the length of ` +
    `the input prompt. (parameter=input_tokens, value=${promptLen})`
  );
}

/**
 * vLLM V1's length checks of one prompt, in vLLM's order (see the header): the renderer's input
 * budget, `get_max_tokens` with `to_sampling_params` (echo with max_tokens 0 runs max_tokens 1), then
 * the engine's `_validate_prompt_len`. The refusal (a 400) with vLLM's message and `param`, or
 * undefined when the prompt is accepted. Shared by `sift serve` and the test fakes.
 */
export function vllmLengthRefusal(promptLen: number, maxTokens: number, echo: boolean, maxModelLen: number): { message: string; param: string | null } | undefined {
  if (promptLen > maxModelLen - maxTokens) return { message: vllmInputTooLongMessage(promptLen, maxTokens, maxModelLen), param: 'input_tokens' };
  const effective = echo && maxTokens === 0 ? 1 : Math.min(maxModelLen - promptLen, maxTokens);
  if (effective < 1) return { message: `max_tokens must be at least 1, got ${effective}.`, param: 'max_tokens' };
  if (promptLen > maxModelLen) return { message: vllmPromptTooLongMessage(promptLen, maxModelLen), param: null };
  if (promptLen === maxModelLen) return { message: vllmPromptFillsContextMessage(promptLen, maxModelLen), param: null };
  return undefined;
}

/**
 * `/v1/completions/render`'s refusal of one prompt: the renderer's length check and max_tokens as
 * `get_max_tokens` leaves it (vllm/entrypoints/serve/render/serving.py); no engine runs, so the
 * engine's own checks of {@link vllmLengthRefusal} do not apply. Any refused prompt fails the request.
 */
export function vllmRenderRefusal(promptLen: number, maxTokens: number, maxModelLen: number): { message: string; param: string | null } | undefined {
  if (promptLen === 0) return { message: 'No token_ids rendered', param: null };
  if (promptLen > maxModelLen - maxTokens) return { message: vllmInputTooLongMessage(promptLen, maxTokens, maxModelLen), param: 'input_tokens' };
  const effective = Math.min(maxModelLen - promptLen, maxTokens);
  if (effective < 1) return { message: `max_tokens must be at least 1, got ${effective}.`, param: 'max_tokens' };
  return undefined;
}
