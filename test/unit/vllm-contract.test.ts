/**
 * Contract tests of the vLLM backend against a fake server that answers in vLLM's exact shapes
 * (test/helpers/fake-vllm.ts), with fault injection. Loopback only. The cases every HTTP backend
 * shares (retries, the retry limit, refusals, abort of a hanging request) are in
 * http-backends-contract.test.ts; this file holds what is vLLM's own, and the pool's replica and
 * queue behaviour.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PartialLogprobsError, PermanentScorerError } from '../../src/core/scoring/types';
import { DEFAULT_VLLM_MODE } from '../../src/core/scoring/backends';
import { VllmScorer, type VllmScorerOptions } from '../../src/core/scoring/vllm/client';
import type { HttpEvent } from '../../src/core/scoring/http/pool';
import { REDACTED } from '../../src/core/net/redact';
import { deadUrl, FakeVllm, toySequence, toyTokenize, TOY_BOS } from '../helpers/fake-vllm';
import { assertLogprobsEqual, FAST } from '../helpers/http-backends';
import { waitFor } from '../helpers/waitFor';

const KEY = 'sk-test-SECRET-9f8e7d6c5b4a';
async function connect(fake: FakeVllm | string[], extra: Partial<VllmScorerOptions> = {}): Promise<{ scorer: VllmScorer; events: HttpEvent[] }> {
  const events: HttpEvent[] = [];
  const urls = Array.isArray(fake) ? fake : [fake.url];
  const scorer = await VllmScorer.connect({ urls, ...FAST, onEvent: (e) => events.push(e), ...extra });
  return { scorer, events };
}

describe('vLLM backend: connect', () => {
  let fake: FakeVllm;
  before(async () => {
    fake = await FakeVllm.start({ maxModelLen: 512, apiKey: KEY, loras: ['sql-adapter'] });
  });
  after(() => fake.close());

  it('reads the served model, max_model_len and BOS', async () => {
    const { scorer } = await connect(fake, { apiKey: KEY });
    assert.equal(scorer.servedModel, 'toy-model');
    assert.equal(scorer.modelId, 'vllm:toy-model');
    assert.equal(scorer.maxContext, 511, 'vLLM V1 generates one token in every mode: max_model_len - 1');
    assert.equal(scorer.mode, DEFAULT_VLLM_MODE);
    assert.equal(scorer.bosId, TOY_BOS);
    assert.equal(scorer.endpoint, fake.url);
    const models = fake.requestsTo('/v1/models');
    assert.equal(models.length, 1);
    assert.equal(models[0]?.method, 'GET');
    assert.equal(models[0]?.headers['authorization'], `Bearer ${KEY}`);
    const probes = fake.requestsTo('/tokenize').map((r) => r.body as Record<string, unknown>);
    assert.deepEqual(
      probes.map((b) => b['add_special_tokens']).sort(),
      [false, true],
    );
    for (const b of probes) assert.equal(b['model'], 'toy-model');
    await scorer.close();
  });

  it('accepts a base URL ending in /v1 and a LoRA adapter (max_model_len from its parent)', async () => {
    const { scorer } = await connect([`${fake.url}/v1/`], { apiKey: KEY, servedModel: 'sql-adapter' });
    assert.equal(scorer.modelId, 'vllm:sql-adapter');
    assert.equal(scorer.maxContext, 511);
    await scorer.close();
  });

  it('prompt_logprobs mode leaves room for the generated token', async () => {
    const { scorer } = await connect(fake, { apiKey: KEY, mode: 'prompt_logprobs' });
    assert.equal(scorer.maxContext, 511);
    await scorer.close();
  });

  it('rejects a model the server does not serve, and a wrong key, without retrying', async () => {
    const n0 = fake.requestsTo('/v1/models').length;
    await assert.rejects(connect(fake, { apiKey: KEY, servedModel: 'other' }), (e: Error) => {
      assert.ok(e instanceof PermanentScorerError);
      assert.match(e.message, /does not serve model "other"/);
      assert.match(e.message, /"toy-model"/);
      return true;
    });
    await assert.rejects(connect(fake, { apiKey: 'sk-wrong-key-123456' }), (e: Error) => {
      assert.ok(e instanceof PermanentScorerError);
      assert.match(e.message, /HTTP 401: Unauthorized/);
      assert.ok(!e.message.includes('sk-wrong-key-123456'));
      return true;
    });
    assert.equal(fake.requestsTo('/v1/models').length, n0 + 2);
  });
});

describe('vLLM backend: scoring', () => {
  let fake: FakeVllm;
  let scorer: VllmScorer;
  before(async () => {
    fake = await FakeVllm.start({ maxModelLen: 256, apiKey: KEY });
    ({ scorer } = await connect(fake, { apiKey: KEY, maxTokensPerRequest: 64, mode: 'echo' }));
  });
  after(async () => {
    await scorer.close();
    await fake.close();
  });

  it('returns exact log-probs and sends the documented echo request', async () => {
    fake.requests.length = 0;
    const sequences = [toySequence(5, 1), toySequence(9, 2), [TOY_BOS, 72, 105]];
    const lp = await scorer.logprobs(sequences);
    assertLogprobsEqual(lp, sequences);
    const reqs = fake.requestsTo('/v1/completions');
    assert.equal(reqs.length, 1);
    const r = reqs[0] as (typeof reqs)[number];
    assert.equal(r.method, 'POST');
    // In length order (length-aware batching); the results come back in the caller's order.
    const byLength = [...sequences].sort((a, b) => a.length - b.length);
    assert.deepEqual(r.body, { model: 'toy-model', prompt: byLength, echo: true, max_tokens: 0, logprobs: 0 });
    assert.equal(r.headers['authorization'], `Bearer ${KEY}`);
    assert.match(String(r.headers['content-type']), /^application\/json/);
  });

  it('sequences of length 0 and 1 need no request; too long ones are refused up front, alone', async () => {
    fake.requests.length = 0;
    const lp = await scorer.logprobs([[], [TOY_BOS]]);
    assert.deepEqual(lp.map((a) => a.length), [0, 0]);
    assert.equal(fake.requests.length, 0);
    // max_model_len 256: at most 255 tokens (the engine runs one generated token even for echo)
    await assert.rejects(scorer.logprobs([toySequence(256, 1)]), (e: Error) => {
      assert.ok(e instanceof PermanentScorerError);
      assert.match(e.message, /sequence 0 has 256 tokens.*at most 255/);
      return true;
    });
    assert.equal(fake.requests.length, 0);
    const sequences = [toySequence(3, 1), toySequence(257, 1), toySequence(255, 2)];
    await assert.rejects(scorer.logprobs(sequences), (e: Error) => {
      assert.ok(e instanceof PartialLogprobsError);
      assert.match(e.message, /sequence 1 has 257 tokens.*at most 255/);
      assert.deepEqual([...e.failures.keys()], [1]);
      assert.equal(e.results[1], undefined);
      assertLogprobsEqual([e.results[0], e.results[2]] as Float64Array[], [sequences[0], sequences[2]] as number[][]);
      return true;
    });
    assert.deepEqual(fake.requestsTo('/v1/completions').map((r) => (r.body as { prompt: unknown[] }).prompt.length), [1, 1]);
  });

  it('sends the prompt_logprobs request when no mode is configured (DEFAULT_VLLM_MODE)', async () => {
    const { scorer: s } = await connect(fake, { apiKey: KEY });
    fake.requests.length = 0;
    const sequences = [toySequence(5, 1), toySequence(255, 2)];
    assertLogprobsEqual(await s.logprobs(sequences), sequences);
    const bodies = fake.requestsTo('/v1/completions').map((r) => r.body);
    assert.deepEqual(bodies, [{ model: 'toy-model', prompt: sequences, max_tokens: 1, prompt_logprobs: 0 }]);
    await s.close();
  });

  it('batches by tokens, keeps order across many sequences, sends a long sequence alone', async () => {
    fake.requests.length = 0;
    const sequences: number[][] = [];
    for (let i = 0; i < 60; i++) sequences.push(toySequence(2 + ((i * 37) % 30), i));
    sequences.splice(17, 0, toySequence(100, 999)); // longer than maxTokensPerRequest (64)
    const lp = await scorer.logprobs(sequences);
    assertLogprobsEqual(lp, sequences);
    const bodies = fake.requestsTo('/v1/completions').map((r) => r.body as { prompt: number[][] });
    assert.ok(bodies.length > 5, `${bodies.length} requests`);
    let sawAlone = false;
    for (const b of bodies) {
      const total = b.prompt.reduce((s, p) => s + p.length, 0);
      if (b.prompt.length === 1 && total > 64) sawAlone = true;
      else assert.ok(total <= 64, `request of ${total} tokens`);
    }
    assert.ok(sawAlone, 'the 100-token sequence went alone');
    // every sequence was sent exactly once
    assert.equal(bodies.reduce((s, b) => s + b.prompt.length, 0), sequences.length);
  });

  it('respects maxPromptsPerRequest', async () => {
    const { scorer: s } = await connect(fake, { apiKey: KEY, maxPromptsPerRequest: 3 });
    fake.requests.length = 0;
    const sequences = Array.from({ length: 10 }, (_, i) => toySequence(3, i));
    assertLogprobsEqual(await s.logprobs(sequences), sequences);
    const sizes = fake.requestsTo('/v1/completions').map((r) => (r.body as { prompt: unknown[] }).prompt.length);
    assert.deepEqual(sizes.sort(), [1, 3, 3, 3]);
    await s.close();
  });

  it('tokenizes without special tokens, one text per /tokenize call', async () => {
    fake.requests.length = 0;
    const texts = ['Hello', 'naïve café', '', '日本語 🙂'];
    const ids = await scorer.tokenize(texts);
    assert.deepEqual(ids, texts.map((t) => toyTokenize(t, false)));
    const bodies = fake.requestsTo('/tokenize').map((r) => r.body);
    assert.equal(bodies.length, 3, 'the empty text needs no request');
    for (const b of bodies) {
      assert.deepEqual(Object.keys(b as object).sort(), ['add_special_tokens', 'model', 'prompt']);
      assert.equal((b as Record<string, unknown>)['add_special_tokens'], false);
      assert.equal((b as Record<string, unknown>)['model'], 'toy-model');
    }
  });
});

describe('vLLM backend: prompt_logprobs mode', () => {
  it('returns exact log-probs from choices[i].prompt_logprobs and sends the documented request', async () => {
    const fake = await FakeVllm.start({ maxModelLen: 64 });
    const { scorer } = await connect(fake, { mode: 'prompt_logprobs' });
    const sequences = [toySequence(6, 3), toySequence(63, 4)]; // 63 = max_model_len - 1 still fits
    assertLogprobsEqual(await scorer.logprobs(sequences), sequences);
    const r = fake.requestsTo('/v1/completions')[0];
    assert.deepEqual(r?.body, { model: 'toy-model', prompt: sequences, max_tokens: 1, prompt_logprobs: 0 });
    assert.equal(r?.headers['authorization'], undefined, 'no key configured, no header');
    // the same faults are detected in this mode
    fake.inject('/v1/completions', { kind: 'short-logprobs' });
    fake.inject('/v1/completions', { kind: 'missing-logprobs' });
    assertLogprobsEqual(await scorer.logprobs(sequences), sequences);
    assert.equal(scorer.stats().failuresByKind.malformed, 2);
    await scorer.close();
    await fake.close();
  });
});

describe('vLLM backend: in-flight limit and replicas', () => {
  it('never has more than maxInFlightPerUrl scoring requests, nor maxLightInFlightPerUrl tokenize requests, in flight per replica', async () => {
    const fake = await FakeVllm.start({ latencyMs: 30 });
    const { scorer } = await connect(fake, { maxInFlightPerUrl: 3, maxLightInFlightPerUrl: 5, maxTokensPerRequest: 10 });
    fake.maxInFlight = 0;
    const sequences = Array.from({ length: 40 }, (_, i) => toySequence(5, i)); // 2 per request → 20 requests
    assertLogprobsEqual(await scorer.logprobs(sequences), sequences);
    assert.equal(fake.maxInFlight, 3);
    fake.maxInFlight = 0;
    const texts = Array.from({ length: 12 }, (_, i) => `text ${i}`);
    assert.deepEqual(await scorer.tokenize(texts), texts.map((t) => toyTokenize(t, false)));
    assert.equal(fake.maxInFlight, 5);
    await scorer.close();
    await fake.close();
  });

  it('tokenizes while every scoring slot is taken by a request the server holds', async () => {
    const fake = await FakeVllm.start();
    const { scorer } = await connect(fake, { maxInFlightPerUrl: 1, requestTimeoutMs: 60_000 });
    fake.inject('/v1/completions', { kind: 'hang' });
    const ctl = new AbortController();
    const held = scorer.logprobs([toySequence(5, 1)], ctl.signal).catch((e: Error) => e.name);
    await waitFor('the held scoring request', () => fake.requestsTo('/v1/completions').length === 1, { intervalMs: 5 });
    assert.deepEqual(await scorer.tokenize(['abc']), [toyTokenize('abc', false)]);
    ctl.abort();
    assert.equal(await held, 'AbortError');
    await scorer.close();
    await fake.close();
  });

  it('spreads requests over several URLs and routes around a dead one', async () => {
    const a = await FakeVllm.start({ latencyMs: 10 });
    const b = await FakeVllm.start({ latencyMs: 10 });
    const dead = await deadUrl();
    const { scorer, events } = await connect([a.url, dead, b.url], { maxInFlightPerUrl: 2, maxTokensPerRequest: 8 });
    a.requests.length = 0;
    b.requests.length = 0;
    const sequences = Array.from({ length: 48 }, (_, i) => toySequence(4, i));
    assertLogprobsEqual(await scorer.logprobs(sequences), sequences);
    const na = a.requestsTo('/v1/completions').length;
    const nb = b.requestsTo('/v1/completions').length;
    assert.equal(na + nb, 24);
    assert.ok(na >= 6 && nb >= 6, `both replicas used (${na}, ${nb})`);
    assert.ok(events.some((e) => e.type === 'endpoint-down' && e.url === dead));
    assert.ok(scorer.stats().failuresByKind.connection >= 1);
    await scorer.close();
    await a.close();
    await b.close();
  });

  it('a request that fails with a connection error is retried at once on another replica', async () => {
    const a = await FakeVllm.start({ latencyMs: 20 });
    const b = await FakeVllm.start({ latencyMs: 20 });
    // a long back-off: if the retry waited for it, the test would take seconds
    const { scorer, events } = await connect([a.url, b.url], { backoffBaseMs: 5000, backoffCapMs: 30_000, maxTokensPerRequest: 4 });
    a.inject('/v1/completions', { kind: 'reset' });
    const t0 = performance.now();
    const sequences = [toySequence(4, 1), toySequence(4, 2), toySequence(4, 3), toySequence(4, 4)];
    assertLogprobsEqual(await scorer.logprobs(sequences), sequences);
    assert.ok(performance.now() - t0 < 1500, `took ${(performance.now() - t0).toFixed(0)} ms`);
    const retry = events.find((e) => e.type === 'retry');
    assert.ok(retry && retry.type === 'retry' && retry.kind === 'connection' && retry.url === a.url && retry.delayMs === 0);
    assert.ok(events.some((e) => e.type === 'endpoint-down' && e.url === a.url));
    await scorer.close();
    await a.close();
    await b.close();
  });
});

describe('vLLM backend: retries', () => {
  let fake: FakeVllm;
  before(async () => {
    fake = await FakeVllm.start({ apiKey: KEY });
  });
  after(() => fake.close());

  it('retries tokenize too', async () => {
    const { scorer } = await connect(fake, { apiKey: KEY });
    fake.inject('/tokenize', { kind: 'status', status: 503 });
    fake.inject('/tokenize', { kind: 'truncated' });
    assert.deepEqual(await scorer.tokenize(['abc']), [toyTokenize('abc', false)]);
    await scorer.close();
  });

  it('understands the older vLLM error shape', async () => {
    const { scorer } = await connect(fake, { apiKey: KEY });
    fake.inject('/v1/completions', {
      kind: 'status',
      status: 400,
      body: { object: 'error', message: 'max_tokens must be at least 1, got 0.', type: 'BadRequestError', param: null, code: 400 },
    });
    await assert.rejects(scorer.logprobs([toySequence(4, 1)]), /HTTP 400: max_tokens must be at least 1, got 0\./);
    await scorer.close();
  });

  it('honours Retry-After in seconds', async () => {
    const { scorer, events } = await connect(fake, { apiKey: KEY });
    fake.inject('/v1/completions', { kind: 'status', status: 429, retryAfter: '1' });
    const t0 = performance.now();
    const sequences = [toySequence(4, 1)];
    assertLogprobsEqual(await scorer.logprobs(sequences), sequences);
    const elapsed = performance.now() - t0;
    assert.ok(elapsed >= 900, `waited ${elapsed.toFixed(0)} ms`);
    const r = events.find((e) => e.type === 'retry');
    assert.ok(r && r.type === 'retry' && r.delayMs >= 1000 && r.status === 429);
    await scorer.close();
  });

  it('honours Retry-After as an HTTP date on 503', async () => {
    const { scorer, events } = await connect(fake, { apiKey: KEY });
    const when = new Date(Date.now() + 2000).toUTCString(); // 1-2 s away (1 s resolution)
    fake.inject('/v1/completions', { kind: 'status', status: 503, retryAfter: when });
    const t0 = performance.now();
    await scorer.logprobs([toySequence(4, 1)]);
    assert.ok(performance.now() - t0 >= 900);
    const r = events.find((e) => e.type === 'retry');
    assert.ok(r && r.type === 'retry' && r.delayMs >= 900 && r.delayMs <= 2100, JSON.stringify(r));
    await scorer.close();
  });
});

/** How late an abort may be seen; see expectPromptAbort. */
const ABORT_MARGIN_MS = 3000;

