/**
 * Unit tests of the pieces under the vLLM backend: response validation and builders, batching,
 * BOS detection, and the shared HTTP helpers (Retry-After, back-off, lenient JSON, error bodies).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { detectBos, planBatches } from '../../src/core/scoring/vllm/client';
import { buildCompletionResponse, buildErrorResponse, buildModelList } from '../../src/core/serve/vllmResponses';
import {
  buildScoringRequest,
  parseEchoLogprobs,
  parseModelList,
  parsePromptLogprobs,
  parseTokenizeResponse,
} from '../../src/core/scoring/vllm/protocol';
import { parseJsonBody, serverErrorMessage } from '../../src/core/net/body';
import { MalformedResponseError } from '../../src/core/net/errors';
import { redact, REDACTED } from '../../src/core/net/redact';
import { backoffDelayMs, parseRetryAfterMs } from '../../src/core/net/retry';
import { normaliseBaseUrl } from '../../src/core/scoring/http/pool';
import { PermanentScorerError } from '../../src/core/scoring/types';

const prompt = { tokenIds: [1, 72, 105], tokenTexts: ['<s>', 'H', 'i'], promptText: 'Hi', logprobs: [-1.5, -0.25] };

describe('vLLM protocol: response builders mirror vLLM', () => {
  it('echo + max_tokens 0 + logprobs 0 (serving.py request_output_to_completion_response)', () => {
    const r = buildCompletionResponse({ model: 'm', echo: true, maxTokens: 0, logprobs: 0, promptLogprobs: null, id: 'cmpl-1', created: 7 }, [prompt]);
    assert.deepEqual(JSON.parse(JSON.stringify(r)), {
      id: 'cmpl-1',
      object: 'text_completion',
      created: 7,
      model: 'm',
      choices: [
        {
          index: 0,
          text: 'Hi',
          logprobs: {
            text_offset: [0, 3, 4],
            token_logprobs: [null, -1.5, -0.25],
            tokens: ['<s>', 'H', 'i'],
            top_logprobs: [null, { H: -1.5 }, { i: -0.25 }],
          },
          finish_reason: 'length',
          stop_reason: null,
          token_ids: null,
          prompt_logprobs: [null, { '72': { logprob: -1.5, rank: 1, decoded_token: 'H' } }, { '105': { logprob: -0.25, rank: 1, decoded_token: 'i' } }],
          prompt_token_ids: null,
        },
      ],
      service_tier: null,
      system_fingerprint: null,
      // the engine generated one token internally (max_tokens 0 is run as 1)
      usage: { prompt_tokens: 3, total_tokens: 4, completion_tokens: 1, prompt_tokens_details: null },
      kv_transfer_params: null,
    });
  });

  it('prompt_logprobs without echo: generated text only, logprobs null', () => {
    const r = buildCompletionResponse({ model: 'm', echo: false, maxTokens: 1, logprobs: null, promptLogprobs: 0 }, [
      { ...prompt, generated: { tokenId: 2, text: '!', logprob: -0.1 } },
    ]);
    const c = r.choices[0];
    assert.equal(c?.text, '!');
    assert.equal(c?.logprobs, null);
    assert.equal(c?.prompt_logprobs?.length, 3);
  });

  it('clamps -inf to -9999 and counts text_offset in code points', () => {
    const r = buildCompletionResponse({ model: 'm', echo: true, maxTokens: 0, logprobs: 0, promptLogprobs: null }, [
      { tokenIds: [5, 6, 7], tokenTexts: ['🙂', 'é', 'x'], logprobs: [-Infinity, -2] },
    ]);
    const lp = r.choices[0]?.logprobs;
    assert.deepEqual(lp?.token_logprobs, [null, -9999, -2]);
    assert.deepEqual(lp?.text_offset, [0, 1, 2]);
  });

  it('model list, tokenize and error bodies', () => {
    const ml = buildModelList('base', 4096, { loras: ['ad'], created: 1 });
    assert.equal(ml.object, 'list');
    assert.deepEqual(
      ml.data.map((c) => [c.id, c.object, c.owned_by, c.parent, c.max_model_len]),
      [
        ['base', 'model', 'vllm', null, 4096],
        ['ad', 'model', 'vllm', 'base', null],
      ],
    );
    assert.deepEqual(parseModelList(JSON.parse(JSON.stringify(ml))).data.map((c) => c.id), ['base', 'ad']);
    assert.deepEqual(buildErrorResponse('The model `x` does not exist.', 404, undefined, 'model'), {
      error: { message: 'The model `x` does not exist.', type: 'NotFoundError', param: 'model', code: 404 },
    });
  });

  it('scoring requests', () => {
    assert.deepEqual(buildScoringRequest('m', [[1, 2]], 'echo'), { model: 'm', prompt: [[1, 2]], echo: true, max_tokens: 0, logprobs: 0 });
    assert.deepEqual(buildScoringRequest('m', [[1, 2]], 'prompt_logprobs'), { model: 'm', prompt: [[1, 2]], max_tokens: 1, prompt_logprobs: 0 });
  });
});

describe('vLLM protocol: validation', () => {
  const seqs = [
    [1, 72, 105],
    [1, 80],
  ];
  const good = () =>
    JSON.parse(
      JSON.stringify(
        buildCompletionResponse({ model: 'm', echo: true, maxTokens: 0, logprobs: 0, promptLogprobs: null }, [
          prompt,
          { tokenIds: [1, 80], tokenTexts: ['<s>', 'M'], logprobs: [-3] },
        ]),
      ),
    );

  it('reads both modes and orders choices by index', () => {
    const body = good();
    body.choices.reverse();
    const e = parseEchoLogprobs(body, seqs);
    assert.deepEqual(e.map((a) => Array.from(a)), [[-1.5, -0.25], [-3]]);
    const p = parsePromptLogprobs(body, seqs);
    assert.deepEqual(p.map((a) => Array.from(a)), [[-1.5, -0.25], [-3]]);
  });

  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- mutating raw JSON in place
  const bad: [string, (b: Record<string, any>) => void, RegExp][] = [
    ['no choices', (b) => delete b['choices'], /no choices/],
    ['a missing choice', (b) => b['choices'].pop(), /expected 2 choices/],
    ['a duplicate index', (b) => (b['choices'][1].index = 0), /appears twice/],
    ['an index out of range', (b) => (b['choices'][1].index = 5), /not in 0\.\.1/],
    ['logprobs null', (b) => (b['choices'][0].logprobs = null), /logprobs missing/],
    ['a short echo', (b) => b['choices'][0].logprobs.token_logprobs.pop(), /2 token log-probs for a 3-token prompt/],
    ['a long echo (prompt + generated token)', (b) => b['choices'][1].logprobs.token_logprobs.push(-1), /3 token log-probs for a 2-token prompt/],
    ['a null in the middle', (b) => (b['choices'][0].logprobs.token_logprobs[2] = null), /position 2: log-prob is null/],
    ['a string log-prob', (b) => (b['choices'][0].logprobs.token_logprobs[1] = '-1'), /log-prob is "-1"/],
    ['an error object', (b) => Object.assign(b, { object: 'error', message: 'sleeping', choices: undefined }), /error instead of a result: sleeping/],
  ];
  for (const [name, mutate, re] of bad) {
    it(`echo: rejects ${name}`, () => {
      const body = good();
      mutate(body);
      assert.throws(() => parseEchoLogprobs(body, seqs), (e: Error) => e instanceof MalformedResponseError && re.test(e.message));
    });
  }

  it('prompt_logprobs: rejects an entry for another token', () => {
    const body = good();
    body.choices[0].prompt_logprobs[2] = { '999': { logprob: -1, rank: 1, decoded_token: 'x' } };
    assert.throws(() => parsePromptLogprobs(body, seqs), /no log-prob for the prompt token 105/);
  });

  it('tokenize responses', () => {
    assert.deepEqual(parseTokenizeResponse({ count: 2, max_model_len: 8, tokens: [3, 4], token_strs: null }).tokens, [3, 4]);
    assert.throws(() => parseTokenizeResponse({ count: 3, max_model_len: 8, tokens: [3, 4] }), MalformedResponseError);
    assert.throws(() => parseTokenizeResponse({ count: 1, tokens: [-1] }), MalformedResponseError);
    assert.throws(() => parseTokenizeResponse({ count: 1 }), MalformedResponseError);
  });
});

describe('vLLM client helpers', () => {
  it('planBatches: token and count limits, order, long items alone', () => {
    assert.deepEqual(planBatches([3, 3, 3, 10, 2, 2], 6, 100), [[0, 1], [2], [3], [4, 5]]);
    assert.deepEqual(planBatches([1, 1, 1, 1, 1], 100, 2), [[0, 1], [2, 3], [4]]);
    assert.deepEqual(planBatches([], 10, 10), []);
  });

  it('detectBos', () => {
    assert.equal(detectBos([1, 15043], [15043]), 1); // LLaMA
    assert.equal(detectBos([9707], [9707]), undefined); // Qwen / GPT-2: nothing added
    assert.equal(detectBos([9707, 2], [9707]), undefined); // EOS appended, no BOS
    assert.equal(detectBos([1, 9707, 2], [9707]), 1); // BOS and EOS
  });
});

describe('HTTP helpers', () => {
  it('parseRetryAfterMs', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    assert.equal(parseRetryAfterMs('1', now), 1000);
    assert.equal(parseRetryAfterMs(' 120 ', now), 120_000);
    assert.equal(parseRetryAfterMs('1.5', now), 1500);
    assert.equal(parseRetryAfterMs('Thu, 01 Jan 2026 00:00:05 GMT', now), 5000);
    assert.equal(parseRetryAfterMs('Wed, 31 Dec 2025 23:59:00 GMT', now), 0);
    assert.equal(parseRetryAfterMs('soon', now), undefined);
    assert.equal(parseRetryAfterMs(null, now), undefined);
    assert.equal(parseRetryAfterMs('-3', now), undefined);
  });

  it('backoffDelayMs: full jitter under an exponential ceiling with a cap', () => {
    assert.equal(backoffDelayMs(0, 500, 30_000, () => 0.999999), 499);
    assert.equal(backoffDelayMs(3, 500, 30_000, () => 0.5), 2000);
    assert.equal(backoffDelayMs(20, 500, 30_000, () => 0.5), 15_000);
    assert.equal(backoffDelayMs(5, 500, 30_000, () => 0), 0);
  });

  it('parseJsonBody: strict JSON, Python non-finite floats, truncated bodies', () => {
    assert.deepEqual(parseJsonBody('{"a":[1,null]}'), { a: [1, null] });
    assert.deepEqual(parseJsonBody('{"a":[null,-Infinity, NaN],"b":Infinity}'), { a: [null, -Infinity, null], b: Infinity });
    assert.throws(() => parseJsonBody('{"a":[1,'), MalformedResponseError);
    assert.throws(() => parseJsonBody(''), MalformedResponseError);
  });

  it('serverErrorMessage understands vLLM, FastAPI, SGLang/TGI and plain text', () => {
    assert.equal(serverErrorMessage('{"error":{"message":"bad","type":"BadRequestError","param":null,"code":400}}'), 'bad');
    assert.equal(serverErrorMessage('{"object":"error","message":"old","type":"BadRequestError","code":400}'), 'old');
    assert.equal(serverErrorMessage('{"error":"Unauthorized"}'), 'Unauthorized');
    assert.equal(serverErrorMessage('{"detail":"Not Found"}'), 'Not Found');
    assert.equal(serverErrorMessage('{"error":"Input validation error","error_type":"validation"}'), 'Input validation error');
    assert.equal(serverErrorMessage('<html>502</html>'), '<html>502</html>');
    assert.equal(serverErrorMessage(''), '(empty body)');
  });

  it('redact', () => {
    assert.equal(redact('key sk-abcdef here sk-abcdef', ['sk-abcdef']), `key ${REDACTED} here ${REDACTED}`);
    assert.equal(redact('nothing', [undefined]), 'nothing');
  });

  it('normaliseBaseUrl', () => {
    assert.equal(normaliseBaseUrl('http://gpu:8000/v1/'), 'http://gpu:8000');
    assert.equal(normaliseBaseUrl('https://h.example/proxy/vllm/'), 'https://h.example/proxy/vllm');
    assert.throws(() => normaliseBaseUrl('gpu:8000'), PermanentScorerError);
    assert.throws(() => normaliseBaseUrl('http://u:secret@gpu:8000'), (e: Error) => e instanceof PermanentScorerError && !e.message.includes('secret'));
  });
});
