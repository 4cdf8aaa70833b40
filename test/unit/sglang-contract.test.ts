/**
 * Contract tests of the SGLang backend against a fake server in SGLang's exact shapes
 * (test/helpers/fake-sglang.ts). The retry/concurrency machinery is shared with vLLM and tested
 * in depth there; here: the wire shapes, validation, batching and a representative set of faults.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PermanentScorerError, RetriesExhaustedError } from '../../src/core/scoring/types';
import { SglangScorer, type SglangScorerOptions } from '../../src/core/scoring/sglang/client';
import type { HttpEvent } from '../../src/core/scoring/http/pool';
import { FakeSglang, toyLogprobs, toySequence, toyTokenize, TOY_BOS, type Fault } from '../helpers/fake-sglang';

const KEY = 'sk-sglang-SECRET-0a1b2c3d4e';
const FAST = { backoffBaseMs: 5, backoffCapMs: 40, requestTimeoutMs: 400 } as const;

function assertLogprobsEqual(actual: Float64Array[], sequences: number[][]): void {
  assert.equal(actual.length, sequences.length);
  sequences.forEach((ids, i) => {
    assert.deepEqual(Array.from(actual[i] as Float64Array), Array.from(toyLogprobs(ids)), `result ${i}`);
  });
}

async function connect(fake: FakeSglang, extra: Partial<SglangScorerOptions> = {}): Promise<{ scorer: SglangScorer; events: HttpEvent[] }> {
  const events: HttpEvent[] = [];
  const scorer = await SglangScorer.connect({ urls: [fake.url], ...FAST, onEvent: (e) => events.push(e), ...extra });
  return { scorer, events };
}

describe('SGLang backend', () => {
  let fake: FakeSglang;
  let scorer: SglangScorer;
  before(async () => {
    fake = await FakeSglang.start({ contextLen: 128, apiKey: KEY, loras: ['math-lora'] });
    ({ scorer } = await connect(fake, { apiKey: KEY, maxTokensPerRequest: 40 }));
  });
  after(async () => {
    await scorer.close();
    await fake.close();
  });

  it('connects: model, context (context_len - 1), BOS', () => {
    assert.equal(scorer.modelId, 'sglang:toy-model');
    assert.equal(scorer.maxContext, 127);
    assert.equal(scorer.bosId, TOY_BOS);
    assert.equal(scorer.loraPath, undefined);
  });

  it('returns exact log-probs and sends the documented prefill-only request', async () => {
    fake.requests.length = 0;
    const sequences = [toySequence(5, 1), toySequence(12, 2)];
    assertLogprobsEqual(await scorer.logprobs(sequences), sequences);
    const r = fake.requestsTo('/generate')[0];
    assert.deepEqual(r?.body, {
      input_ids: sequences,
      sampling_params: { max_new_tokens: 0 },
      return_logprob: true,
      logprob_start_len: 0,
      return_text_in_logprobs: false,
      stream: false,
    });
    assert.equal(r?.headers['authorization'], `Bearer ${KEY}`);
  });

  it('batches by tokens, keeps order, a single prompt is still sent as a batch', async () => {
    fake.requests.length = 0;
    const sequences = Array.from({ length: 30 }, (_, i) => toySequence(2 + ((i * 13) % 20), i));
    sequences.push(toySequence(100, 77)); // longer than maxTokensPerRequest: alone
    assertLogprobsEqual(await scorer.logprobs(sequences), sequences);
    const bodies = fake.requestsTo('/generate').map((r) => (r.body as { input_ids: number[][] }).input_ids);
    for (const b of bodies) {
      assert.ok(Array.isArray(b[0]), 'list of id lists');
      const total = b.reduce((s, p) => s + p.length, 0);
      assert.ok(b.length === 1 || total <= 40, `${total} tokens`);
    }
    assert.equal(bodies.reduce((s, b) => s + b.length, 0), sequences.length);
  });

  it('refuses a sequence that fills the whole context, before any request', async () => {
    await assert.rejects(scorer.logprobs([toySequence(128, 1)]), PermanentScorerError);
  });

  it('tokenizes many texts per /v1/tokenize request, without special tokens', async () => {
    const { scorer: s } = await connect(fake, { apiKey: KEY, maxTextsPerTokenizeRequest: 3 });
    fake.requests.length = 0;
    const texts = ['a', 'bc', '', 'déf', 'g h', '🙂', 'ij'];
    assert.deepEqual(await s.tokenize(texts), texts.map((t) => toyTokenize(t, false)));
    const bodies = fake.requestsTo('/v1/tokenize').map((r) => r.body as { prompt: string[]; add_special_tokens: boolean; model: string });
    assert.deepEqual(bodies.map((b) => b.prompt.length).sort(), [3, 3]);
    for (const b of bodies) {
      assert.equal(b.add_special_tokens, false);
      assert.equal(b.model, 'toy-model');
    }
    await s.close();
  });

  it('selects a LoRA adapter with lora_path', async () => {
    const { scorer: s } = await connect(fake, { apiKey: KEY, servedModel: 'math-lora' });
    assert.equal(s.modelId, 'sglang:math-lora');
    assert.equal(s.loraPath, 'math-lora');
    assert.equal(s.maxContext, 127);
    fake.requests.length = 0;
    const sequences = [toySequence(4, 9)];
    assertLogprobsEqual(await s.logprobs(sequences), sequences);
    assert.equal((fake.requestsTo('/generate')[0]?.body as Record<string, unknown>)['lora_path'], 'math-lora');
    await s.close();
  });

  const retryable: [string, Fault, string][] = [
    ['a reset connection', { kind: 'reset' }, 'connection'],
    ['HTTP 503', { kind: 'status', status: 503 }, 'status'],
    ['truncated JSON', { kind: 'truncated' }, 'malformed'],
    ['missing input_token_logprobs', { kind: 'missing-logprobs' }, 'malformed'],
    ['one output too few', { kind: 'wrong-choices' }, 'malformed'],
    ['log-probs that do not cover the prompt', { kind: 'short-logprobs' }, 'malformed'],
    ['log-probs for other token ids', { kind: 'wrong-ids' }, 'malformed'],
    ['an error object with status 200', { kind: 'error-body' }, 'malformed'],
  ];
  for (const [name, fault, kind] of retryable) {
    it(`retries after ${name}`, async () => {
      const { scorer: s, events } = await connect(fake, { apiKey: KEY });
      fake.inject('/generate', fault);
      const sequences = [toySequence(4, 1), toySequence(6, 2)];
      assertLogprobsEqual(await s.logprobs(sequences), sequences);
      const retries = events.filter((e) => e.type === 'retry');
      assert.equal(retries.length, 1);
      assert.equal(retries[0]?.type === 'retry' && retries[0].kind, kind);
      await s.close();
    });
  }

  it('reads a null log-prob (orjson writes -inf and NaN as null) as -Infinity', async () => {
    fake.inject('/generate', { kind: 'nan' });
    const [lp] = await scorer.logprobs([toySequence(4, 1)]);
    assert.equal(lp?.[0], -Infinity);
    assert.deepEqual(Array.from(lp as Float64Array).slice(1), Array.from(toyLogprobs(toySequence(4, 1))).slice(1));
  });

  it('gives up after the retry limit, and does not retry a 400', async () => {
    const { scorer: s } = await connect(fake, { apiKey: KEY, retries: 1 });
    fake.inject('/generate', { kind: 'status', status: 500 }, 2);
    await assert.rejects(s.logprobs([toySequence(4, 1)]), RetriesExhaustedError);
    const n0 = fake.requestsTo('/generate').length;
    fake.inject('/generate', { kind: 'status', status: 400, message: 'The input (9000 tokens) is longer than the model\'s context length (8192 tokens).' });
    await assert.rejects(s.logprobs([toySequence(4, 1)]), (e: Error) => {
      assert.ok(e instanceof PermanentScorerError);
      assert.match(e.message, /HTTP 400: The input \(9000 tokens\) is longer than the model's context length/);
      return true;
    });
    assert.equal(fake.requestsTo('/generate').length - n0, 1);
    await s.close();
  });

  it('abort rejects promptly; the key never shows up in errors', async () => {
    const { scorer: s, events } = await connect(fake, { apiKey: KEY, requestTimeoutMs: 30_000 });
    fake.inject('/generate', { kind: 'hang' });
    const ctl = new AbortController();
    setTimeout(() => ctl.abort(), 50);
    const t0 = performance.now();
    await assert.rejects(s.logprobs([toySequence(4, 1)], ctl.signal), { name: 'AbortError' });
    assert.ok(performance.now() - t0 < 300);
    fake.inject('/generate', { kind: 'status', status: 400, message: `bad key ${KEY}` });
    const err = await s.logprobs([toySequence(4, 1)]).catch((e: Error) => e);
    assert.ok(err instanceof PermanentScorerError);
    assert.ok(!String(err.message).includes(KEY) && !JSON.stringify(events).includes(KEY));
    await s.close();
  });
});
