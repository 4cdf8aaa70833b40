/**
 * Contract tests of the SGLang backend against a fake server in SGLang's exact shapes
 * (test/helpers/fake-sglang.ts). The retry/concurrency machinery is shared with vLLM and tested
 * in depth there, and the cases every HTTP backend shares (retries, the retry limit, refusals,
 * the key, abort, too-long sequences) are in http-backends-contract.test.ts; here: the wire
 * shapes, validation and batching.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SglangScorer, type SglangScorerOptions } from '../../src/core/scoring/sglang/client';
import type { HttpEvent } from '../../src/core/scoring/http/pool';
import { FakeSglang, toyLogprobs, toySequence, toyTokenize, TOY_BOS } from '../helpers/fake-sglang';
import { assertLogprobsEqual, FAST } from '../helpers/http-backends';

const KEY = 'sk-sglang-SECRET-0a1b2c3d4e';
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

  it('reads a null log-prob (orjson writes -inf and NaN as null) as -Infinity', async () => {
    fake.inject('/generate', { kind: 'nan' });
    const [lp] = await scorer.logprobs([toySequence(4, 1)]);
    assert.equal(lp?.[0], -Infinity);
    assert.deepEqual(Array.from(lp as Float64Array).slice(1), Array.from(toyLogprobs(toySequence(4, 1))).slice(1));
  });
});
