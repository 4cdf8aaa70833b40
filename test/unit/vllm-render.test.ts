/**
 * Tokenizing in batches at vLLM's /v1/completions/render (see src/core/scoring/vllm/protocol.ts):
 * used only when the server has the route and tokenizes the connect probes exactly as /tokenize;
 * every id list equals the one /tokenize gives (the fake's tokenizer, computed here directly); a
 * text that may exceed the renderer's length limit, and a batch it refuses, go through /tokenize.
 * Loopback only.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { VllmScorer, RENDER_TEXTS_PER_REQUEST } from '../../src/core/scoring/vllm/client';
import type { HttpEvent } from '../../src/core/scoring/http/pool';
import { buildRenderRequest, parseRenderResponse } from '../../src/core/scoring/vllm/protocol';
import { buildErrorResponse, buildRenderResponse } from '../../src/core/serve/vllmResponses';
import { MalformedResponseError } from '../../src/core/net/errors';
import { FakeVllm, toyTokenize, TOY_BOS, type FakeVllmOptions } from '../helpers/fake-vllm';
import { FAST } from '../helpers/http-backends';

const RENDER = '/v1/completions/render';
const MAX_MODEL_LEN = 64;

async function start(opts: FakeVllmOptions): Promise<{ fake: FakeVllm; scorer: VllmScorer; events: HttpEvent[] }> {
  const fake = await FakeVllm.start({ maxModelLen: MAX_MODEL_LEN, ...opts });
  const events: HttpEvent[] = [];
  const scorer = await VllmScorer.connect({ urls: [fake.url], ...FAST, onEvent: (e) => events.push(e) });
  return { fake, scorer, events };
}

/** Texts where two tokenizing paths would part, of every length class the client sorts by. */
function surprisingTexts(): string[] {
  const texts = ['', 'a', ' leading space', 'naïve café 日本語 🙂', 'tab\tand\nnewline', '"quoted" \\ back'];
  // Exactly at the byte limit (max_model_len - 2 bytes), one byte over, and far over.
  texts.push('x'.repeat(MAX_MODEL_LEN - 2), 'y'.repeat(MAX_MODEL_LEN - 1), 'z'.repeat(5 * MAX_MODEL_LEN));
  // Multi-byte characters near the limit: few characters, many bytes (goes through /tokenize).
  texts.push('é'.repeat(MAX_MODEL_LEN / 2), '🙂'.repeat(MAX_MODEL_LEN / 4 - 1));
  for (let i = 0; i < 2 * RENDER_TEXTS_PER_REQUEST + 7; i++) texts.push(`record ${i}: ${'w'.repeat(i % 40)}`);
  return texts;
}

