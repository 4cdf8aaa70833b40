/**
 * `sift sample` on SGLang and TGI, against the fakes answering with the closed-form toy sample
 * (`toySample`): every sample is its own seeded generation (SGLang: one batch entry with
 * `sampling_seed`; TGI: one request with `seed`), sample i of a question has seed + i as on vLLM,
 * TGI's stop sequence is cut off, and a refused question fails alone.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BUILTIN_PROMPTS } from '../../src/core/reasoning/sample/prompts';
import type { Question } from '../../src/core/reasoning/sample/questions';
import { planSampling, sampleQuestions, type SamplingRun } from '../../src/core/reasoning/sample/sampleQuestions';
import { JournalSampleStore } from '../../src/core/reasoning/sample/sampleStore';
import { SglangSampler } from '../../src/core/reasoning/sample/sglangSampler';
import { TgiSampler } from '../../src/core/reasoning/sample/tgiSampler';
import type { StudentSampler } from '../../src/core/reasoning/sample/types';
import { FakeSglang, toySample, toyTokenize } from '../helpers/fake-sglang';
import { FakeTgi, tgiTokenize } from '../helpers/fake-tgi';
import { FAST } from '../helpers/http-backends';

/** Quick retries, but no timeout a loaded machine could hit: these tests count the requests sent. */
const POOL = { ...FAST, requestTimeoutMs: 60_000 };

const questions: Question[] = ['Tom has 3 apples. How many?', 'Sara has 2 cats. How many?', 'A box has 5 pens. How many?'].map((question, i) => ({ line: i + 1, id: `line-${i + 1}`, question }));
const run: SamplingRun = { k: 3, seed: 7, temperature: 0.8, topP: 1, maxTokens: 90, stop: ['\nQ:'], prompt: BUILTIN_PROMPTS['qa-0shot']!, chat: false };
const promptOf = (q: Question): string => `Q: ${q.question}\nA:`;

async function sampleWith(sampler: StudentSampler) {
  try {
    const store = JournalSampleStore.memory();
    const plan = await planSampling(questions, run, sampler, store);
    return await sampleQuestions(questions, run, sampler, store, plan);
  } finally {
    await sampler.close();
  }
}

describe('sift sample on SGLang', () => {
  let fake: FakeSglang;
  before(async () => {
    fake = await FakeSglang.start({ rejectIf: (ids) => (ids.includes('S'.codePointAt(0)! + 3) ? 'refused: Sara' : undefined) });
  });
  after(() => fake.close());

  it('sends every sample as its own entry with sampling_seed = seed + i, several questions per request', async () => {
    const { candidates, failures } = await sampleWith(await SglangSampler.connect({ urls: [fake.url], ...POOL, promptsPerRequest: 3 }));
    const bodies = fake.requestsTo('/generate').map((r) => r.body as { text: string[]; sampling_params: Record<string, unknown>[] });
    // The batch of three was refused for the second question and split until it was alone.
    assert.deepEqual(failures.map((f) => [f.line, /refused: Sara/.test(f.message)]), [[2, true]]);
    const first = bodies[0]!;
    assert.deepEqual(first.text, questions.flatMap((q) => [promptOf(q), promptOf(q), promptOf(q)]));
    assert.deepEqual(first.sampling_params.map((p) => p.sampling_seed), [7, 8, 9, 7, 8, 9, 7, 8, 9]);
    for (const p of first.sampling_params) assert.deepEqual(p, { max_new_tokens: 90, temperature: 0.8, top_p: 1, n: 1, sampling_seed: p.sampling_seed, stop: ['\nQ:'] });
    assert.equal(candidates.length, 6);
    for (const c of candidates) {
      const q = questions.find((x) => x.id === c.question_id)!;
      assert.equal(c.candidate, toySample(toyTokenize(promptOf(q), true), 7 + c.sample_index, run).text);
      assert.equal(c.model, 'sglang:toy-model');
    }
  });
});

describe('sift sample on TGI', () => {
  let fake: FakeTgi;
  before(async () => {
    fake = await FakeTgi.start({ rejectIf: (inputs) => (inputs.includes('Sara') ? 'refused: Sara' : undefined) });
  });
  after(() => fake.close());

  it('sends k seeded requests per question and cuts the stop sequence TGI leaves in the text', async () => {
    const { candidates, failures } = await sampleWith(await TgiSampler.connect({ urls: [fake.url], ...POOL }));
    assert.deepEqual(failures.map((f) => [f.line, /HTTP 422: Input validation error: refused: Sara/.test(f.message)]), [[2, true]]);
    const bodies = fake.requestsTo('/generate').map((r) => r.body as { inputs: string; parameters: Record<string, unknown> });
    const tom = bodies.filter((b) => b.inputs === promptOf(questions[0]!));
    assert.deepEqual(tom.map((b) => b.parameters.seed).sort(), [7, 8, 9]);
    // top_p 1 is left out (TGI refuses it), temperature > 0 samples.
    for (const b of tom) assert.deepEqual(b.parameters, { do_sample: true, seed: b.parameters.seed, max_new_tokens: 90, details: true, temperature: 0.8, stop: ['\nQ:'] });
    assert.equal(candidates.length, 6);
    for (const c of candidates) {
      const q = questions.find((x) => x.id === c.question_id)!;
      const want = toySample(tgiTokenize(promptOf(q)).map((t) => t.id), 7 + c.sample_index, run);
      assert.equal(c.candidate, want.text);
      assert.ok(!c.candidate.includes('\nQ:'));
      assert.equal(c.finish_reason, 'stop');
    }
  });
});
