// The local sampler's generation loop, checked against llama.cpp's raw logits computed here: greedy
// decoding picks the argmax at every step, temperature reshapes the distribution as softmax(l / T),
// top-p keeps the nucleus, a stop string ends the text before it, and a seed fixes the sample.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { LocalGenerator, type Generation, type GenerationOptions } from '../../src/core/reasoning/sample/localGenerator';
import type { LlamaContext, LlamaModel, NodeLlamaCpp, Token } from '../../src/core/scoring/local/llamaTypes';
import { fullSoftmax } from '../helpers/fullSoftmax';
import { bundledModel } from '../helpers/paths';

const VOCAB = 512;
let generator: LocalGenerator;
let model: LlamaModel;
let context: LlamaContext;
let truthSequence: ReturnType<LlamaContext['getSequence']>;

before(async () => {
  generator = await LocalGenerator.load({ modelPath: bundledModel, threads: 1 });
  const { getLlama } = (await import('node-llama-cpp')) as NodeLlamaCpp;
  const llama = await getLlama({ gpu: false, build: 'never' });
  model = await llama.loadModel({ modelPath: bundledModel });
  context = await model.createContext({ contextSize: 512 });
  truthSequence = context.getSequence();
});
after(async () => {
  await context.dispose();
  await model.dispose();
  await generator.close();
});

const options = (o: Partial<GenerationOptions>): GenerationOptions => ({ temperature: 1, topP: 1, maxTokens: 32, stop: [], ...o });

async function generate(ids: number[], seeds: number[], o: GenerationOptions): Promise<Generation[]> {
  const out: Generation[] = [];
  await generator.generate(ids, seeds, o, (i, g) => (out[i] = g));
  return out;
}

/** Every raw logit after `ids`, from a separate context. */
async function nextLogits(ids: number[]): Promise<Map<number, number>> {
  await truthSequence.clearHistory();
  const input = ids.map((t, i) => (i === ids.length - 1 ? [t as Token, { generateNext: { logits: true } }] : (t as Token)));
  const output = await truthSequence.controlledEvaluate(input as Parameters<typeof truthSequence.controlledEvaluate>[0]);
  const logits = output[ids.length - 1]?.next.logits;
  assert.ok(logits && logits.size === VOCAB);
  return new Map([...logits].map(([t, l]) => [Number(t), l]));
}

function softmax(logits: Map<number, number>, temperature: number): Map<number, number> {
  const max = Math.max(...logits.values());
  const weights = new Map([...logits].map(([t, l]) => [t, Math.exp((l - max) / temperature)]));
  const sum = [...weights.values()].reduce((a, b) => a + b, 0);
  return new Map([...weights].map(([t, w]) => [t, w / sum]));
}

const prompt = (text: string): number[] => generator.encode(text);

test('greedy decoding (temperature 0) takes the most likely token at every step', async () => {
  const ids = prompt('Once upon a time, there was a little');
  const [g] = await generate(ids, [7], options({ temperature: 0, maxTokens: 12 }));
  assert.equal(g.tokenIds.length, 12);
  assert.equal(g.finishReason, 'length');
  const withPrompt = await fullSoftmax(truthSequence, ids, VOCAB);
  const whole = await fullSoftmax(truthSequence, [...ids, ...g.tokenIds], VOCAB);
  // The prompt's own positions are the same in both (causal model): the rest are the generated tokens.
  assert.equal(whole.notArgmax - withPrompt.notArgmax, 0, 'every generated token is the argmax of its position');
  assert.equal(g.text, generator.detokenize(g.tokenIds, false, ids));
  assert.ok(g.text.startsWith(' '), `"${g.text}" continues the prompt's last word with a space`);
});

