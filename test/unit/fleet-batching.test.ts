/**
 * Keeping a fleet busy: requests carry sequences of similar length under the token budget, and a
 * slow replica gets only the requests its in-flight limit lets it hold while a fast one takes the
 * rest (counted at the fake servers; the slow one answers only when the test releases it).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { VllmScorer } from '../../src/core/scoring/vllm/client';
import { FakeVllm, toySequence } from '../helpers/fake-vllm';
import { assertLogprobsEqual } from '../helpers/http-backends';
import { seededRandom } from '../helpers/random';
import { waitFor } from '../helpers/waitFor';

describe('fleet batching', () => {
  it('puts sequences of similar length together and keeps every request under the token budget', async () => {
    const fake = await FakeVllm.start();
    const budget = 300;
    const scorer = await VllmScorer.connect({ urls: [fake.url], maxTokensPerRequest: budget, maxInFlightPerUrl: 1 });
    const random = seededRandom(3);
    const sequences = Array.from({ length: 120 }, (_, i) => toySequence(2 + Math.floor(random() * 150), i));
    fake.requests.length = 0;
    assertLogprobsEqual(await scorer.logprobs(sequences), sequences);
    const requests = fake.requestsTo('/v1/completions').map((r) => (r.body as { prompt: number[][] }).prompt.map((p) => p.length));
    assert.equal(requests.flat().length, sequences.length);
    for (const lengths of requests) assert.ok(lengths.reduce((a, b) => a + b, 0) <= budget, `a request of ${lengths.join('+')} tokens`);
    // Sent one at a time in length order: each request's lengths lie between its neighbours'.
    for (let k = 1; k < requests.length; k++) assert.ok(Math.min(...requests[k]!) >= Math.max(...requests[k - 1]!), `request ${k} mixes lengths with request ${k - 1}`);
    await scorer.close();
    await fake.close();
  });

  it('gives a slow replica only what it can hold and the fast one the rest', async () => {
    const fast = await FakeVllm.start();
    const slow = await FakeVllm.start();
    const perReplica = 2;
    const scorer = await VllmScorer.connect({ urls: [slow.url, fast.url], maxTokensPerRequest: 8, maxInFlightPerUrl: perReplica });
    slow.requests.length = 0;
    fast.requests.length = 0;
    slow.hold('/v1/completions');
    const sequences = Array.from({ length: 60 }, (_, i) => toySequence(4, i)); // 2 per request → 30 requests
    const scored = scorer.logprobs(sequences);
    await waitFor('the fast replica to answer every request the slow one cannot hold', () => fast.requestsTo('/v1/completions').length === 30 - perReplica);
    assert.equal(slow.requestsTo('/v1/completions').length, perReplica);
    slow.release('/v1/completions');
    assertLogprobsEqual(await scored, sequences);
    assert.equal(slow.requestsTo('/v1/completions').length, perReplica);
    await scorer.close();
    await fast.close();
    await slow.close();
  });
});
