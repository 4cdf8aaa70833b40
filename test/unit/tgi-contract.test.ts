/**
 * Contract tests of the TGI backend against a fake server in TGI's shapes
 * (test/helpers/fake-tgi.ts): text in, prefill log-probs out, and the piece-boundary handling
 * that taking text instead of ids forces on this backend. The cases every HTTP backend shares
 * (retries, the retry limit, the 422 refusal, the key, abort, too-long sequences) are in
 * http-backends-contract.test.ts.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PermanentScorerError } from '../../src/core/scoring/types';
import { TgiScorer, type TgiMismatch, type TgiScorerOptions } from '../../src/core/scoring/tgi/client';
import type { HttpEvent } from '../../src/core/scoring/http/pool';
import { FakeTgi, TGI_MERGED_AB, toyLogprob, toyLogprobs, toyTokenize, TOY_BOS } from '../helpers/fake-tgi';
import { FAST } from '../helpers/http-backends';

const KEY = 'hf_tgi_SECRET_5e6f7a8b9c';
async function connect(fake: FakeTgi, extra: Partial<TgiScorerOptions> = {}): Promise<{ scorer: TgiScorer; events: HttpEvent[] }> {
  const events: HttpEvent[] = [];
  const scorer = await TgiScorer.connect({ urls: [fake.url], ...FAST, onEvent: (e) => events.push(e), ...extra });
  return { scorer, events };
}

/** BOS + the ids of each piece, tokenized separately (what the core does). */
async function joined(scorer: TgiScorer, pieces: string[]): Promise<number[]> {
  const ids = await scorer.tokenize(pieces);
  return [TOY_BOS, ...ids.flat()];
}

