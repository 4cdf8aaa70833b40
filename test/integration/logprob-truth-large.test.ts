// The full-softmax check of logprob-truth.test.ts at a real student's vocabulary size: a synthetic
// llama GGUF with random weights and Qwen's 151,936 entries (written by the test itself), so a
// log-prob computation that only works for small vocabularies (float32 sums, a filter that loses
// the max, a wrong argmax) shows here. Every position of a story and of random ids drawn from the
// whole vocabulary is compared with a float64 log-softmax over all logits.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { LocalScorer } from '../../src/core/scoring/local';
import type { LlamaContext, LlamaModel, NodeLlamaCpp } from '../../src/core/scoring/local/llamaTypes';
import { fullSoftmax } from '../helpers/fullSoftmax';
import { bundledModel, tempDir } from '../helpers/paths';
import { seededRandom } from '../helpers/random';
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
let truthSequence: ReturnType<LlamaContext['getSequence']>;

before(async () => {
  modelPath = join(tempDir('sift-large-vocab-'), `synthetic-${VOCAB}.gguf`);
  writeSyntheticModel(modelPath, { vocabulary: VOCAB, baseTokens: await baseTokensOf(bundledModel) });
  scorer = await LocalScorer.load({ modelPath });
  const { getLlama } = (await import('node-llama-cpp')) as NodeLlamaCpp;
  const llama = await getLlama({ gpu: false, build: 'never' });
  model = await llama.loadModel({ modelPath });
  context = await model.createContext({ contextSize: 512 });
  truthSequence = context.getSequence();
});
after(async () => {
  await context?.dispose();
  await model?.dispose();
  await scorer?.close();
});

test(`a ${VOCAB.toLocaleString('en')}-entry vocabulary: every log-prob equals the full-vocabulary log-softmax`, async (t) => {
  assert.equal(scorer.vocabSize, VOCAB);
  const [story] = await scorer.tokenize(['Once upon a time, there was a little girl named Lily. She had a red ball.']);
  const rnd = seededRandom(12345);
  // Ids from the whole vocabulary, the padding entries past the bundled model's 512 included.
  const randomIds = Array.from({ length: 24 }, () => 3 + Math.floor(rnd() * (VOCAB - 3)));
  assert.ok(randomIds.some((id) => id > 100_000));
  for (const ids of [[1, ...story], [1, ...randomIds]]) {
    const expected = await fullSoftmax(truthSequence, ids, VOCAB);
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
