/**
 * `sift sample`'s vLLM client against the fake vLLM server, whose samples have a closed form
 * (`toySample`): what the client sends (n, seed, temperature, top_p, max_tokens, stop, several
 * questions per request), what it makes of the answers (candidates, extracted answers, seeds per
 * sample), resuming from the sample store (only the missing samples are asked for, with their own
 * seeds), and a refused question failing alone.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BUILTIN_PROMPTS, renderTextPrompt } from '../../src/core/reasoning/sample/prompts';
import type { Question } from '../../src/core/reasoning/sample/questions';
import { planSampling, sampleQuestions, type SamplingRun } from '../../src/core/reasoning/sample/sampleQuestions';
import { JournalSampleStore } from '../../src/core/reasoning/sample/sampleStore';
import { VllmSampler } from '../../src/core/reasoning/sample/vllmSampler';
import { FakeVllm, toySample, toyTokenize } from '../helpers/fake-vllm';
import { FAST } from '../helpers/http-backends';

/** Quick retries, but no timeout a loaded machine could hit: these tests count the requests sent. */
const POOL = { ...FAST, requestTimeoutMs: 60_000 };
import { tempDir } from '../helpers/paths';

const questions: Question[] = [
  'Tom has 3 apples and buys 4 more. How many apples does he have?',
  'A box holds 12 eggs. How many eggs are in 5 boxes?',
  'Sara reads 20 pages a day. How many pages does she read in a week?',
  'There are 9 birds and 4 fly away. How many are left?',
  'A car travels 60 km per hour for 3 hours. How far does it go?',
].map((question, i) => ({ line: i + 1, id: `line-${i + 1}`, question, gold: `#### ${i}` }));

const run = (over: Partial<SamplingRun> = {}): SamplingRun => ({
  k: 4,
  seed: 10,
  temperature: 1.1,
  topP: 0.9,
  maxTokens: 80,
  stop: ['\nQ:'],
  prompt: BUILTIN_PROMPTS['qa-0shot']!,
  chat: false,
  ...over,
});

/** What the fake must have drawn for sample i of a question: its closed form on the prompt's ids. */
function expected(q: Question, i: number, r: SamplingRun) {
  return toySample(toyTokenize(renderTextPrompt(r.prompt, q.question), true), r.seed + i, r);
}

async function sampleAll(fake: FakeVllm, r: SamplingRun, store: JournalSampleStore, opts: { batch?: number; signal?: AbortSignal; onProgress?: () => void } = {}) {
  const sampler = await VllmSampler.connect({ urls: [fake.url], ...POOL, maxInFlightPerUrl: 1, promptsPerRequest: opts.batch ?? 2 });
  try {
    const plan = await planSampling(questions, r, sampler, store);
    return await sampleQuestions(questions, r, sampler, store, plan, { signal: opts.signal, onProgress: opts.onProgress });
  } finally {
    await sampler.close();
  }
}

const completionBodies = (fake: FakeVllm): Record<string, unknown>[] => fake.requestsTo('/v1/completions').map((r) => r.body as Record<string, unknown>);

