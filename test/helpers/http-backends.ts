/**
 * The three HTTP scoring backends (vLLM, SGLang, TGI) described alike, so that the cases every
 * backend must pass run once per backend (test/unit/http-backends-contract.test.ts) against its
 * real loopback fake server.
 */
import assert from 'node:assert/strict';
import type { HttpFailureKind, HttpPoolOptions } from '../../src/core/scoring/http/pool';
import type { HttpScorer } from '../../src/core/scoring/http/scorer';
import { SglangScorer } from '../../src/core/scoring/sglang/client';
import { TgiScorer } from '../../src/core/scoring/tgi/client';
import { VllmScorer } from '../../src/core/scoring/vllm/client';
import { toyLogprobs, toySequence, TOY_BOS, type Fault, type FakeHttpServer } from './fake-server';
import { FakeSglang } from './fake-sglang';
import { FakeTgi } from './fake-tgi';
import { FakeVllm } from './fake-vllm';

/** Short back-off and timeout so that retry cases run in milliseconds. */
export const FAST = { backoffBaseMs: 5, backoffCapMs: 40, requestTimeoutMs: 400 } as const;

/** Each result is a Float64Array of the toy model's exact log-probs for its sequence. */
export function assertLogprobsEqual(actual: Float64Array[], sequences: number[][]): void {
  assert.equal(actual.length, sequences.length);
  sequences.forEach((ids, i) => {
    const want = toyLogprobs(ids);
    const got = actual[i] as Float64Array;
    assert.ok(got instanceof Float64Array, `result ${i} is a Float64Array`);
    assert.equal(got.length, Math.max(0, ids.length - 1), `length of result ${i}`);
    assert.deepEqual(Array.from(got), Array.from(want), `values of result ${i}`);
  });
}

export interface HttpBackendCase {
  name: string;
  key: string;
  /** Its fake server, requiring `key`. */
  start: () => Promise<FakeHttpServer>;
  connect: (url: string, extra: Partial<HttpPoolOptions>) => Promise<HttpScorer>;
  /** Where the scoring requests go. */
  scorePath: string;
  /** Sequences to score, built the way the core builds them for this backend. */
  sequences: (scorer: HttpScorer) => Promise<number[][]>;
  /** Faults the backend retries, with the failure kind each is counted as. */
  retryable: [string, Fault, HttpFailureKind][];
  /** The backend's refusal of a request's content: never retried, reported in the server's words. */
  refusal: { status: number; message: string; expect: RegExp };
}

export const HTTP_BACKENDS: HttpBackendCase[] = [
  {
    name: 'vLLM',
    key: 'sk-test-SECRET-9f8e7d6c5b4a',
    start: () => FakeVllm.start({ apiKey: 'sk-test-SECRET-9f8e7d6c5b4a' }),
    connect: (url, extra) => VllmScorer.connect({ urls: [url], ...FAST, ...extra }),
    scorePath: '/v1/completions',
    sequences: async () => [toySequence(4, 1), toySequence(7, 2)],
    retryable: [
      ['connection reset', { kind: 'reset' }, 'connection'],
      ['a hang (timeout)', { kind: 'hang' }, 'timeout'],
      ['HTTP 500', { kind: 'status', status: 500 }, 'status'],
      ['HTTP 502 from a proxy', { kind: 'status', status: 502, body: '<html>bad gateway</html>' }, 'status'],
      ['HTTP 503', { kind: 'status', status: 503 }, 'status'],
      ['HTTP 429 without Retry-After', { kind: 'status', status: 429 }, 'status'],
      ['truncated JSON', { kind: 'truncated' }, 'malformed'],
      ['connection cut mid-body', { kind: 'cut' }, 'connection'],
      ['a non-JSON body', { kind: 'not-json' }, 'malformed'],
      ['an error object with status 200', { kind: 'error-body' }, 'malformed'],
      ['missing logprobs', { kind: 'missing-logprobs' }, 'malformed'],
      ['the wrong number of choices', { kind: 'wrong-choices' }, 'malformed'],
      ['a choice that does not cover the prompt', { kind: 'short-logprobs' }, 'malformed'],
      ['NaN', { kind: 'nan' }, 'malformed'],
    ],
    refusal: {
      status: 400,
      message: "This model's maximum context length is 2048 tokens.",
      expect: /HTTP 400: This model's maximum context length is 2048 tokens\./,
    },
  },
  {
    name: 'SGLang',
    key: 'sk-sglang-SECRET-0a1b2c3d4e',
    start: () => FakeSglang.start({ contextLen: 128, apiKey: 'sk-sglang-SECRET-0a1b2c3d4e' }),
    connect: (url, extra) => SglangScorer.connect({ urls: [url], ...FAST, ...extra }),
    scorePath: '/generate',
    sequences: async () => [toySequence(4, 1), toySequence(6, 2)],
    retryable: [
      ['a reset connection', { kind: 'reset' }, 'connection'],
      ['HTTP 503', { kind: 'status', status: 503 }, 'status'],
      ['truncated JSON', { kind: 'truncated' }, 'malformed'],
      ['missing input_token_logprobs', { kind: 'missing-logprobs' }, 'malformed'],
      ['one output too few', { kind: 'wrong-choices' }, 'malformed'],
      ['log-probs that do not cover the prompt', { kind: 'short-logprobs' }, 'malformed'],
      ['log-probs for other token ids', { kind: 'wrong-ids' }, 'malformed'],
      ['an error object with status 200', { kind: 'error-body' }, 'malformed'],
    ],
    refusal: {
      status: 400,
      message: "The input (9000 tokens) is longer than the model's context length (8192 tokens).",
      expect: /HTTP 400: The input \(9000 tokens\) is longer than the model's context length/,
    },
  },
  {
    name: 'TGI',
    key: 'hf_tgi_SECRET_5e6f7a8b9c',
    start: () => FakeTgi.start({ apiKey: 'hf_tgi_SECRET_5e6f7a8b9c', modelSha: '0123456789abcdef0123', maxInputTokens: 64, maxTotalTokens: 80 }),
    connect: (url, extra) => TgiScorer.connect({ urls: [url], ...FAST, ...extra }),
    scorePath: '/generate',
    // TGI scores text: a sequence is BOS + the ids of separately tokenized pieces.
    sequences: async (scorer) => [[TOY_BOS, ...(await scorer.tokenize(['Hello ', 'there'])).flat()]],
    retryable: [
      ['429 overloaded', { kind: 'status', status: 429, message: 'Model is overloaded' }, 'status'],
      ['424 generation error', { kind: 'status', status: 424, message: 'Request failed during generation: CUDA out of memory' }, 'status'],
      ['a reset connection', { kind: 'reset' }, 'connection'],
      ['truncated JSON', { kind: 'truncated' }, 'malformed'],
      ['a response without details', { kind: 'missing-logprobs' }, 'malformed'],
      ['a NaN log-prob', { kind: 'nan' }, 'malformed'],
    ],
    refusal: { status: 422, message: 'Input validation error: bad token', expect: /HTTP 422: Input validation error: bad token/ },
  },
];
