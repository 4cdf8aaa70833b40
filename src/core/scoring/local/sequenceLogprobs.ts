import type { LlamaContextSequence, Token } from './llamaTypes';

type EvaluateInput = Parameters<LlamaContextSequence['controlledEvaluate']>[0];

/** A context sequence together with what it currently holds and the log-probs computed for it. */
export interface EvaluatingSequence {
  sequence: LlamaContextSequence;
  ids: number[];
  lp: Float64Array;
}

/**
 * What llama.cpp is asked for at each scored position: the logits of the target token and of the
 * token the greedy sampler selects (the argmax: temperature 0 makes node-llama-cpp's sampler chain
 * the greedy sampler alone, which leaves the logits untouched), and Σ exp(l_i − max) over the whole
 * vocabulary. Then log softmax(target) = l_target − l_max − log Σ.
 *
 * Why not `includeMax`: in node-llama-cpp 3.22.1 (llama/addon/AddonContext.cpp, SampleToken) the max
 * token is added only when it is *already* in the returned list (`std::any_of` where `none_of` was
 * meant), so when the target is not the argmax the map holds the target alone and "the first entry"
 * is the target's own logit: the result was −log Σ, far too high. `includeTop: 1` would be correct
 * but sorts the whole vocabulary at every position (16× the cost of the logits at 152k entries).
 * `includeSelected` with greedy sampling costs the same passes over the vocabulary as the broken form.
 */
const SCORE_NEXT = (next: Token) => ({
  generateNext: {
    logits: { filter: { tokens: [next], includeSelected: true } },
    totalLogitWeight: true,
    options: { temperature: 0 },
  },
});

/** The greedy token after the last position, with its logit, Σ exp(l − max) and the argmax's logit. */
const GREEDY_NEXT = {
  generateNext: {
    token: true,
    logits: { filter: { tokens: [] as Token[], includeSelected: true } },
    totalLogitWeight: true,
    options: { temperature: 0 },
  },
};

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
 *
 * A failed evaluation leaves the KV cache in an unknown state (part of a batch may have been
 * decoded): the sequence is then emptied and remembered as holding nothing, so no later call
 * reuses a prefix of it.
 */
export async function sequenceLogprobs(state: EvaluatingSequence, ids: number[], needFrom = 1): Promise<Float64Array> {
  return (await evaluateSequence(state, ids, needFrom, false)).lp;
}

/** The most likely token after a sequence and its log-prob (a greedy decoding step). */
export interface GreedyNext {
  token: number;
  logprob: number;
}

/**
 * sequenceLogprobs, and with `withNext` also the greedy token after the last one (what vLLM's one
 * generated token is at temperature 0), read from the same evaluation: the last position is always
 * evaluated, because its logits are never kept.
 */
export async function evaluateSequence(
  state: EvaluatingSequence,
  ids: number[],
  needFrom: number,
  withNext: boolean,
): Promise<{ lp: Float64Array; next?: GreedyNext }> {
  const lp = new Float64Array(Math.max(0, ids.length - 1)).fill(Number.NaN);
  if (ids.length < (withNext ? 1 : 2)) return { lp };
  let next: GreedyNext | undefined;
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
  try {
    if (sequence.nextTokenIndex > keep) {
      await sequence.eraseContextTokenRanges([{ start: keep, end: sequence.nextTokenIndex }]);
    }
    const tail = ids.slice(keep);
    const input: EvaluateInput = tail.map((token, i): EvaluateInput[number] => {
      const next = tail[i + 1];
      // Position keep + i predicts token keep + i + 1.
      if (next === undefined) return withNext ? [token as Token, GREEDY_NEXT] : (token as Token);
      if (keep + i + 1 < needFrom) return token as Token;
      return [token as Token, SCORE_NEXT(next as Token)];
    });
    const output = await sequence.controlledEvaluate(input);
    for (let i = Math.max(0, needFrom - 1 - keep); i + 1 < tail.length; i++) {
      const position = keep + i;
      lp[position] = logSoftmaxAt(output[i]?.next, tail[i + 1] as Token, position);
    }
    if (withNext) {
      const last = output[tail.length - 1]?.next;
      const token = last?.token;
      if (token === undefined || token === null) throw new Error(`llama.cpp selected no token after position ${ids.length - 1}`);
      next = { token: Number(token), logprob: logSoftmaxAt(last, token, ids.length - 1) };
    }
  } catch (error) {
    await forget(state);
    throw error;
  }
  state.ids = ids;
  state.lp = lp;
  return next ? { lp, next } : { lp };
}

interface NextTokenOutput {
  logits?: ReadonlyMap<Token, number>;
  totalLogitWeight?: number;
  token?: Token | null;
}

/** log softmax of `target` from the filtered logits (target and argmax) and Σ exp(l_i − max). */
export function logSoftmaxAt(next: NextTokenOutput | undefined, target: Token, position: number): number {
  const logits = next?.logits;
  const total = next?.totalLogitWeight;
  if (!logits || total === undefined) throw new Error(`llama.cpp returned no logits at position ${position}`);
  const logit = logits.get(target);
  if (logit === undefined) throw new Error(`llama.cpp returned no logit for token ${target} at position ${position}`);
  let max = -Infinity;
  for (const value of logits.values()) if (value > max) max = value;
  // Σ exp(l_i − max) ≥ 1 (the max contributes 1). Whether the selected token really is the argmax
  // is not checked here: asking for its probability (`confidence`) makes llama.cpp sort the whole
  // vocabulary. The tests compare every position with a log-softmax over all logits instead.
  if (!Number.isFinite(max) || !(total >= 1 - 1e-6)) {
    throw new Error(`llama.cpp returned an inconsistent distribution at position ${position} (Σ exp(l − max) = ${total})`);
  }
  return logit - max - Math.log(total);
}

/** Empties the sequence after a failure; if even that fails, the ids are still forgotten. */
async function forget(state: EvaluatingSequence): Promise<void> {
  state.ids = [];
  state.lp = new Float64Array(0);
  try {
    await state.sequence.clearHistory();
  } catch {
    // The next call erases from position 0 anyway (state.ids is empty, so nothing is kept).
  }
}

function commonPrefixLength(a: number[], b: number[]): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
}
