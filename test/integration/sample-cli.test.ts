// `sift sample` end to end: on the bundled model in-process and through `sift serve` with the vLLM
// client (the same engine, so the same candidates), chat prompts through the model's template, and
// against the fake vLLM server: stopped by SIGTERM after part of the work, a re-run sends only the
// requests still missing.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { SampledCandidate } from '../../src/core/reasoning/sample/candidateLine';
import { JinjaChatRenderer } from '../../src/core/scoring/chat/jinjaRenderer';
import { chatMessages, checkPromptSpec } from '../../src/core/reasoning/sample/prompts';
import type { NodeLlamaCpp } from '../../src/core/scoring/local/llamaTypes';
import { cliPath, examplesDir, bundledChatModel, repoRoot, tempDir } from '../helpers/paths';
import { siftAsync, startServe } from '../helpers/cli';
import { FakeVllm, toySample, toyTokenize } from '../helpers/fake-vllm';
import { waitFor } from '../helpers/waitFor';

/** The first `count` GSM8K questions of the examples, in a folder of their own (the store goes beside). */
function questionsFile(count: number): { dir: string; path: string } {
  const dir = tempDir();
  const path = join(dir, 'questions.jsonl');
  writeFileSync(path, readFileSync(join(examplesDir, 'gsm8k-sample.jsonl'), 'utf8').trim().split('\n').slice(0, count).join('\n') + '\n');
  return { dir, path };
}

const read = (path: string): SampledCandidate[] => readFileSync(path, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as SampledCandidate);
const common = ['--prompt', 'qa-0shot', '--k', '3', '--max-tokens', '24', '--threads', '1', '-q'];