describe('vLLM backend: tokenizing at /v1/completions/render', () => {
  describe('a server with the route', () => {
    let fake: FakeVllm;
    let scorer: VllmScorer;
    let events: HttpEvent[];
    before(async () => ({ fake, scorer, events } = await start({ render: true })));
    after(() => fake.close());

    it('is used after the connect probes agree, with no error reported', () => {
      assert.equal(scorer.renderTexts, true);
      assert.equal(scorer.tokenizeRoute(), RENDER);
      assert.deepEqual(events.filter((e) => e.type === 'permanent-error' || e.type === 'gave-up'), []);
    });

    it('gives every text the ids /tokenize gives, in order, in batches; long texts go to /tokenize', async () => {
      fake.requests.length = 0;
      const texts = surprisingTexts();
      const ids = await scorer.tokenize(texts);
      assert.deepEqual(ids, texts.map((t) => toyTokenize(t, false)));
      const rendered = fake.requestsTo(RENDER).map((r) => (r.body as { prompt: string[] }).prompt);
      const one = fake.requestsTo('/tokenize').map((r) => (r.body as { prompt: string }).prompt);
      assert.ok(rendered.length >= 3 && rendered.every((batch) => batch.length <= RENDER_TEXTS_PER_REQUEST), `render batches: ${rendered.map((b) => b.length).join(', ')}`);
      const limit = MAX_MODEL_LEN - 2;
      const byteLength = (t: string): number => Buffer.byteLength(t, 'utf8');
      assert.deepEqual(
        one.sort(),
        texts.filter((t) => byteLength(t) > limit).sort(),
        'exactly the texts over the byte limit are tokenized one by one',
      );
      assert.deepEqual(rendered.flat().sort(), texts.filter((t) => t !== '' && byteLength(t) <= limit).sort());
      for (const r of fake.requestsTo(RENDER)) {
        assert.deepEqual({ ...(r.body as object), prompt: [] }, { model: 'toy-model', prompt: [], max_tokens: 1, add_special_tokens: false });
      }
    });

    it('sends a batch the renderer refuses through /tokenize, text by text', async () => {
      fake.requests.length = 0;
      fake.inject(RENDER, { kind: 'status', status: 400, message: 'No token_ids rendered' });
      const texts = ['first', 'second', 'third'];
      assert.deepEqual(await scorer.tokenize(texts), texts.map((t) => toyTokenize(t, false)));
      assert.equal(fake.requestsTo(RENDER).length, 1);
      assert.deepEqual(fake.requestsTo('/tokenize').map((r) => (r.body as { prompt: string }).prompt).sort(), [...texts].sort());
      assert.equal(scorer.renderTexts, true, 'a refused batch does not turn the route off');
      assert.deepEqual(events.filter((e) => e.type === 'permanent-error'), [], 'a refusal answered by /tokenize is not reported as an error');
    });

    it('retries a failing render call and turns the route off after a 404', async () => {
      fake.requests.length = 0;
      fake.inject(RENDER, { kind: 'status', status: 503 });
      assert.deepEqual(await scorer.tokenize(['again']), [toyTokenize('again', false)]);
      assert.equal(fake.requestsTo(RENDER).length, 2, 'a 503 is retried like any call');
      fake.inject(RENDER, { kind: 'status', status: 404 });
      assert.deepEqual(await scorer.tokenize(['gone']), [toyTokenize('gone', false)]);
      assert.equal(scorer.renderTexts, false);
      fake.requests.length = 0;
      assert.deepEqual(await scorer.tokenize(['after', 'that']), [toyTokenize('after', false), toyTokenize('that', false)]);
      assert.equal(fake.requestsTo(RENDER).length, 0);
      assert.equal(fake.requestsTo('/tokenize').length, 2);
    });
  });

  it('is not used by a server without the route (vLLM by default): one /tokenize per text, no error reported', async () => {
    const { fake, scorer, events } = await start({});
    try {
      assert.equal(scorer.renderTexts, false);
      assert.equal(scorer.tokenizeRoute(), '/tokenize');
      assert.deepEqual(events.filter((e) => e.type === 'permanent-error' || e.type === 'gave-up' || e.type === 'retry'), []);
      fake.requests.length = 0;
      const texts = ['one', 'two', 'three'];
      assert.deepEqual(await scorer.tokenize(texts), texts.map((t) => toyTokenize(t, false)));
      assert.equal(fake.requestsTo(RENDER).length, 0);
      assert.equal(fake.requestsTo('/tokenize').length, 3);
    } finally {
      await fake.close();
    }
  });

  it('keeps each render request under half of what sift serve takes (500,000 characters)', async () => {
    const fake = await FakeVllm.start({ maxModelLen: 10_000, render: true });
    try {
      const scorer = await VllmScorer.connect({ urls: [fake.url], ...FAST });
      const texts = Array.from({ length: 200 }, (_, i) => String.fromCharCode(97 + (i % 26)).repeat(9000));
      assert.deepEqual(await scorer.tokenize(texts), texts.map((t) => toyTokenize(t, false)));
      const sizes = fake.requestsTo(RENDER).slice(1).map((r) => (r.body as { prompt: string[] }).prompt.reduce((sum, t) => sum + t.length, 0));
      assert.ok(sizes.length >= 4 && sizes.every((chars) => chars <= 500_000), `characters per render request: ${sizes.join(', ')}`);
      assert.equal(fake.requestsTo('/tokenize').length, 3, 'only the connect probes: BOS (twice) and the render check');
    } finally {
      await fake.close();
    }
  });

  it('goes on rendering on the replica that answers while another is down, and the ids stay exact', async () => {
    const [a, b] = [await FakeVllm.start({ maxModelLen: MAX_MODEL_LEN, render: true }), await FakeVllm.start({ maxModelLen: MAX_MODEL_LEN, render: true })];
    try {
      const scorer = await VllmScorer.connect({ urls: [a.url, b.url], ...FAST });
      const texts = surprisingTexts();
      await b.close();
      a.requests.length = 0;
      assert.deepEqual(await scorer.tokenize(texts), texts.map((t) => toyTokenize(t, false)));
      assert.equal(scorer.renderTexts, true, 'a replica that is down is not a replica without the route');
      assert.ok(a.requestsTo(RENDER).length >= 3);
      await b.restart();
      b.requests.length = 0;
      const again = texts.map((t) => `${t} again`);
      assert.deepEqual(await scorer.tokenize(again), again.map((t) => toyTokenize(t, false)));
      await scorer.close();
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('is not used when the renderer tokenizes a probe differently from /tokenize', async () => {
    const { fake, scorer } = await start({ render: true, renderSkew: true });
    try {
      assert.equal(scorer.renderTexts, false);
      fake.requests.length = 0;
      assert.deepEqual(await scorer.tokenize(['skewed']), [toyTokenize('skewed', false)]);
      assert.equal(fake.requestsTo(RENDER).length, 0);
    } finally {
      await fake.close();
    }
  });

  it('scores records the same with and without the route', async () => {
    const texts = surprisingTexts().filter((t) => t !== '');
    const results: Float64Array[][] = [];
    for (const render of [true, false]) {
      const { fake, scorer } = await start({ render });
      try {
        const ids = await scorer.tokenize(texts);
        const sequences = ids.map((s) => [TOY_BOS, ...s].slice(0, scorer.maxContext));
        results.push(await scorer.logprobs(sequences));
      } finally {
        await fake.close();
      }
    }
    assert.deepEqual(results[0], results[1]);
  });

  it('reads the render answer strictly', () => {
    const body = buildRenderResponse('m', [[5, 6], [7]], 1);
    assert.deepEqual(parseRenderResponse(JSON.parse(JSON.stringify(body)), 2), [[5, 6], [7]]);
    assert.throws(() => parseRenderResponse(body, 3), MalformedResponseError, 'one entry per prompt');
    assert.throws(() => parseRenderResponse([{ token_ids: [1, -2] }], 1), MalformedResponseError);
    assert.throws(() => parseRenderResponse([{ request_id: 'x' }], 1), MalformedResponseError);
    assert.throws(() => parseRenderResponse(buildErrorResponse('No token_ids rendered', 400), 1), /No token_ids rendered/);
    assert.deepEqual(buildRenderRequest('m', ['a', 'b']), { model: 'm', prompt: ['a', 'b'], max_tokens: 1, add_special_tokens: false });
  });
});
