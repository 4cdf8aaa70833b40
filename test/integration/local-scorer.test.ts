import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { LocalScorer } from '../../src/core/scoring/local';
import type { NodeLlamaCpp } from '../../src/core/scoring/local/llamaTypes';
import { sequenceLogprobs, type EvaluatingSequence } from '../../src/core/scoring/local/sequenceLogprobs';
import { bundledModel } from '../helpers/paths';

let scorer: LocalScorer;
before(async () => {
  scorer = await LocalScorer.load({ modelPath: bundledModel });
});
after(async () => {
  await scorer.close();
});

const natural = 'Once upon a time, there was a little girl named Lily. She loved to play outside in the park.';

test('the bundled model loads with its BOS and context', () => {
  assert.equal(scorer.bosId, 1);
  assert.equal(scorer.maxContext, 512);
  assert.match(scorer.modelId, /^gguf:stories260K\.gguf:[0-9a-f]{16}$/);
});

test('log-probs: one per token after the first, all <= 0; natural text beats shuffled words', async () => {
  const [ids] = await scorer.tokenize([natural]);
  const shuffled = natural.split(' ').sort().join(' ');
  const [shuffledIds] = await scorer.tokenize([shuffled]);
  const [lp, lpShuffled] = await scorer.logprobs([[1, ...ids], [1, ...shuffledIds]]);
  assert.equal(lp.length, ids.length);
  for (const x of lp) assert.ok(x <= 1e-9 && Number.isFinite(x));
  const mean = (a: Float64Array): number => -a.reduce((s, x) => s + x, 0) / a.length;
  // The model's own README figure: ~0.18 nats/token for this sentence.
  assert.ok(Math.abs(mean(lp) - 0.18) < 0.02, `mean NLL ${mean(lp)}`);
  assert.ok(mean(lpShuffled) > 3 * mean(lp), `shuffled ${mean(lpShuffled)} vs ${mean(lp)}`);
});

test('results do not depend on batch composition or prefix reuse', async () => {
  const [a, b, c] = await scorer.tokenize([natural, ' She had a red ball.', ' The dog ran away.']);
  const sequences = [[1, ...a, ...b], [1, ...a, ...c], [1, ...b], [1, ...a]];
  const together = await scorer.logprobs(sequences);
  for (let i = 0; i < sequences.length; i++) {
    const [alone] = await scorer.logprobs([sequences[i]]);
    assert.deepEqual(Array.from(together[i]), Array.from(alone), `sequence ${i}`);
  }
});

test('log-probs agree with the full softmax distribution llama.cpp reports', async () => {
  // An independent path: node-llama-cpp's own probabilities over the whole vocabulary. On `natural`
  // alone this test once passed on wrong code: every one of its 31 tokens is the model's top choice,
  // the one case the old `includeMax` read got right. The shuffled text makes most positions
  // surprising; logprob-truth.test.ts checks every position of several such texts.
  const { getLlama } = (await import('node-llama-cpp')) as NodeLlamaCpp;
  const llama = await getLlama({ gpu: false, build: 'never' });
  const model = await llama.loadModel({ modelPath: bundledModel });
  const context = await model.createContext({ contextSize: 512 });
  try {
    const shuffled = natural.split(' ').reverse().join(' ');
    const ids = [1, ...(await scorer.tokenize([natural + ' ' + shuffled]))[0]];
    const [lp] = await scorer.logprobs([ids]);
    const sequence = context.getSequence();
    const out = await sequence.controlledEvaluate(ids.map((t, i) => (i < ids.length - 1 ? [t, { generateNext: { probabilities: true } }] : t)) as never);
    for (let j = 1; j < ids.length; j++) {
      const p = out[j - 1]?.next.probabilities?.get(ids[j] as never);
      assert.ok(p !== undefined && p > 0);
      assert.ok(Math.abs(Math.log(p) - lp[j - 1]) < 1e-4, `position ${j}: ${Math.log(p)} vs ${lp[j - 1]}`);
    }
  } finally {
    await context.dispose();
    await model.dispose();
  }
});

test('a sequence longer than the context is refused, not silently shifted', async () => {
  await assert.rejects(scorer.logprobs([new Array(600).fill(300)]), /exceeds the model context/);
});

test('needFrom skips log-probs before it (NaN) and leaves the rest exactly as a full extraction', async () => {
  const [a, b] = await scorer.tokenize(['The dog ran to the park.', 'Lily had a red ball.']);
  // Something unrelated first, so nothing of this sequence is in the cache.
  await scorer.logprobs([[1, ...b, ...b]]);
  const full = [1, ...a, ...b];
  const from = 1 + a.length;
  const [partial] = await scorer.logprobs([full], undefined, [from]);
  // A different sequence in between, so the next call cannot reuse NaN positions it needs.
  await scorer.logprobs([[1, ...b]]);
  const [complete] = await scorer.logprobs([full]);
  for (let j = 1; j < full.length; j++) {
    if (j < from - 1) assert.ok(Number.isNaN(partial[j - 1]), `position ${j} should be skipped`);
    else if (j < from) continue;
    else assert.equal(partial[j - 1], complete[j - 1], `position ${j}`);
  }
  // Reusing the partial sequence's prefix for a request that needs everything must not copy NaNs.
  await scorer.logprobs([full], undefined, [from]);
  const [again] = await scorer.logprobs([full]);
  assert.deepEqual(Array.from(again), Array.from(complete));
});

test('an id outside the vocabulary is refused before evaluation; a failed evaluation leaves nothing behind', async () => {
  assert.equal(scorer.vocabSize, 512);
  const [ids] = await scorer.tokenize(['Once upon a time there was a cat.']);
  const sequence = [1, ...ids];
  const [before] = await scorer.logprobs([sequence]);
  await assert.rejects(scorer.logprobs([[1, 999999]]), /Token id 999999 is out of vocabulary/);
  await assert.rejects(scorer.logprobs([[1, ...ids.slice(0, 3), 512]]), /Token id 512 is out of vocabulary/);
  const [after] = await scorer.logprobs([sequence]);
  assert.deepEqual(Array.from(after), Array.from(before));
});

test('sequenceLogprobs: after llama.cpp fails an evaluation, the sequence reuses nothing of it', async () => {
  // Below LocalScorer's id check, so llama.cpp itself fails ("Eval has failed") part-way.
  const { getLlama } = (await import('node-llama-cpp')) as NodeLlamaCpp;
  const llama = await getLlama({ gpu: false, build: 'never' });
  const model = await llama.loadModel({ modelPath: bundledModel });
  const context = await model.createContext({ contextSize: 512 });
  try {
    const state: EvaluatingSequence = { sequence: context.getSequence(), ids: [], lp: new Float64Array(0) };
    const [cat, time] = await scorer.tokenize(['Once upon a time there was a cat.', 'Once upon a time']);
    const first = [1, ...cat];
    const expected = Array.from(await sequenceLogprobs(state, first));
    await sequenceLogprobs(state, [1, ...time]);
    await assert.rejects(sequenceLogprobs(state, [1, ...time, 999999, 5]));
    assert.deepEqual(state.ids, [], 'the failed sequence is forgotten');
    await sequenceLogprobs(state, [1, ...time]);
    for (let repeat = 0; repeat < 2; repeat++) {
      assert.deepEqual(Array.from(await sequenceLogprobs(state, first)), expected, `repeat ${repeat}`);
    }
  } finally {
    await context.dispose();
    await model.dispose();
  }
});
