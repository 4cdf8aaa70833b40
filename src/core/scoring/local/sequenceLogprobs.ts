import type { LlamaContextSequence, Token } from './llamaTypes';

/** A context sequence together with what it currently holds and the log-probs computed for it. */
export interface EvaluatingSequence {
  sequence: LlamaContextSequence;
  ids: number[];
  lp: Float64Array;
}

/**
 * log p(ids[j] | ids[<j]) for j = 1..n-1 on one context sequence.
 *
 * The KV cache keeps the previous sequence. If it shares a prefix of p tokens with this one, the
 * log-probs of tokens 1..p-1 are the previous ones (same prefix, same causal computation), and only
 * tokens from p-1 on are evaluated again: token p-1 is re-evaluated because its logits (the
 * prediction of token p) were not kept.
 *
 * Log-probs are only extracted for tokens from `needFrom` on (NaN before): each extraction is a
 * call into llama.cpp per position, and a prompt's own tokens are rarely scored.
 */
export async function sequenceLogprobs(state: EvaluatingSequence, ids: number[], needFrom = 1): Promise<Float64Array> {
  const lp = new Float64Array(Math.max(0, ids.length - 1)).fill(Number.NaN);
  if (ids.length < 2) return lp;
  const shared = commonPrefixLength(state.ids, ids);
  let keep = Math.max(0, Math.min(shared, ids.length) - 1);
  // A reused position must have been extracted last time if this sequence needs it.
  for (let j = Math.max(0, needFrom - 1); j < keep; j++) {
    if (Number.isNaN(state.lp[j])) {
      keep = j;
      break;
    }
  }
  lp.set(state.lp.subarray(0, keep));
  const { sequence } = state;
  if (sequence.nextTokenIndex > keep) {
    await sequence.eraseContextTokenRanges([{ start: keep, end: sequence.nextTokenIndex }]);
  }
  const tail = ids.slice(keep);
  const input = tail.map((token, i) => {
    const next = tail[i + 1];
    // Position keep + i predicts token keep + i + 1.
    if (next === undefined || keep + i + 1 < needFrom) return token as Token;
    return [
      token as Token,
      { generateNext: { logits: { filter: { tokens: [next as Token], includeMax: true } }, totalLogitWeight: true } },
    ] as [Token, { generateNext: { logits: { filter: { tokens: Token[]; includeMax: boolean } }; totalLogitWeight: boolean } }];
  });
  const output = await sequence.controlledEvaluate(input);
  for (let i = Math.max(0, needFrom - 1 - keep); i + 1 < tail.length; i++) {
    const next = output[i]?.next;
    const logits = next?.logits;
    const total = next?.totalLogitWeight;
    if (!logits || total === undefined) throw new Error(`llama.cpp returned no logits at position ${keep + i}`);
    // The map is ordered by logit, highest first, and includes the max: log softmax = l - max - log Σ exp(l_i - max).
    const max = logits.values().next().value as number;
    const target = logits.get(tail[i + 1] as Token);
    if (target === undefined) throw new Error(`llama.cpp returned no logit for token ${tail[i + 1]}`);
    lp[keep + i] = target - max - Math.log(total);
  }
  state.ids = ids;
  state.lp = lp;
  return lp;
}

function commonPrefixLength(a: number[], b: number[]): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
}
