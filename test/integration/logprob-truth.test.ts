// Every log-prob the local engine and `sift serve` report is checked, at every position, against a
// log-softmax over the whole vocabulary computed here in float64 from llama.cpp's raw logits.
//
// The texts are ones the model finds surprising (shuffled words, an instruction paired with another
// story's response, random token ids): at most of their positions the next token is NOT the model's
// top choice. A computation that is only right for the argmax token (the bug this file was written
// for: −log Σ exp(l − max) instead of l − max − log Σ) passes on natural text and fails here.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { LocalScorer } from '../../src/core/scoring/local';
import type { LlamaContext, LlamaModel, NodeLlamaCpp } from '../../src/core/scoring/local/llamaTypes';
import { startServe } from '../helpers/cli';
import { fullSoftmax, type FullSoftmax } from '../helpers/fullSoftmax';
import { bundledModel } from '../helpers/paths';
import { seededRandom } from '../helpers/random';

const VOCAB = 512;
const TOLERANCE = 1e-4; // llama.cpp sums Σ exp in float32

let scorer: LocalScorer;
let model: LlamaModel;
let context: LlamaContext;
let truthSequence: ReturnType<LlamaContext['getSequence']>;
let serve: Awaited<ReturnType<typeof startServe>>;

before(async () => {
  scorer = await LocalScorer.load({ modelPath: bundledModel });
  const { getLlama } = (await import('node-llama-cpp')) as NodeLlamaCpp;
  const llama = await getLlama({ gpu: false, build: 'never' });
  model = await llama.loadModel({ modelPath: bundledModel });
  context = await model.createContext({ contextSize: 512 });
  truthSequence = context.getSequence();
  serve = await startServe();
});
after(async () => {
  await serve.stop();
  await context.dispose();
  await model.dispose();
  await scorer.close();
});

/** The independent computation: every raw logit at every position, softmax done here. */
function truth(ids: number[]): Promise<FullSoftmax> {
  return fullSoftmax(truthSequence, ids, VOCAB);
}

const story = 'Once upon a time, there was a little girl named Lily. She had a red ball.';
const otherStory = 'The big dog ran to the park. He saw a bird in a tree and barked at it all day.';

async function surprisingSequences(): Promise<{ name: string; ids: number[] }[]> {
  const shuffle = (text: string, seed: number): string => {
    const rnd = seededRandom(seed);
    const words = text.split(' ');
    for (let i = words.length - 1; i > 0; i--) {
      const k = Math.floor(rnd() * (i + 1));
      [words[i], words[k]] = [words[k], words[i]];
    }
    return words.join(' ');
  };
  const instruction = '### Instruction:\nWrite a story about a cat who learns to swim.\n\n### Response:\n';
  const [a, b, c, d] = await scorer.tokenize([story, shuffle(story, 7), instruction + otherStory, shuffle(otherStory, 11)]);
  const rnd = seededRandom(42);
  const randomIds = Array.from({ length: 60 }, () => 3 + Math.floor(rnd() * (VOCAB - 3)));
  return [
    { name: 'the issue\'s story', ids: [1, ...a] },
    { name: 'shuffled words', ids: [1, ...b] },
    { name: 'an instruction with another story\'s response', ids: [1, ...c] },
    { name: 'shuffled words of another story', ids: [1, ...d] },
    { name: 'random token ids', ids: [1, ...randomIds] },
  ];
}

function assertClose(actual: ArrayLike<number | null>, expected: number[], what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let j = 0; j < expected.length; j++) {
    const value = actual[j];
    assert.ok(typeof value === 'number' && Math.abs(value - expected[j]) < TOLERANCE, `${what}, position ${j + 1}: ${value} vs full softmax ${expected[j]}`);
  }
}

test('the texts are surprising: most positions are not the model\'s top choice', async () => {
  for (const { name, ids } of await surprisingSequences()) {
    const { notArgmax } = await truth(ids);
    // The story is what the model expects; the others must be mostly surprising.
    const minimum = name === 'the issue\'s story' ? 3 : Math.floor((ids.length - 1) / 2);
    assert.ok(notArgmax >= minimum, `${name}: only ${notArgmax} of ${ids.length - 1} positions are not the argmax`);
  }
});

test('the full-vocabulary log-softmax reproduces the figures measured outside the project', async () => {
  // Issue figures for the story, 1-based positions of `echo` token_logprobs (BOS is position 0).
  const { logprobs } = await truth((await surprisingSequences())[0].ids);
  assert.ok(Math.abs(logprobs[17 - 1] - -2.163) < 1e-3, `"had": ${logprobs[16]}`);
  assert.ok(Math.abs(logprobs[19 - 1] - -4.3637) < 1e-3, `"r": ${logprobs[18]}`);
  assert.ok(Math.abs(logprobs[23 - 1] - -2.1451) < 1e-3, `".": ${logprobs[22]}`);
});

test('local backend: every position of every surprising text equals the full-vocabulary log-softmax', async () => {
  const cases = await surprisingSequences();
  const expected: number[][] = [];
  for (const { ids } of cases) expected.push((await truth(ids)).logprobs);
  // All at once (spread over the engine's parallel sequences), then one by one in another order
  // (exercising the KV-cache prefix reuse between sequences).
  const together = await scorer.logprobs(cases.map((c) => c.ids));
  cases.forEach(({ name }, i) => assertClose(together[i], expected[i], `${name} (batched)`));
  for (const i of [4, 2, 0, 3, 1]) {
    const [alone] = await scorer.logprobs([cases[i].ids]);
    assertClose(alone, expected[i], `${cases[i].name} (alone)`);
  }
  // A sequence sharing a prefix with the one before it reuses that prefix's log-probs.
  const shared = [...cases[2].ids, ...cases[4].ids.slice(1, 20)];
  const [extended] = await scorer.logprobs([shared]);
  assertClose(extended, (await truth(shared)).logprobs, 'an instruction with another story, extended by random ids');
});

test('sift serve: echo token_logprobs at every position equal the full-vocabulary log-softmax', async () => {
  const cases = await surprisingSequences();
  const response = await fetch(`${serve.url}/v1/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ prompt: cases.map((c) => c.ids), echo: true, max_tokens: 0, logprobs: 0 }),
  });
  assert.equal(response.status, 200);
  const body = (await response.json()) as { choices: { index: number; logprobs: { token_logprobs: (number | null)[] } }[] };
  assert.equal(body.choices.length, cases.length);
  for (const choice of body.choices) {
    const { name, ids } = cases[choice.index];
    const [first, ...rest] = choice.logprobs.token_logprobs;
    assert.equal(first, null, `${name}: the first token has no log-prob`);
    assertClose(rest, (await truth(ids)).logprobs, `${name} via sift serve`);
  }
});
