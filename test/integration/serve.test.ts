import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { LocalScorer } from '../../src/core/scoring/local';
import { VllmScorer } from '../../src/core/scoring/vllm';
import { vllmInputTooLongMessage, vllmPromptFillsContextMessage } from '../../src/core/serve/vllmRefusals';
import { siftAsync, startServe } from '../helpers/cli';
import { bundledModel, examplesDir, tempDir } from '../helpers/paths';

let server: Awaited<ReturnType<typeof startServe>>;
let local: LocalScorer;
before(async () => {
  server = await startServe();
  local = await LocalScorer.load({ modelPath: bundledModel });
});
after(async () => {
  await server.stop();
  await local.close();
});

async function post(path: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(server.url + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

for (const mode of ['echo', 'prompt_logprobs'] as const) test(`the vLLM client against sift serve gives the local backend numbers (${mode})`, async () => {
  const remote = await VllmScorer.connect({ urls: [server.url], mode });
  try {
    assert.equal(remote.bosId, local.bosId);
    // vLLM V1 runs one generated token even for echo with max_tokens 0, and sift serve keeps its rule.
    assert.equal(remote.maxContext, local.maxContext - 1);
    const texts = ['Once upon a time, there was a cat.', ' She had a red ball.', 'Tim and Max went to the beach.'];
    assert.deepEqual(await remote.tokenize(texts), await local.tokenize(texts));
    const ids = await local.tokenize(texts);
    const sequences = [[1, ...ids[0], ...ids[1]], [1, ...ids[1]], [1, ...ids[2]], [1, ...ids[0]]];
    const [a, b] = [await remote.logprobs(sequences), await local.logprobs(sequences)];
    for (let i = 0; i < sequences.length; i++) {
      assert.equal(a[i].length, b[i].length);
      for (let j = 0; j < a[i].length; j++) assert.ok(Math.abs(a[i][j] - b[i][j]) < 1e-6, `sequence ${i} position ${j}`);
    }
  } finally {
    await remote.close();
  }
});

test('sift serve answers /v1/completions/render as vLLM does, and the vLLM client tokenizes there exactly as /tokenize', async () => {
  const story = readFileSync(join(examplesDir, 'tinystories-instructions.jsonl'), 'utf8');
  // Surprising texts: leading spaces, accents, CJK, an emoji, control characters, JSON escapes, and
  // texts over the renderer's limit (the client sends those to /tokenize) next to short ones.
  const texts = [' She had a red ball.', 'naïve café 日本語 🙂', 'tab\tnew\nline "quoted" \\', 'x', story.slice(0, 5000), story.slice(100, 900), 'Tim'.repeat(300)];
  for (let i = 0; i < 300; i++) texts.push(`Once upon a time number ${i}, ${'a cat '.repeat(i % 17)}ran.`);
  const one = async (text: string): Promise<number[]> => (await post('/tokenize', { prompt: text, add_special_tokens: false })).json.tokens as number[];
  const expected = await local.tokenize(texts);
  for (const i of [0, 1, 2, 4, 6]) assert.deepEqual(await one(texts[i] as string), expected[i], `/tokenize of text ${i}`);

  const rendered = await post('/v1/completions/render', { prompt: texts.slice(0, 4), max_tokens: 1, add_special_tokens: false });
  assert.equal(rendered.status, 200);
  const items = rendered.json as unknown as { token_ids: number[]; sampling_params: { max_tokens: number }; request_id: string }[];
  assert.deepEqual(items.map((item) => item.token_ids), expected.slice(0, 4));
  assert.ok(items.every((item) => item.sampling_params.max_tokens === 1 && item.request_id.startsWith('cmpl-')));
  const tooLong = await post('/v1/completions/render', { prompt: ['x', texts[4]], max_tokens: 1, add_special_tokens: false });
  assert.equal(tooLong.status, 400, 'one prompt over the limit fails the request, as in vLLM');
  assert.equal((tooLong.json.error as { message: string }).message, vllmInputTooLongMessage((expected[4] as number[]).length, 1, local.maxContext));

  const remote = await VllmScorer.connect({ urls: [server.url] });
  try {
    assert.equal(remote.renderTexts, true, 'the connect probes agreed');
    assert.deepEqual(await remote.tokenize(texts), expected);
  } finally {
    await remote.close();
  }
});

test('sift score through sift serve equals sift score on the local backend (1e-6)', async () => {
  const dir = tempDir();
  const dataset = join(examplesDir, 'tinystories-instructions.jsonl');
  // Not spawnSync: the tests before and after hold keep-alive connections to the server (see siftAsync).
  const viaLocal = await siftAsync(['score', dataset, '--out', join(dir, 'local.jsonl'), '--no-cache', '-q']);
  const viaServe = await siftAsync(['score', dataset, '--url', server.url, '--out', join(dir, 'serve.jsonl'), '--no-cache', '-q']);
  assert.equal(viaLocal.status, 0, viaLocal.stderr);
  assert.equal(viaServe.status, 0, viaServe.stderr);
  const rows = (name: string): Record<string, number>[] => readFileSync(join(dir, name), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const [l, s] = [rows('local.jsonl'), rows('serve.jsonl')];
  assert.equal(l.length, 18);
  assert.equal(s.length, 18);
  for (let i = 0; i < l.length; i++) {
    for (const key of ['ifd', 'rifd', 'loss_y_given_x', 'loss_y', 'loss_x_given_y', 'loss_x']) {
      assert.equal(typeof l[i][key], 'number');
      assert.ok(Math.abs(l[i][key] - s[i][key]) < 1e-6, `line ${l[i].line} ${key}: ${l[i][key]} vs ${s[i][key]}`);
    }
  }
});

test('completions speak vLLM: text and id prompts, lists, echo logprobs, usage', async () => {
  type Choices = { index: number; logprobs: { token_logprobs: (number | null)[]; tokens: string[] } }[];
  const text = await post('/v1/completions', { model: 'stories260K', prompt: ['Once upon a time', 'The cat'], echo: true, max_tokens: 0, logprobs: 0 });
  assert.equal(text.status, 200);
  assert.equal(text.json.object, 'text_completion');
  const ids = await post('/v1/completions', { model: 'stories260K', prompt: [[1, 403, 407]], echo: true, max_tokens: 0, logprobs: 0 });
  assert.equal(ids.status, 200);
  const [a, b] = [text.json.choices as Choices, ids.json.choices as Choices];
  assert.equal(a.length, 2);
  assert.equal(a[0].logprobs.token_logprobs[0], null);
  assert.equal(a[0].logprobs.token_logprobs.length, 5);
  assert.equal(a[0].logprobs.tokens.slice(2).join(''), ' upon a time');
  assert.equal(b[0].logprobs.token_logprobs.length, 3);
  // The same first tokens give the same log-probs whether sent as text or ids.
  assert.ok(Math.abs(a[0].logprobs.token_logprobs[2]! - b[0].logprobs.token_logprobs[2]!) < 1e-6);
  const promptTokens = a[0].logprobs.tokens.length + a[1].logprobs.tokens.length;
  assert.deepEqual(text.json.usage, { prompt_tokens: promptTokens, total_tokens: promptTokens + 2, completion_tokens: 2, prompt_tokens_details: null });
  const tokenized = await post('/tokenize', { prompt: 'Once upon a time' });
  assert.deepEqual(tokenized.json.tokens, [1, 403, 407, 261, 378]);
  const bare = await post('/tokenize', { prompt: 'Once upon a time', add_special_tokens: false });
  assert.deepEqual(bare.json.tokens, [403, 407, 261, 378]);
});

test('errors have vLLM shapes and statuses', async () => {
  const wrongModel = await post('/v1/completions', { model: 'gpt-9', prompt: 'x', echo: true, max_tokens: 0 });
  assert.equal(wrongModel.status, 404);
  assert.equal((wrongModel.json.error as { code: number }).code, 404);
  // Generation is served, but not the log-probs of generated tokens: refused, not ignored.
  const generation = await post('/v1/completions', { model: 'stories260K', prompt: 'x', max_tokens: 5, logprobs: 1 });
  assert.equal(generation.status, 400);
  assert.equal((generation.json.error as { param: string }).param, 'logprobs');
  const tooLong = await post('/v1/completions', { prompt: new Array(600).fill(300), echo: true, max_tokens: 0, logprobs: 0 });
  assert.equal(tooLong.status, 400);
  assert.equal((tooLong.json.error as { message: string }).message, vllmInputTooLongMessage(600, 0, 512));
  // vLLM V1's rule: a prompt that fills the context leaves no room for the one generated token.
  const full = await post('/v1/completions', { prompt: new Array(512).fill(300), echo: true, max_tokens: 0, logprobs: 0 });
  assert.equal(full.status, 400);
  assert.equal((full.json.error as { message: string }).message, vllmPromptFillsContextMessage(512, 512));
  const fits = await post('/v1/completions', { prompt: new Array(511).fill(300), echo: true, max_tokens: 0, logprobs: 0 });
  assert.equal(fits.status, 200);
  const response = await fetch(server.url + '/v1/completions', { method: 'POST', body: '{not json' });
  assert.equal(response.status, 400);
  const models = (await (await fetch(server.url + '/v1/models')).json()) as { data: { id: string; max_model_len: number }[] };
  assert.equal(models.data[0].id, 'stories260K');
  assert.equal(models.data[0].max_model_len, 512);
});

test('an id outside the vocabulary is a 400 before evaluation, and leaves later log-probs exact', async () => {
  // The sequence that once left wrong log-probs behind: a failed evaluation kept its KV-cache state,
  // and the next prompt sharing a prefix reused it.
  const first = 'Once upon a time there was a cat.';
  const echo = async (prompt: unknown): Promise<{ status: number; json: Record<string, unknown> }> =>
    post('/v1/completions', { model: 'stories260K', prompt, echo: true, max_tokens: 0, logprobs: 0 });
  const logprobsOf = (json: Record<string, unknown>): (number | null)[] =>
    (json.choices as { logprobs: { token_logprobs: (number | null)[] } }[])[0].logprobs.token_logprobs;
  const before = await echo(first);
  assert.equal(before.status, 200);
  assert.equal((await echo('Once upon a time')).status, 200);
  const bad = await echo([1, 999999]);
  assert.equal(bad.status, 400);
  assert.match((bad.json.error as { message: string }).message, /Token id 999999 is out of vocabulary/);
  const badInList = await echo([[1, 403, 407], [1, 403, 512]]);
  assert.equal(badInList.status, 400);
  assert.match((badInList.json.error as { message: string }).message, /prompt 1: Token id 512 is out of vocabulary/);
  assert.equal((await echo('Once upon a time')).status, 200);
  for (let repeat = 0; repeat < 3; repeat++) {
    const after = await echo(first);
    assert.equal(after.status, 200);
    assert.deepEqual(logprobsOf(after.json).map((x) => (x === null ? null : Number(x.toFixed(6)))), logprobsOf(before.json).map((x) => (x === null ? null : Number(x.toFixed(6)))), `repeat ${repeat}`);
  }
  // Still alive and exact after all of that (the detokenizer of llama.cpp aborts the process on an unknown id).
  const models = await fetch(server.url + '/v1/models');
  assert.equal(models.status, 200);
});

test('max_tokens 1 (prompt_logprobs mode) generates the greedy token with its log-prob', async () => {
  type Choice = { text: string; prompt_logprobs: (Record<string, { logprob: number; decoded_token: string }> | null)[]; logprobs: { tokens: string[]; token_logprobs: number[] } };
  const prompt = 'Once upon a time, there was a little';
  const answer = await post('/v1/completions', { prompt, max_tokens: 1, prompt_logprobs: 0, logprobs: 0 });
  assert.equal(answer.status, 200, JSON.stringify(answer.json));
  const [choice] = answer.json.choices as Choice[];
  const [ids] = await local.tokenize([prompt]);
  const [lp] = await local.logprobs([[1, ...ids]]);
  assert.equal(choice.prompt_logprobs.length, ids.length + 1);
  assert.equal(choice.prompt_logprobs[0], null);
  choice.prompt_logprobs.slice(1).forEach((step, j) => {
    const entry = step?.[String(ids[j])];
    assert.ok(entry && Math.abs(entry.logprob - lp[j]) < 1e-6, `position ${j + 1}`);
  });
  // The generated token is the argmax after the prompt: appending it gives the highest log-prob
  // of every candidate next token (an independent check through the scorer itself).
  const [generatedIds] = await local.tokenize([prompt + choice.text]);
  const generated = generatedIds[generatedIds.length - 1];
  const candidates = [generated, 300, 403, 261, 378];
  const scores = await local.logprobs(candidates.map((t) => [1, ...ids, t]));
  const best = Math.max(...scores.map((s) => s[s.length - 1]));
  assert.ok(Math.abs(scores[0][scores[0].length - 1] - best) < 1e-9, `"${choice.text}" is not the most likely next token`);
  assert.ok(Math.abs(choice.logprobs.token_logprobs[0] - scores[0][scores[0].length - 1]) < 1e-6);
  // Greedy generation of five tokens starts with the same token.
  const five = await post('/v1/completions', { prompt, max_tokens: 5, temperature: 0 });
  assert.equal(five.status, 200, JSON.stringify(five.json));
  const [greedy] = five.json.choices as { text: string; finish_reason: string }[];
  assert.ok(greedy.text.startsWith(choice.text), `"${greedy.text}" starts with "${choice.text}"`);
  assert.equal(greedy.finish_reason, 'length');
});

test('a malformed request target (curl --request-target "http://[") is a 400 and the server keeps serving', async () => {
  const { hostname, port } = new URL(server.url);
  const status = await new Promise<number>((resolve, reject) => {
    const req = httpRequest({ hostname, port, path: 'http://[' }, (res) => {
      res.resume();
      resolve(res.statusCode!);
    });
    req.on('error', reject);
    req.end();
  });
  assert.equal(status, 400);
  assert.equal(server.process.exitCode, null);
  assert.equal((await fetch(`${server.url}/health`)).status, 200);
});

test('sift serve --api-key: Sift\'s vLLM client with the key scores, without it is refused with 401', async () => {
  const guarded = await startServe(['--api-key', 'test-key']);
  try {
    const withKey = await VllmScorer.connect({ urls: [guarded.url], apiKey: 'test-key' });
    try {
      const [lp] = await withKey.logprobs([[1, 403, 407]]);
      assert.equal(lp.length, 2);
    } finally {
      await withKey.close();
    }
    const refused = await fetch(`${guarded.url}/v1/models`);
    assert.equal(refused.status, 401);
    assert.deepEqual(await refused.json(), { error: 'Unauthorized' });
  } finally {
    await guarded.stop();
  }
});
