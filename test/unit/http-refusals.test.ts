/**
 * One refused sequence must never fail the others, and vLLM V1 runs even `echo` with
 * `max_tokens: 0` as one generated token. End to end through `scoreRecords` against the vLLM,
 * SGLang and TGI fakes (test/helpers), comparing every score with the toy model's closed form.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { TrainingPair } from '../../src/core/dataset/types';
import { scoreRecords, type RecordLossResult } from '../../src/core/scoring/scoreRecords';
import type { ScoringConfig } from '../../src/core/scoring/plan';
import { ScoreStore } from '../../src/core/store/scoreStore';
import { PermanentScorerError, type TokenScorer } from '../../src/core/scoring/types';
import { VllmScorer } from '../../src/core/scoring/vllm/client';
import { vllmPromptFillsContextMessage } from '../../src/core/serve/vllmRefusals';
import { SglangScorer } from '../../src/core/scoring/sglang/client';
import { TgiScorer } from '../../src/core/scoring/tgi/client';
import { FakeVllm, toyLogprob, toyTokenize, TOY_BOS } from '../helpers/fake-vllm';
import { FakeSglang } from '../helpers/fake-sglang';
import { FakeTgi } from '../helpers/fake-tgi';
import type { FakeHttpServer } from '../helpers/fake-server';

const FAST = { backoffBaseMs: 5, backoffCapMs: 40, requestTimeoutMs: 2000 } as const;
// DS weight scores every token after BOS of "instruction\n" + response: one sequence per record.
const CONFIG: ScoringConfig = { metrics: ['ds'], template: 'plain', boundary: 'clean', ifdVariant: 'ppl' };
const POISON = '\u2620'; // a character the fakes are told to refuse
const POISON_ID = (POISON.codePointAt(0) as number) + 3;

function records(n: number, opts: { long?: number; poisoned?: number; longChars?: number } = {}): TrainingPair[] {
  return Array.from({ length: n }, (_, i) => {
    let response = `Answer number ${i}: the cat sat on the mat ${'xyz'.repeat(i % 5)}.`;
    if (i === opts.long) response = 'L'.repeat(opts.longChars ?? 400);
    if (i === opts.poisoned) response = `Answer ${POISON} ${i}`;
    return { instruction: `Question ${i}?`, input: '', response, history: [] };
  });
}

/** The DS loss the toy model gives for a pair, computed here from the closed form. */
function expectedDs(pair: TrainingPair, maxContext: number): { mean: number; n: number; truncated: boolean } {
  const full = [TOY_BOS, ...toyTokenize(`${pair.instruction}\n`, false), ...toyTokenize(pair.response, false)];
  const ids = full.slice(0, maxContext);
  let sum = 0;
  for (let j = 1; j < ids.length; j++) sum -= toyLogprob(ids[j - 1] as number, ids[j] as number);
  return { mean: sum / (ids.length - 1), n: ids.length - 1, truncated: ids.length < full.length };
}

async function score(scorer: TokenScorer, pairs: TrainingPair[], chunkTokens = 1_000_000): Promise<RecordLossResult[]> {
  const out: RecordLossResult[] = [];
  await scoreRecords(
    pairs.map((pair, id) => ({ id, pair })),
    { scorer, store: ScoreStore.memory(), config: CONFIG, methodVersion: 'test', chunkTokens, onResult: (r) => out.push(r) },
  );
  return out.sort((a, b) => a.id - b.id);
}

/** Every record but `failing` has its exact DS score; returns the failing records' messages. */
function check(results: RecordLossResult[], pairs: TrainingPair[], maxContext: number, failing: readonly number[]): Map<number, string> {
  assert.equal(results.length, pairs.length);
  const errors = new Map<number, string>();
  for (const r of results) {
    const ds = r.metrics.ds;
    assert.ok(ds, `record ${r.id} has a DS outcome`);
    if (!ds.ok) {
      errors.set(r.id, ds.error);
      continue;
    }
    const want = expectedDs(pairs[r.id] as TrainingPair, maxContext);
    const got = ds.losses.xy;
    assert.equal(got?.n, want.n, `record ${r.id}: scored tokens`);
    assert.ok(Math.abs((got?.mean as number) - want.mean) < 1e-12, `record ${r.id}: ${got?.mean} vs ${want.mean}`);
    assert.equal(ds.truncated, want.truncated, `record ${r.id}: truncated`);
  }
  assert.deepEqual([...errors.keys()], [...failing], `failing records (${[...errors.values()].join(' | ')})`);
  return errors;
}