describe('sift sample on the bundled model', () => {
  let serve: Awaited<ReturnType<typeof startServe>>;
  const { dir, path } = questionsFile(4);
  before(async () => {
    serve = await startServe(['--threads', '1']);
  });
  after(() => serve.stop());

  test('k candidates per question; the same seed gives the same candidates, another seed others; sift serve gives the same', async () => {
    const runs = {
      a: await siftAsync(['sample', path, ...common, '--out', join(dir, 'a.jsonl')]),
      again: await siftAsync(['sample', path, ...common, '--out', join(dir, 'again.jsonl'), '--no-cache']),
      seed1: await siftAsync(['sample', path, ...common, '--seed', '1', '--out', join(dir, 'seed1.jsonl'), '--no-cache']),
      served: await siftAsync(['sample', path, ...common, '--url', serve.url, '--out', join(dir, 'served.jsonl'), '--no-cache', '--yes']),
    };
    for (const [name, r] of Object.entries(runs)) assert.equal(r.status, 0, `${name}: ${r.stderr}`);
    const a = read(join(dir, 'a.jsonl'));
    assert.equal(a.length, 12);
    assert.deepEqual(a.map((c) => [c.question_id, c.sample_index]), ['line-1', 'line-2', 'line-3', 'line-4'].flatMap((id) => [[id, 0], [id, 1], [id, 2]]));
    for (const c of a) {
      assert.deepEqual(Object.keys(c), ['question_id', 'question', 'candidate', 'answer', 'gold', 'sample_index', 'sampling', 'model', 'finish_reason']);
      assert.equal(c.sampling.seed, c.sample_index);
      assert.equal(c.sampling.prompt, `Q: ${c.question}\nA:`);
      assert.match(c.gold!, /#### \d+$/);
      assert.match(c.model, /^gguf:stories260K\.gguf:[0-9a-f]{16}$/);
    }
    assert.ok(new Set(a.slice(0, 3).map((c) => c.candidate)).size === 3, 'three different samples of one question');
    assert.equal(readFileSync(join(dir, 'again.jsonl'), 'utf8'), readFileSync(join(dir, 'a.jsonl'), 'utf8'));
    const seed1 = read(join(dir, 'seed1.jsonl'));
    assert.ok(seed1.filter((c, i) => c.candidate !== a[i]!.candidate).length >= 10, 'another seed draws other candidates');
    // Seeds are per sample: sample i of seed 1 is sample i + 1 of seed 0.
    for (let q = 0; q < 4; q++) for (let i = 0; i < 2; i++) assert.equal(seed1[q * 3 + i]!.candidate, a[q * 3 + i + 1]!.candidate);
    const served = read(join(dir, 'served.jsonl'));
    assert.deepEqual(served.map((c) => c.candidate), a.map((c) => c.candidate));
    assert.ok(served.every((c) => c.model === 'vllm:stories260K'));
  });

  test('a re-run finds every sample in the store and draws nothing', async () => {
    const first = await siftAsync(['sample', path, ...common, '--out', join(dir, 'first.jsonl')]);
    assert.equal(first.status, 0, first.stderr);
    const second = await siftAsync(['sample', path, ...common.filter((f) => f !== '-q'), '--out', join(dir, 'second.jsonl')]);
    assert.equal(second.status, 0, second.stderr);
    assert.match(second.stderr, /12 of 12 sample\(s\) are in the sample store; drawing the other 0/);
    assert.equal(readFileSync(join(dir, 'second.jsonl'), 'utf8'), readFileSync(join(dir, 'first.jsonl'), 'utf8'));
  });

  test('--chat renders the exemplars and the question with the model\'s chat template, locally and through sift serve', async () => {
    const chatServe = await startServe(['--model', bundledChatModel, '--threads', '1']);
    try {
      // One short exemplar: the tiny model's 512-token context holds it with a GSM8K question.
      const promptFile = join(dir, 'one-shot.json');
      const oneShot = { name: 'one-shot', exemplars: [{ question: 'Tom has 2 apples and gets 1 more. How many?', answer: 'He has 2 + 1 = 3. The answer is 3.' }], text: { exemplar: 'Q: {question}\nA: {answer}', separator: '\n\n', query: 'Q: {question}\nA:' } };
      writeFileSync(promptFile, JSON.stringify(oneShot));
      const args = ['sample', path, '--chat', '--prompt', promptFile, '--k', '2', '--max-tokens', '16', '-q', '--no-cache'];
      const local = await siftAsync([...args, '--model', bundledChatModel, '--threads', '1', '--out', join(dir, 'chat.jsonl')]);
      const served = await siftAsync([...args, '--url', chatServe.url, '--yes', '--out', join(dir, 'chat-served.jsonl')]);
      assert.equal(local.status, 0, local.stderr);
      assert.equal(served.status, 0, served.stderr);
      const [l, s] = [read(join(dir, 'chat.jsonl')), read(join(dir, 'chat-served.jsonl'))];
      assert.equal(l.length, 8);
      assert.deepEqual(s.map((c) => c.candidate), l.map((c) => c.candidate));
      // The recorded prompt is the template's rendering of the exemplar turns and the question, as
      // its token ids read back (special tokens as text): computed here from the template itself.
      const { getLlama } = (await import('node-llama-cpp')) as NodeLlamaCpp;
      const model = await (await getLlama({ gpu: false, build: 'never' })).loadModel({ modelPath: bundledChatModel });
      try {
        const template = (model.fileInfo.metadata as { tokenizer: { chat_template: string } }).tokenizer.chat_template;
        const renderer = await JinjaChatRenderer.create({ template, bosToken: '<s>', eosToken: '</s>' }, () => []);
        const rendered = renderer.renderText({ messages: chatMessages(checkPromptSpec(oneShot, 'test'), l[0]!.question), addGenerationPrompt: true, continueFinalMessage: false });
        assert.ok(rendered.includes('He has 2 + 1 = 3.') && rendered.includes(l[0]!.question));
        assert.equal(l[0]!.sampling.prompt, model.detokenize(model.tokenize(rendered, true), true));
        assert.equal(s[0]!.sampling.prompt, l[0]!.sampling.prompt, 'sift serve /detokenize reads the ids back as the same text');
      } finally {
        await model.dispose();
      }
    } finally {
      await chatServe.stop();
    }
  });

  test('--out may not be the questions file, and a missing prompt file is a usage error', async () => {
    const clash = await siftAsync(['sample', path, '--out', path]);
    assert.equal(clash.status, 2);
    assert.match(clash.stderr, /--out .* is the questions file .*refusing to overwrite it/);
    const noPrompt = await siftAsync(['sample', path, '--prompt', join(dir, 'missing.txt'), '--out', join(dir, 'x.jsonl')]);
    assert.equal(noPrompt.status, 2);
    assert.match(noPrompt.stderr, /neither a built-in prompt .* nor a file/);
  });
});

describe('sift sample against a vLLM server: stopped and resumed', () => {
  let fake: FakeVllm;
  before(async () => {
    // Slow answers, one request at a time: the run is still going when the test stops it.
    fake = await FakeVllm.start({ maxModelLen: 2048, latencyMs: 250 });
  });
  after(() => fake.close());

  test('SIGTERM after part of the run: exit 143, no output; the re-run asks only for what the store lacks', async () => {
    const { dir, path } = questionsFile(6);
    const args = ['sample', path, '--url', fake.url, '--prompt', 'qa-0shot', '--k', '2', '--max-tokens', '200', '--batch', '1', '--concurrency', '1', '--yes', '--out', join(dir, 'out.jsonl')];
    fake.requests.length = 0;
    const child = spawn(process.execPath, [cliPath, ...args], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    assert.match(await waitFor('the cost estimate', () => /sift sample: 12 sample\(s\) to draw for 6 of 6 question\(s\) \(k = 2\) from vllm:toy-model/.exec(stderr)?.[0]), /12 sample/);
    await waitFor('two answered requests', () => fake.requestsTo('/v1/completions').length >= 3, { gone: () => (child.exitCode !== null ? `sift exited with ${child.exitCode}: ${stderr}` : undefined) });
    child.kill('SIGTERM');
    assert.equal(await exited, 143, stderr);
    assert.match(stderr, /interrupted: nothing was written; the samples drawn so far are kept in .*samples\.jsonl/);
    assert.equal(existsSync(join(dir, 'out.jsonl')), false);
    const stored = readFileSync(join(dir, '.sift', 'samples.jsonl'), 'utf8').trim().split('\n').length;
    assert.ok(stored >= 4 && stored < 12 && stored % 2 === 0, `${stored} samples stored (two per answered question)`);

    fake.requests.length = 0;
    const resumed = await siftAsync(args);
    assert.equal(resumed.status, 0, resumed.stderr);
    assert.match(resumed.stderr, new RegExp(`${12 - stored} sample\\(s\\) to draw for ${6 - stored / 2} of 6 question\\(s\\) \\(k = 2\\) from .*; ${stored} more are in the sample store`));
    assert.equal(fake.requestsTo('/v1/completions').length, 6 - stored / 2, 'one request per question still missing');
    const out = read(join(dir, 'out.jsonl'));
    assert.equal(out.length, 12);
    for (const c of out) {
      const want = toySample(toyTokenize(`Q: ${c.question}\nA:`, true), c.sample_index, { temperature: 1.1, topP: 1, maxTokens: 200, stop: ['\nQ:'] });
      assert.equal(c.candidate, want.text);
      assert.equal(c.answer, /The answer is (\d+)\./.exec(want.text)![1]);
    }
  });
});