describe('sift sample: vLLM client', () => {
  let fake: FakeVllm;
  before(async () => {
    fake = await FakeVllm.start({ maxModelLen: 512 });
  });
  after(() => fake.close());

  it('asks for k samples per question with n and seed, several questions per request, and keeps them in order', async () => {
    fake.requests.length = 0;
    const r = run();
    const { candidates, failures } = await sampleAll(fake, r, JournalSampleStore.memory());
    assert.deepEqual(failures, []);
    const bodies = completionBodies(fake);
    assert.equal(bodies.length, 3, '5 questions at 2 per request');
    assert.deepEqual(bodies.map((b) => (b.prompt as string[]).length), [2, 2, 1]);
    for (const b of bodies) {
      assert.deepEqual(
        { model: b.model, n: b.n, seed: b.seed, temperature: b.temperature, top_p: b.top_p, max_tokens: b.max_tokens, stop: b.stop },
        { model: 'toy-model', n: 4, seed: 10, temperature: 1.1, top_p: 0.9, max_tokens: 80, stop: ['\nQ:'] },
      );
    }
    assert.deepEqual(bodies.flatMap((b) => b.prompt as string[]), questions.map((q) => `Q: ${q.question}\nA:`));
    assert.equal(candidates.length, 20);
    candidates.forEach((c, n) => {
      const q = questions[Math.floor(n / 4)]!;
      const i = n % 4;
      const want = expected(q, i, r);
      assert.equal(c.question_id, q.id);
      assert.equal(c.sample_index, i);
      assert.equal(c.candidate, want.text);
      assert.equal(c.finish_reason, 'stop');
      assert.equal(c.gold, q.gold);
      assert.deepEqual(c.sampling, { temperature: 1.1, top_p: 0.9, seed: 10 + i, max_tokens: 80, k: 4, prompt: `Q: ${q.question}\nA:` });
      assert.equal(c.model, 'vllm:toy-model');
      // The answer is the number after "The answer is" in the text, which the closed form makes a + b.
      const sum = /: (\d+) \+ (\d+) = /.exec(want.text)!;
      assert.equal(c.answer, String(Number(sum[1]) + Number(sum[2])));
    });
    assert.ok(new Set(candidates.slice(0, 4).map((c) => c.candidate)).size > 1, 'the four samples of a question differ (their seeds do)');
  });

  it('a text cut by max_tokens is finish "length" and has no answer', async () => {
    const { candidates } = await sampleAll(fake, run({ k: 1, maxTokens: 20 }), JournalSampleStore.memory());
    for (const c of candidates) {
      assert.equal(c.finish_reason, 'length');
      assert.equal(c.candidate.length, 20);
      assert.equal(c.answer, null);
    }
  });

  it('resumes: a larger k asks only for the new samples, with their own seeds, and matches a fresh run', async () => {
    const dir = tempDir();
    const store = await JournalSampleStore.open(join(dir, 'samples.jsonl'));
    await sampleAll(fake, run({ k: 2 }), store);
    await store.close();
    fake.requests.length = 0;
    const reopened = await JournalSampleStore.open(join(dir, 'samples.jsonl'));
    const resumed = await sampleAll(fake, run(), reopened);
    const bodies = completionBodies(fake);
    assert.ok(bodies.length > 0);
    for (const b of bodies) assert.deepEqual([b.n, b.seed], [2, 12], 'samples 2 and 3: n 2 from seed 10 + 2');
    fake.requests.length = 0;
    const fresh = await sampleAll(fake, run(), JournalSampleStore.memory());
    assert.deepEqual(resumed.candidates, fresh.candidates);
    fake.requests.length = 0;
    const again = await sampleAll(fake, run(), reopened);
    assert.equal(completionBodies(fake).length, 0, 'everything is in the store: no request');
    assert.deepEqual(again.candidates, fresh.candidates);
  });

  it('stopped after the first request, a re-run sends only the requests of the questions still missing', async () => {
    const dir = tempDir();
    const store = await JournalSampleStore.open(join(dir, 'samples.jsonl'));
    fake.requests.length = 0;
    const stop = new AbortController();
    await assert.rejects(sampleAll(fake, run(), store, { batch: 1, signal: stop.signal, onProgress: () => stop.abort() }), { name: 'AbortError' });
    await store.close();
    const answered = completionBodies(fake).length;
    assert.ok(answered >= 1 && answered < 5, `${answered} request(s) before the stop`);
    fake.requests.length = 0;
    const resumed = await sampleAll(fake, run(), await JournalSampleStore.open(join(dir, 'samples.jsonl')), { batch: 1 });
    const asked = completionBodies(fake).map((b) => (b.prompt as string[])[0]);
    assert.ok(!asked.includes(`Q: ${questions[0]!.question}\nA:`), 'the first question was kept');
    assert.equal(asked.length, 4);
    assert.equal(resumed.candidates.length, 20);
    fake.requests.length = 0;
    assert.deepEqual(resumed.candidates, (await sampleAll(fake, run(), JournalSampleStore.memory())).candidates);
  });
});

describe('sift sample: a question the server refuses fails alone', () => {
  let fake: FakeVllm;
  before(async () => {
    // The third question's prompt is refused (as vLLM refuses a prompt too long for max_tokens).
    fake = await FakeVllm.start({ maxModelLen: 512, rejectIf: (ids) => (ids.includes('S'.codePointAt(0)! + 3) ? 'prompt refused: it mentions Sara' : undefined) });
  });
  after(() => fake.close());

  it('splits the batch until the refused question is alone; the others get their candidates', async () => {
    const { candidates, failures } = await sampleAll(fake, run(), JournalSampleStore.memory(), { batch: 5 });
    assert.equal(failures.length, 1);
    assert.equal(failures[0]!.line, 3);
    assert.match(failures[0]!.message, /HTTP 400: prompt refused: it mentions Sara/);
    assert.deepEqual([...new Set(candidates.map((c) => c.question_id))], ['line-1', 'line-2', 'line-4', 'line-5']);
    assert.equal(candidates.length, 16);
  });

  it('a prompt longer than the context allows with max_tokens is refused with vLLM\'s message', async () => {
    const long: SamplingRun = run({ maxTokens: 512 - 20 });
    const { failures } = await sampleAll(fake, long, JournalSampleStore.memory(), { batch: 5 });
    const tokens = toyTokenize(`Q: ${questions[0]!.question}\nA:`, true).length;
    const first = failures.find((f) => f.line === 1)!;
    assert.match(first.message, new RegExp(`You passed ${tokens} input tokens and requested 492 output tokens`));
  });
});
