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