describe('TGI backend', () => {
  let fake: FakeTgi;
  let scorer: TgiScorer;
  before(async () => {
    fake = await FakeTgi.start({ apiKey: KEY, modelSha: '0123456789abcdef0123', maxInputTokens: 64, maxTotalTokens: 80 });
    ({ scorer } = await connect(fake, { apiKey: KEY }));
  });
  after(async () => {
    await scorer.close();
    await fake.close();
  });

  it('connects: model id with the weights sha, context, BOS from zero-width edge tokens', () => {
    assert.equal(scorer.modelId, 'tgi:toy/model@0123456789ab');
    assert.equal(scorer.maxContext, 64);
    assert.equal(scorer.bosId, TOY_BOS);
    assert.equal(scorer.eosId, undefined);
  });

  it('tokenize strips the special tokens TGI always adds', async () => {
    fake.requests.length = 0;
    assert.deepEqual(await scorer.tokenize(['Hello', '', 'wörld']), [toyTokenize('Hello', false), [], toyTokenize('wörld', false)]);
    assert.deepEqual(fake.requestsTo('/tokenize').map((r) => r.body), [{ inputs: 'Hello' }, { inputs: 'wörld' }]);
  });

  it('scores the joined text and returns exact log-probs when the tokenizations agree', async () => {
    const seqA = await joined(scorer, ['### Instruction:\n', 'Say hi.']);
    const seqB = await joined(scorer, ['Q: 2+2?\n', 'A: 4']);
    const seqC = (await scorer.tokenize(['cab']))[0] as number[]; // a merge inside one piece, no BOS
    assert.ok(seqC.includes(TGI_MERGED_AB));
    fake.requests.length = 0;
    const lp = await scorer.logprobs([seqA, seqB, seqC]);
    assert.deepEqual(Array.from(lp[0] as Float64Array), Array.from(toyLogprobs(seqA)));
    assert.deepEqual(Array.from(lp[1] as Float64Array), Array.from(toyLogprobs(seqB)));
    // without BOS in the request, TGI still conditions on BOS; position j keeps ids[j]'s log-prob
    assert.deepEqual(Array.from(lp[2] as Float64Array), Array.from(toyLogprobs(seqC)));
    const bodies = fake.requestsTo('/generate').map((r) => r.body as { inputs: string });
    assert.deepEqual(bodies.map((b) => b.inputs).sort(), ['### Instruction:\nSay hi.', 'Q: 2+2?\nA: 4', 'cab'].sort());
    assert.deepEqual((bodies[0] as unknown as Record<string, unknown>)['parameters'], {
      max_new_tokens: 1,
      details: true,
      decoder_input_details: true,
      do_sample: false,
    });
    assert.equal(fake.requestsTo('/generate')[0]?.headers['authorization'], `Bearer ${KEY}`);
    assert.equal(scorer.stats().tokenMismatches, 0);
  });

  it('realigns by byte spans when a token merges across the piece boundary', async () => {
    const mismatches: TgiMismatch[] = [];
    const { scorer: s } = await connect(fake, { apiKey: KEY, onMismatch: (m) => mismatches.push(m) });
    const ids = await joined(s, ['xa', 'by']); // joined "xaby" tokenizes as x, ab, y
    const x = ids[1] as number;
    const y = ids[4] as number;
    const [lp] = await s.logprobs([ids]);
    assert.deepEqual(Array.from(lp as Float64Array), [
      toyLogprob(TOY_BOS, x),
      0, // "a" is covered by the merged token, whose log-prob goes to "b", the last token it overlaps
      toyLogprob(x, TGI_MERGED_AB),
      toyLogprob(TGI_MERGED_AB, y),
    ]);
    assert.deepEqual(mismatches, [{ sequence: 0, requestedTokens: 4, serverTokens: 3 }]);
    assert.equal(s.stats().tokenMismatches, 1);
    await s.close();
    const { scorer: strict } = await connect(fake, { apiKey: KEY, onTokenMismatch: 'error' });
    const ids2 = await joined(strict, ['xa', 'by']);
    await assert.rejects(strict.logprobs([ids2]), (e: Error) => e instanceof PermanentScorerError && /merged across a piece boundary/.test(e.message));
    await strict.close();
  });

  it('scores a sequence cut inside its last piece (a truncated record) from the text up to the cut', async () => {
    const whole = await joined(scorer, ['### Instruction:\n', 'Say hëllo to everyone.']);
    const cut = whole.slice(0, whole.length - 7); // ends inside the second piece ("ev" of "everyone.")
    fake.requests.length = 0;
    const [lp] = await scorer.logprobs([cut]);
    assert.deepEqual(Array.from(lp as Float64Array), Array.from(toyLogprobs(cut)));
    assert.deepEqual(fake.requestsTo('/generate').map((r) => (r.body as { inputs: string }).inputs), ['### Instruction:\nSay hëllo to ev']);
  });

  it('refuses ids it did not tokenize before any request', async () => {
    fake.requests.length = 0;
    await assert.rejects(scorer.logprobs([[TOY_BOS, 999_999, 5]]), /not produced by this scorer's tokenize/);
    assert.equal(fake.requests.length, 0);
  });

  for (const kind of ['wrong-ids', 'short-logprobs'] as const) {
    it(`asks again when the prefill disagrees with /tokenize of the same text (${kind})`, async () => {
      const { scorer: s } = await connect(fake, { apiKey: KEY });
      const ids = await joined(s, ['Hello ', 'there']);
      fake.inject('/generate', { kind });
      const n0 = fake.requestsTo('/generate').length;
      const [lp] = await s.logprobs([ids]);
      assert.deepEqual(Array.from(lp as Float64Array), Array.from(toyLogprobs(ids)));
      assert.equal(fake.requestsTo('/generate').length - n0, 2);
      assert.equal(s.stats().tokenMismatches, 0);
      await s.close();
    });
  }
});

describe('TGI backend without --enable-prefill-logprobs', () => {
  it('fails at once with a message that says how to launch the server', async () => {
    const fake = await FakeTgi.start({ prefillLogprobs: false });
    const { scorer } = await connect(fake);
    const ids = await joined(scorer, ['Hello']);
    await assert.rejects(scorer.logprobs([ids]), (e: Error) => e instanceof PermanentScorerError && /--enable-prefill-logprobs/.test(e.message));
    assert.equal(fake.requestsTo('/generate').length, 1);
    await scorer.close();
    await fake.close();
  });
});