describe('vLLM V1: max_tokens 0 runs as one generated token', () => {
  it('the fake refuses an echo prompt of exactly max_model_len tokens with vLLM V1 message and body', async () => {
    const fake = await FakeVllm.start({ maxModelLen: 16 });
    try {
      const post = async (body: unknown) => {
        const r = await fetch(`${fake.url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
        return { status: r.status, body: (await r.json()) as unknown };
      };
      const ids = (n: number) => Array.from({ length: n }, (_, i) => 100 + i);
      const full = await post({ model: 'toy-model', prompt: [ids(16)], echo: true, max_tokens: 0, logprobs: 0 });
      assert.equal(full.status, 400);
      assert.deepEqual(full.body, { error: { message: vllmPromptFillsContextMessage(16, 16), type: 'BadRequestError', param: null, code: 400 } });
      assert.equal(
        vllmPromptFillsContextMessage(16, 16),
        'The decoder prompt (length 16) plus the number of requested output tokens (at least 1) is longer than the maximum model length of 16. ' +
          'Make sure that `max_model_len` is no smaller than the number of text tokens (prompt + requested output tokens).',
      );
      // one token less fits, in both modes
      assert.equal((await post({ model: 'toy-model', prompt: [ids(15)], echo: true, max_tokens: 0, logprobs: 0 })).status, 200);
      assert.equal((await post({ model: 'toy-model', prompt: [ids(15)], max_tokens: 1, prompt_logprobs: 0 })).status, 200);
      // prompt_logprobs mode at max_model_len: refused earlier, by the renderer
      const pl = await post({ model: 'toy-model', prompt: [ids(16)], max_tokens: 1, prompt_logprobs: 0 });
      assert.equal(pl.status, 400);
      assert.match(JSON.stringify(pl.body), /You passed 16 input tokens and requested 1 output tokens\. .*maximum input length of 15 tokens/);
    } finally {
      await fake.close();
    }
  });

  for (const mode of ['echo', 'prompt_logprobs'] as const) {
    it(`${mode}: a sequence of exactly max_model_len tokens is cut to max_model_len - 1 and scored`, async () => {
      const fake = await FakeVllm.start({ maxModelLen: 64 });
      const scorer = await VllmScorer.connect({ urls: [fake.url], ...FAST, mode });
      try {
        assert.equal(scorer.maxContext, 63);
        // BOS + "Q?\n" (3) + 60 response tokens = 64 = max_model_len
        const pair: TrainingPair = { instruction: 'Q?', input: '', response: 'r'.repeat(60), history: [] };
        const pairs = [pair, { ...pair, response: 'short' }];
        const results = await score(scorer, pairs);
        check(results, pairs, 63, []);
        assert.equal(results[0]?.metrics.ds?.ok && results[0].metrics.ds.truncated, true);
        assert.equal(expectedDs(pair, 63).n, 62);
      } finally {
        await scorer.close();
        await fake.close();
      }
    });
  }

  it('max_model_len 256, 30 records, one longer than the context: all 30 are scored (the long one truncated)', async () => {
    const fake = await FakeVllm.start({ maxModelLen: 256 });
    const scorer = await VllmScorer.connect({ urls: [fake.url], ...FAST, mode: 'echo' });
    try {
      const pairs = records(30, { long: 7 });
      const results = await score(scorer, pairs);
      check(results, pairs, 255, []);
      assert.equal(results[7]?.metrics.ds?.ok && results[7].metrics.ds.truncated, true);
    } finally {
      await scorer.close();
      await fake.close();
    }
  });
});

/** One backend refusing the poisoned record among 30: its fake, its scorer, and what it says. */
interface RefusalCase {
  name: string;
  start: () => Promise<FakeHttpServer>;
  connect: (url: string) => Promise<TokenScorer & { close(): Promise<void> }>;
  poisoned: number;
  maxContext: number;
  expect: RegExp;
  /** Further checks of the requests the fake received. */
  requests?: (fake: FakeHttpServer) => void;
}

const VLLM_OOV = `Token id ${POISON_ID} is out of vocabulary`; // _validate_model_input

const REFUSAL_CASES: RefusalCase[] = [
  {
    name: 'vLLM: one prompt refused with a 400 among 30 records in one request: 29 scored, 1 error',
    start: () => FakeVllm.start({ maxModelLen: 256, rejectIf: (ids) => (ids.includes(POISON_ID) ? VLLM_OOV : undefined) }),
    connect: (url) => VllmScorer.connect({ urls: [url], ...FAST }),
    poisoned: 12,
    maxContext: 255,
    expect: new RegExp(`HTTP 400: ${VLLM_OOV}`),
    requests: (fake) => {
      // one request for all 30, then halves down to the refused prompt (no retry of a 400)
      const sizes = fake.requestsTo('/v1/completions').map((r) => (r.body as { prompt: unknown[] }).prompt.length);
      assert.equal(sizes[0], 30);
      assert.ok(sizes.length <= 1 + 2 * Math.ceil(Math.log2(30)), `${sizes.length} requests: ${sizes.join(',')}`);
      assert.ok(sizes.includes(1));
    },
  },
  {
    name: 'SGLang: one prompt refused with a 400 among 30 records: 29 scored, 1 error',
    start: () => FakeSglang.start({ contextLen: 256, rejectIf: (ids) => (ids.includes(POISON_ID) ? 'refused by the server' : undefined) }),
    connect: (url) => SglangScorer.connect({ urls: [url], ...FAST }),
    poisoned: 3,
    maxContext: 255,
    expect: /HTTP 400: refused by the server/,
  },
  {
    name: 'TGI: one input refused with a 422 among 30 records: 29 scored, 1 error',
    start: () => FakeTgi.start({ maxInputTokens: 1024, maxTotalTokens: 2048, rejectIf: (t) => (t.includes(POISON) ? 'refused' : undefined) }),
    connect: (url) => TgiScorer.connect({ urls: [url], ...FAST }),
    poisoned: 29,
    maxContext: 1024,
    expect: /HTTP 422: Input validation error: refused/,
  },
];

describe('a refused sequence fails alone (the request is split until it is isolated)', () => {
  for (const c of REFUSAL_CASES) {
    it(c.name, async () => {
      const fake = await c.start();
      const scorer = await c.connect(fake.url);
      try {
        const pairs = records(30, { poisoned: c.poisoned });
        const errors = check(await score(scorer, pairs), pairs, c.maxContext, [c.poisoned]);
        assert.match(errors.get(c.poisoned) as string, c.expect);
        c.requests?.(fake);
      } finally {
        await scorer.close();
        await fake.close();
      }
    });
  }

  it('vLLM: a 400 on the only sequence of a call is that call error, as before', async () => {
    const fake = await FakeVllm.start({ maxModelLen: 256, rejectIf: () => 'nope' });
    const scorer = await VllmScorer.connect({ urls: [fake.url], ...FAST });
    try {
      await assert.rejects(scorer.logprobs([[TOY_BOS, 70, 71]]), (e: Error) => e instanceof PermanentScorerError && /HTTP 400: nope/.test(e.message));
      assert.equal(fake.requestsTo('/v1/completions').length, 1);
    } finally {
      await scorer.close();
      await fake.close();
    }
  });
});

describe('SGLang: a server that changes prompt lengths is a server setting, reported once', () => {
  for (const [name, opts] of [
    ['--allow-auto-truncate (a KV cache pool below the context)', { contextLen: 256, maxReqInputLen: 100, allowAutoTruncate: true }],
    ['speculative decoding (reserved tokens) with --allow-auto-truncate', { contextLen: 256, reservedTokens: 64, allowAutoTruncate: true }],
  ] as const) {
    it(name, async () => {
      const fake = await FakeSglang.start(opts);
      const scorer = await SglangScorer.connect({ urls: [fake.url], ...FAST });
      try {
        const long = [TOY_BOS, ...Array.from({ length: 200 }, (_, i) => 100 + (i % 50))].slice(0, scorer.maxContext);
        let first: unknown;
        await assert.rejects(scorer.logprobs([[TOY_BOS, 70, 71], long]), (e: Error) => {
          first = e;
          assert.ok(e instanceof PermanentScorerError);
          assert.match(e.message, /SGLang server setting: .*--allow-auto-truncate/);
          return true;
        });
        assert.equal(fake.requestsTo('/generate').length, 1, 'neither retried nor split');
        // later calls fail at once with the same error, without a request
        await assert.rejects(scorer.logprobs([[TOY_BOS, 70, 71]]), (e: unknown) => e === first);
        assert.equal(fake.requestsTo('/generate').length, 1);
      } finally {
        await scorer.close();
        await fake.close();
      }
    });
  }

  it('without --allow-auto-truncate, speculative decoding refuses the long prompt alone', async () => {
    const fake = await FakeSglang.start({ contextLen: 256, reservedTokens: 64 });
    const scorer = await SglangScorer.connect({ urls: [fake.url], ...FAST });
    try {
      const pairs = records(10, { long: 4, longChars: 230 });
      const errors = check(await score(scorer, pairs), pairs, 255, [4]);
      assert.match(errors.get(4) as string, /HTTP 400: Input length \(\d+ tokens\) exceeds the maximum allowed length \(192 tokens\)/);
    } finally {
      await scorer.close();
      await fake.close();
    }
  });
});