describe('vLLM backend: cancellation', () => {
  let fake: FakeVllm;
  before(async () => {
    fake = await FakeVllm.start();
  });
  after(() => fake.close());

  async function expectPromptAbort(p: Promise<unknown>, ctl: AbortController, afterMs: number): Promise<void> {
    setTimeout(() => ctl.abort(), afterMs);
    const t0 = performance.now();
    await assert.rejects(p, (e: Error) => {
      assert.equal(e.name, 'AbortError');
      return true;
    });
    const elapsed = performance.now() - t0;
    // Without the abort the call would end only at a 30 s back-off or a 60 s timeout; the margin
    // is for timers on a loaded machine (2 cores shared with other runs), not for the code.
    assert.ok(elapsed < afterMs + ABORT_MARGIN_MS, `rejected ${elapsed.toFixed(0)} ms after the start`);
  }

  it('abort during a back-off sleep rejects at once with AbortError', async () => {
    const { scorer } = await connect(fake);
    fake.inject('/v1/completions', { kind: 'status', status: 503, retryAfter: '30' });
    const ctl = new AbortController();
    await expectPromptAbort(scorer.logprobs([toySequence(4, 1)], ctl.signal), ctl, 100);
    await scorer.close();
  });

  it('abort while queued behind the in-flight limit rejects at once, and tokenize too', async () => {
    const { scorer } = await connect(fake, { requestTimeoutMs: 60_000, maxInFlightPerUrl: 1, maxTokensPerRequest: 4 });
    fake.inject('/v1/completions', { kind: 'hang' });
    const ctl = new AbortController();
    await expectPromptAbort(scorer.logprobs([toySequence(4, 1), toySequence(4, 2), toySequence(4, 3)], ctl.signal), ctl, 80);
    fake.inject('/tokenize', { kind: 'hang' });
    const ctl2 = new AbortController();
    await expectPromptAbort(scorer.tokenize(['a', 'b', 'c'], ctl2.signal), ctl2, 80);
    await scorer.close();
  });

  it('a huge queued call aborts at once and none of the queued requests is sent', async () => {
    const { scorer } = await connect(fake, { requestTimeoutMs: 60_000, maxLightInFlightPerUrl: 4 });
    fake.inject('/tokenize', { kind: 'hang' }, 4);
    const n0 = fake.requestsTo('/tokenize').length;
    const texts = Array.from({ length: 20_000 }, (_, i) => `text ${i}`);
    const ctl = new AbortController();
    const call = scorer.tokenize(texts, ctl.signal);
    // Abort once the four requests in flight hang at the server (the rest are queued).
    await waitFor('the four hanging requests', () => fake.requestsTo('/tokenize').length - n0 === 4, { intervalMs: 5 });
    await expectPromptAbort(call, ctl, 0);
    fake.clearFaults();
    // A later call's request is sent after anything still queued: once it is answered, no queued
    // request of the aborted call can still be on its way.
    assert.deepEqual(await scorer.tokenize(['after']), [toyTokenize('after', false)]);
    assert.equal(fake.requestsTo('/tokenize').length - n0, 4 + 1);
    await scorer.close();
  });

  it('an already aborted signal rejects without a request; close() stops later calls', async () => {
    const { scorer } = await connect(fake);
    const n0 = fake.requests.length;
    await assert.rejects(scorer.logprobs([toySequence(4, 1)], AbortSignal.abort()), { name: 'AbortError' });
    assert.equal(fake.requests.length, n0);
    await scorer.close();
    await assert.rejects(scorer.logprobs([toySequence(4, 1)]), { name: 'AbortError' });
  });
});