test('temperature: first tokens are distributed as softmax(logits / T) over the whole vocabulary', async () => {
  const ids = prompt('The dog');
  const logits = await nextLogits(ids);
  const seeds = Array.from({ length: 400 }, (_, i) => 1000 + i);
  const drawn = await generate(ids, seeds, options({ temperature: 2, maxTokens: 1 }));
  // Three groups by rank (the top token, the next four, the rest): 400 samples estimate each group's
  // mass to about ±0.025, where a per-token comparison over 512 tokens would be all noise.
  const byRank = [...logits].sort((a, b) => b[1] - a[1]).map(([t]) => t);
  const group = (t: number): number => (t === byRank[0] ? 0 : byRank.slice(1, 5).includes(t) ? 1 : 2);
  const masses = (p: Map<number, number>): number[] => {
    const m = [0, 0, 0];
    for (const [t, q] of p) m[group(t)]! += q;
    return m;
  };
  const observed = [0, 0, 0];
  for (const g of drawn) observed[group(g.tokenIds[0]!)]! += 1 / seeds.length;
  const atT2 = masses(softmax(logits, 2));
  const atT05 = masses(softmax(logits, 0.5));
  const gap = (m: number[]): number => Math.max(...m.map((q, i) => Math.abs(q - observed[i]!)));
  assert.ok(gap(atT2) < 0.08, `observed ${observed.map((q) => q.toFixed(3))} vs softmax(l/2) ${atT2.map((q) => q.toFixed(3))}`);
  assert.ok(gap(atT05) > 0.2, `softmax(l/0.5) ${atT05.map((q) => q.toFixed(3))} should not fit ${observed.map((q) => q.toFixed(3))}`);
});

test('top-p keeps every sample inside the nucleus of the distribution', async () => {
  const ids = prompt('Lily saw a');
  const p = softmax(await nextLogits(ids), 1);
  // llama.cpp applies top-p before the temperature: the nucleus of the untempered distribution.
  const sorted = [...p].sort((a, b) => b[1] - a[1]);
  const nucleus = new Set<number>();
  let mass = 0;
  for (const [t, q] of sorted) {
    nucleus.add(t);
    mass += q;
    if (mass >= 0.5) break;
  }
  assert.ok(nucleus.size > 1 && nucleus.size < 50, `nucleus of ${nucleus.size} tokens`);
  const drawn = await generate(ids, Array.from({ length: 200 }, (_, i) => i), options({ temperature: 1.5, topP: 0.5, maxTokens: 1 }));
  const outside = drawn.filter((g) => !nucleus.has(g.tokenIds[0] ?? -1));
  assert.equal(outside.length, 0, `${outside.length} samples outside the nucleus`);
  assert.ok(new Set(drawn.map((g) => g.tokenIds[0])).size > 1, 'more than one token of the nucleus is drawn');
});

test('a stop string ends the text before it (vLLM leaves it out) with finish "stop"', async () => {
  const ids = prompt('Once upon a time');
  const [free] = await generate(ids, [3], options({ temperature: 0, maxTokens: 40 }));
  // A stop string taken from the middle of the free text: the text must end right before its first occurrence.
  const stop = free.text.slice(12, 16);
  const expected = free.text.slice(0, free.text.indexOf(stop));
  const [stopped] = await generate(ids, [3], options({ temperature: 0, maxTokens: 40, stop: ['@@never@@', stop] }));
  assert.equal(stopped.text, expected);
  assert.equal(stopped.finishReason, 'stop');
  assert.equal(stopped.stopReason, stop);
});

test('same seed, same sample, whatever ran before; another seed, another sample', async () => {
  const ids = prompt('Tim had a big');
  const o = options({ temperature: 1.1, maxTokens: 24 });
  const [a] = await generate(ids, [42], o);
  await generate(prompt('Something else entirely happened'), [1, 2], o);
  const [again, other] = await generate(ids, [42, 43], o);
  assert.equal(again.text, a.text);
  assert.deepEqual(again.tokenIds, a.tokenIds);
  assert.notEqual(other.text, a.text);
  // The second sample of a two-seed call is what a call for that seed alone draws (a resumed run).
  const [alone] = await generate(ids, [43], o);
  assert.equal(alone.text, other.text);
});

test('a prompt with no room for max_tokens is refused with vLLM\'s words, before anything runs', async () => {
  const ids = [1, ...new Array(500).fill(300)];
  await assert.rejects(generate(ids, [1], options({ maxTokens: 20 })), /You passed 501 input tokens and requested 20 output tokens\. However, the model's context length is only 512 tokens/);
  const [fits] = await generate(ids, [1], options({ maxTokens: 11 }));
  assert.ok(fits.tokenIds.length <= 11);
});
