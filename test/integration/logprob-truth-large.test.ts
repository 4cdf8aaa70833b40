// The full-softmax check of logprob-truth.test.ts at a real student's vocabulary size: a synthetic
// llama GGUF with random weights and Qwen's 151,936 entries (written by the test itself), so a
// log-prob computation that only works for small vocabularies (float32 sums, a filter that loses
// the max, a wrong argmax) shows here. Every position of a story and of random ids drawn from the
// whole vocabulary is compared with a float64 log-softmax over all logits.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { LocalScorer } from '../../src/core/scoring/local';
import type { LlamaContext, LlamaModel, NodeLlamaCpp, Token } from '../../src/core/scoring/local/llamaTypes';
import { bundledModel, tempDir } from '../helpers/paths';
import { baseTokensOf, writeSyntheticModel } from '../helpers/syntheticGguf';

const VOCAB = 151_936;
// node-llama-cpp sums Σ exp(l − max) in float32, one term after another: over 151,936 terms that
// sum loses about 1e-4 of its value (the small terms added to a large total), i.e. ~1e-4 nats on
// every log-prob, all in the same direction (so it cancels in IFD's and r-IFD's ratios). A
// computation that lost the max or used the wrong entry is off by whole nats.
const TOLERANCE = 1e-3;

let modelPath: string;
let scorer: LocalScorer;
let model: LlamaModel;
let context: LlamaContext;

before(async () => {
  modelPath = join(tempDir('sift-large-vocab-'), `synthetic-${VOCAB}.gguf`);
  writeSyntheticModel(modelPath, { vocabulary: VOCAB, baseTokens: await baseTokensOf(bundledModel) });
  scorer = await LocalScorer.load({ modelPath });
  const { getLlama } = (await import('node-llama-cpp')) as NodeLlamaCpp;
  const llama = await getLlama({ gpu: false, build: 'never' });
  model = await llama.loadModel({ modelPath });
  context = await model.createContext({ contextSize: 512 });
});
after(async () => {
  await context?.dispose();
  await model?.dispose();
  await scorer?.close();
});

/** log p(ids[j] | ids[<j]) from every logit, one position at a time (the maps are large). */
async function fullSoftmax(ids: number[]): Promise<{ logprobs: number[]; notArgmax: number }> {
  const sequence = context.getSequence();
  try {
    const input = ids.map((t, i) => (i < ids.length - 1 ? [t as Token, { generateNext: { logits: true } }] : (t as Token)));
    const output = await sequence.controlledEvaluate(input as Parameters<typeof sequence.controlledEvaluate>[0]);
    const logprobs: number[] = [];
    let notArgmax = 0;
    for (let j = 1; j < ids.length; j++) {
      const logits = output[j - 1]?.next.logits;
      assert.ok(logits && logits.size === VOCAB, `all ${VOCAB} logits at position ${j - 1}`);
      let max = -Infinity;
      let argmax = -1;
      for (const [token, value] of logits) if (value > max) [max, argmax] = [value, Number(token)];
      let sum = 0;
      for (const value of logits.values()) sum += Math.exp(value - max);
      logprobs.push((logits.get(ids[j] as Token) as number) - max - Math.log(sum));
      if (argmax !== ids[j]) notArgmax++;
      output[j - 1] = undefined as never; // let the map go
    }
    return { logprobs, notArgmax };
  } finally {
    sequence.dispose();
  }
}

test(`a ${VOCAB.toLocaleString('en')}-entry vocabulary: every log-prob equals the full-vocabulary log-softmax`, async (t) => {
  assert.equal(scorer.vocabSize, VOCAB);
  const [story] = await scorer.tokenize(['Once upon a time, there was a little girl named Lily. She had a red ball.']);
  let seed = 12345;
  const next = (): number => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
  // Ids from the whole vocabulary, the padding entries past the bundled model's 512 included.
  const randomIds = Array.from({ length: 24 }, () => 3 + (next() % (VOCAB - 3)));
  assert.ok(randomIds.some((id) => id > 100_000));
  for (const ids of [[1, ...story], [1, ...randomIds]]) {
    const expected = await fullSoftmax(ids);
    // Random weights: almost no position is the argmax, so the max must be found, not assumed.
    assert.ok(expected.notArgmax >= ids.length - 3, `${expected.notArgmax} of ${ids.length - 1} positions are not the argmax`);
    const [actual] = await scorer.logprobs([ids]);
    const worst = Math.max(...expected.logprobs.map((x, j) => Math.abs((actual[j] as number) - x)));
    t.diagnostic(`largest difference from the float64 log-softmax: ${worst.toExponential(2)} nats`);
    for (let j = 0; j < expected.logprobs.length; j++) {
      assert.ok(Math.abs((actual[j] as number) - (expected.logprobs[j] as number)) < TOLERANCE, `position ${j + 1}: ${actual[j]} vs ${expected.logprobs[j]}`);
    }
  }
});