describe('vLLM backend: the API key stays secret', () => {
  it('never appears in error messages or events', async () => {
    const fake = await FakeVllm.start({ apiKey: KEY });
    const { scorer, events } = await connect(fake, { apiKey: KEY, retries: 1 });
    const messages: string[] = [];
    const collect = async (p: Promise<unknown>): Promise<void> => {
      try {
        await p;
        assert.fail('expected a rejection');
      } catch (e) {
        messages.push(String((e as Error).message), String((e as Error).stack));
      }
    };
    // a server (or proxy) that echoes the Authorization header in its error message
    fake.inject('/v1/completions', { kind: 'status', status: 400, message: `invalid header: Bearer ${KEY}` });
    await collect(scorer.logprobs([toySequence(3, 1)]));
    fake.inject('/v1/completions', { kind: 'status', status: 500, message: `upstream refused key ${KEY}` }, 2);
    await collect(scorer.logprobs([toySequence(3, 1)]));
    fake.inject('/v1/completions', { kind: 'reset' }, 2);
    await collect(scorer.logprobs([toySequence(3, 1)]));
    fake.inject('/tokenize', { kind: 'status', status: 403, body: { detail: `forbidden for ${KEY}` } });
    await collect(scorer.tokenize(['x']));
    await scorer.close();
    await fake.close();
    const everything = messages.join('\n') + JSON.stringify(events);
    assert.ok(everything.includes(REDACTED), 'the echoed key was redacted');
    assert.ok(!everything.includes(KEY), 'the key leaked');
    assert.ok(!everything.includes(KEY.slice(3)), 'part of the key leaked');
  });
});
