/**
 * The contract every HTTP scoring backend (vLLM, SGLang, TGI) keeps, run once per backend against
 * its fake server over real loopback HTTP (test/helpers/http-backends.ts describes the backends):
 * retries and how failures are counted, the retry limit, refusals that are not retried, the key
 * kept out of messages and events, abort, and sequences too long for the context. What only one
 * backend does is tested in its own file (vllm-contract, sglang-contract, tgi-contract).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { REDACTED } from '../../src/core/net/redact';
import type { HttpEvent, HttpPoolOptions } from '../../src/core/scoring/http/pool';
import type { HttpScorer } from '../../src/core/scoring/http/scorer';
import { PermanentScorerError, RetriesExhaustedError } from '../../src/core/scoring/types';
import type { FakeHttpServer } from '../helpers/fake-server';
import { TOY_BOS } from '../helpers/fake-server';
import { assertLogprobsEqual, HTTP_BACKENDS } from '../helpers/http-backends';

for (const backend of HTTP_BACKENDS) {
  describe(`${backend.name} backend: the HTTP contract`, () => {
    let fake: FakeHttpServer;
    before(async () => {
      fake = await backend.start();
    });
    after(() => fake.close());

    async function connect(extra: Partial<HttpPoolOptions> = {}): Promise<{ scorer: HttpScorer; events: HttpEvent[] }> {
      const events: HttpEvent[] = [];
      const scorer = await backend.connect(fake.url, { apiKey: backend.key, onEvent: (e) => events.push(e), ...extra });
      return { scorer, events };
    }

    for (const [name, fault, kind] of backend.retryable) {
      it(`retries after ${name}`, async () => {
        const { scorer, events } = await connect();
        const sequences = await backend.sequences(scorer);
        fake.inject(backend.scorePath, fault, 2);
        assertLogprobsEqual(await scorer.logprobs(sequences), sequences);
        const retries = events.filter((e) => e.type === 'retry');
        assert.equal(retries.length, 2);
        for (const e of retries) assert.equal(e.type === 'retry' && e.kind, kind);
        const st = scorer.stats();
        assert.equal(st.retries, 2);
        assert.equal(st.failuresByKind[kind], 2);
        await scorer.close();
      });
    }

    it('stops at the retry limit with RetriesExhaustedError', async () => {
      const { scorer, events } = await connect({ retries: 2 });
      const sequences = await backend.sequences(scorer);
      const n0 = fake.requestsTo(backend.scorePath).length;
      fake.inject(backend.scorePath, { kind: 'status', status: 500, message: 'CUDA out of memory' }, 10);
      await assert.rejects(scorer.logprobs(sequences.slice(0, 1)), (e: Error) => {
        assert.ok(e instanceof RetriesExhaustedError, e.name);
        assert.match(e.message, /gave up after 3 attempts/);
        assert.match(e.message, /HTTP 500: CUDA out of memory/);
        return true;
      });
      assert.equal(fake.requestsTo(backend.scorePath).length - n0, 3);
      assert.equal(events.filter((e) => e.type === 'gave-up').length, 1);
      fake.clearFaults();
      await scorer.close();
    });

    it(`does not retry a ${backend.refusal.status} and reports the server's message`, async () => {
      const { scorer } = await connect();
      const sequences = await backend.sequences(scorer);
      const n0 = fake.requestsTo(backend.scorePath).length;
      fake.inject(backend.scorePath, { kind: 'status', status: backend.refusal.status, message: backend.refusal.message });
      await assert.rejects(scorer.logprobs(sequences.slice(0, 1)), (e: Error) => {
        assert.ok(e instanceof PermanentScorerError);
        assert.match(e.message, backend.refusal.expect);
        assert.equal((e as PermanentScorerError & { status?: number }).status, backend.refusal.status);
        return true;
      });
      assert.equal(fake.requestsTo(backend.scorePath).length - n0, 1);
      await scorer.close();
    });

    it('a key the server echoes back is redacted from the error and the events', async () => {
      const { scorer, events } = await connect();
      const sequences = await backend.sequences(scorer);
      fake.inject(backend.scorePath, { kind: 'status', status: backend.refusal.status, message: `${backend.refusal.message} ${backend.key}` });
      const err = await scorer.logprobs(sequences.slice(0, 1)).catch((e: Error) => e);
      assert.ok(err instanceof PermanentScorerError);
      assert.match(err.message, new RegExp(`${backend.refusal.expect.source}.* ${REDACTED}`));
      assert.ok(!err.message.includes(backend.key) && !JSON.stringify(events).includes(backend.key));
      await scorer.close();
    });

    it('abort while a request hangs rejects promptly', async () => {
      const { scorer } = await connect({ requestTimeoutMs: 30_000 });
      const sequences = await backend.sequences(scorer);
      fake.inject(backend.scorePath, { kind: 'hang' });
      const ctl = new AbortController();
      setTimeout(() => ctl.abort(), 50);
      const t0 = performance.now();
      await assert.rejects(scorer.logprobs(sequences.slice(0, 1), ctl.signal), { name: 'AbortError' });
      // The hang ends only at the 30 s timeout; the margin is for timers on a loaded machine.
      assert.ok(performance.now() - t0 < 3000);
      await scorer.close();
    });

    it('refuses a sequence longer than the context before any request', async () => {
      const { scorer } = await connect();
      const n0 = fake.requests.length;
      await assert.rejects(scorer.logprobs([new Array<number>(scorer.maxContext + 1).fill(TOY_BOS)]), PermanentScorerError);
      assert.equal(fake.requests.length, n0);
      await scorer.close();
    });
  });
}
