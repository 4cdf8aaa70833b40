/**
 * The independent computation the log-prob tests compare with: llama.cpp's raw logits for every
 * entry of the vocabulary at every position, and the log-softmax done here in float64.
 */
import assert from 'node:assert/strict';
import type { LlamaContextSequence, Token } from '../../src/core/scoring/local/llamaTypes';

export interface FullSoftmax {
  /** log p(ids[j] | ids[<j]) for j = 1..n-1. */
  logprobs: number[];
  /** Positions j whose token is not the model's most likely next token. */
  notArgmax: number;
}

/** Evaluates `ids` on `sequence` (emptied first) asking for all `vocabulary` logits at each position. */
export async function fullSoftmax(sequence: LlamaContextSequence, ids: number[], vocabulary: number): Promise<FullSoftmax> {
  await sequence.clearHistory();
  const input = ids.map((t, i) => (i < ids.length - 1 ? [t as Token, { generateNext: { logits: true } }] : (t as Token)));
  const output = await sequence.controlledEvaluate(input as Parameters<typeof sequence.controlledEvaluate>[0]);
  const logprobs: number[] = [];
  let notArgmax = 0;
  for (let j = 1; j < ids.length; j++) {
    const logits = output[j - 1]?.next.logits;
    assert.ok(logits && logits.size === vocabulary, `all ${vocabulary} logits at position ${j - 1}`);
    let max = -Infinity;
    let argmax = -1;
    for (const [token, value] of logits) if (value > max) [max, argmax] = [value, Number(token)];
    let sum = 0;
    for (const value of logits.values()) sum += Math.exp(value - max);
    const target = logits.get(ids[j] as Token);
    assert.ok(target !== undefined);
    logprobs.push(target - max - Math.log(sum));
    if (argmax !== ids[j]) notArgmax++;
    output[j - 1] = undefined as never; // a large vocabulary's maps are big: let each go
  }
  return { logprobs, notArgmax };
}
