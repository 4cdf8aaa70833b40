/**
 * "Sample candidates for this question" through the real server on the bundled model: offered on a
 * question record, it writes the same CANDIDATES lines as `sift sample --lines N` with the same
 * settings and seed, beside the dataset and never over it, opens the file, shows progress, and a
 * repeat adds nothing (the samples come back from the sample store).
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, test } from 'node:test';
import type { CodeAction, Command } from 'vscode-languageserver-protocol';
import { Commands, type SampleQuestionResult } from '../../src/protocol';
import { siftAsync, startServe } from '../helpers/cli';
import { examplesDir, tempDir } from '../helpers/paths';
import { TestClient } from './lspClient';

const dir = tempDir('sift-server-sample-');
const SETTINGS = { sampleK: 3, sampleTemperature: 1.1, sampleSeed: 5, sampleMaxTokens: 24, samplePrompt: 'qa-0shot' };
let client: TestClient;

before(async () => {
  client = await TestClient.start({ settings: { template: 'plain', autoScoreOnOpen: false, threads: 1, ...SETTINGS }, rootDir: dir });
});

after(async () => {
  await client.stop();
});

const titles = (actions: (Command | CodeAction)[] | null): string[] => (actions ?? []).map((a) => a.title);

test('a question record offers sampling; the candidates equal what sift sample writes for that line, seed and settings', async () => {
  const questions = readFileSync(join(examplesDir, 'gsm8k-sample.jsonl'), 'utf8').trim().split('\n').slice(0, 3);
  const dataset = join(dir, 'questions.jsonl');
  const text = questions.join('\n') + '\n';
  writeFileSync(dataset, text);
  const uri = await client.open(dataset, text);
  const onLine = (line: number) => client.codeActions(uri, { start: { line, character: 0 }, end: { line, character: 0 } });
  const action = (await onLine(1))!.find((a) => a.title === 'Sample candidates for this question') as CodeAction | undefined;
  assert.ok(action, `offered on a question record: ${titles(await onLine(1)).join(', ')}`);
  assert.deepEqual(action.command!.arguments, [uri, 1]);

  const result = await client.execute<SampleQuestionResult>(Commands.sampleQuestion, action.command!.arguments!);
  const out = join(dir, 'questions.candidates.jsonl');
  assert.equal(result.path, out);
  assert.deepEqual({ added: result.added, candidates: result.candidates, drawn: result.drawn, stored: result.stored }, { added: 3, candidates: 3, drawn: 3, stored: 0 });
  assert.equal(readFileSync(dataset, 'utf8'), text, 'the dataset is untouched');
  await client.waitFor('the candidates file opened', () => (client.shownDocuments.includes(pathToFileURL(out).href) ? true : undefined));
  assert.ok(client.progress.some((p) => p.value.kind === 'report' && /\d+ \/ 3 samples/.test(p.value.message ?? '')), 'progress counts the samples');

  // The CLI on the same line, seed and settings, without the sample store: drawn again, the same lines.
  const cliOut = join(dir, 'cli.jsonl');
  const cli = await siftAsync(['sample', dataset, '--lines', '2', '--k', '3', '--temperature', '1.1', '--seed', '5', '--max-tokens', '24', '--prompt', 'qa-0shot', '--threads', '1', '--no-cache', '-q', '--out', cliOut]);
  assert.equal(cli.status, 0, cli.stderr);
  const written = readFileSync(out, 'utf8');
  assert.equal(written, readFileSync(cliOut, 'utf8'));
  const lines = written.trim().split('\n').map((l) => JSON.parse(l) as { question_id: string; sample_index: number; sampling: { seed: number } });
  assert.deepEqual(lines.map((l) => [l.question_id, l.sample_index, l.sampling.seed]), [['line-2', 0, 5], ['line-2', 1, 6], ['line-2', 2, 7]]);

  // Again: nothing new is drawn (the sample store beside the dataset has them) or added.
  const again = await client.execute<SampleQuestionResult>(Commands.sampleQuestion, [uri, 1]);
  assert.deepEqual({ added: again.added, drawn: again.drawn, stored: again.stored }, { added: 0, drawn: 0, stored: 3 });
  assert.equal(readFileSync(out, 'utf8'), written);
  // Another question is appended after the first one's lines.
  const third = await client.execute<SampleQuestionResult>(Commands.sampleQuestion, [uri, 2]);
  assert.equal(third.added, 3);
  const after = readFileSync(out, 'utf8');
  assert.ok(after.startsWith(written));
  assert.deepEqual(after.trim().split('\n').slice(3).map((l) => (JSON.parse(l) as { question_id: string }).question_id), ['line-3', 'line-3', 'line-3']);
  await client.close(uri);

  // The candidates file itself offers no sampling: its records are candidates, not questions.
  const candUri = await client.open(out, after);
  const onCandidate = await client.codeActions(candUri, { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } });
  assert.ok(!titles(onCandidate).includes('Sample candidates for this question'), titles(onCandidate).join(', '));
  await client.close(candUri);
});

test('a record without a question is not offered sampling, and the command says why it refuses', async () => {
  const dataset = join(dir, 'alpaca.jsonl');
  const text = JSON.stringify({ instruction: 'Add 2 and 3.', output: '5' }) + '\n';
  writeFileSync(dataset, text);
  const uri = await client.open(dataset, text);
  const actions = await client.codeActions(uri, { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } });
  assert.ok(!titles(actions).includes('Sample candidates for this question'));
  await assert.rejects(client.execute(Commands.sampleQuestion, [uri, 0]), /alpaca\.jsonl:1: no "question" field/);
  await client.close(uri);
});

test('through an endpoint (sift serve, the vLLM client): the progress says what the run generates at most before it runs, and the candidates equal the local ones', async () => {
  const serve = await startServe(['--threads', '1']);
  const own = tempDir('sift-server-sample-remote-');
  const remote = await TestClient.start({ settings: { template: 'plain', autoScoreOnOpen: false, backend: 'vllm', endpointUrls: [serve.url], ...SETTINGS }, rootDir: own });
  try {
    const questions = readFileSync(join(examplesDir, 'gsm8k-sample.jsonl'), 'utf8').trim().split('\n').slice(0, 3);
    const dataset = join(own, 'questions.jsonl');
    const text = questions.join('\n') + '\n';
    writeFileSync(dataset, text);
    const uri = await remote.open(dataset, text);
    const result = await remote.execute<SampleQuestionResult>(Commands.sampleQuestion, [uri, 1]);
    assert.equal(result.drawn, 3);
    // By hand: k = 3 samples × max tokens 24 = at most 72 generated tokens.
    const reports = remote.progress.flatMap((p) => (p.value.kind === 'report' && p.value.message ? [p.value.message] : []));
    assert.equal(reports[reports.findIndex((m) => /samples/.test(m))], '0 / 3 samples (0 of at most 72 tokens)', `the first count says the limit: ${JSON.stringify(reports)}`);
    assert.ok(reports.some((m) => /^3 \/ 3 samples \(\d+ of at most 72 tokens\)$/.test(m)), JSON.stringify(reports));
    assert.ok(
      remote.logs.some((l) => /^sampling line 2: 3 sample\(s\) to draw for 1 of 1 question\(s\) \(k = 3\) from vllm:stories260K at .*; at most 72 generated tokens \(3 × max tokens 24\)/.test(l)),
      remote.logs.join('\n'),
    );
    // The served engine is the bundled model: the same candidates as the local test above wrote.
    const served = readFileSync(result.path, 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { candidate: string }).candidate);
    const local = readFileSync(join(dir, 'questions.candidates.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { question_id: string; candidate: string });
    assert.deepEqual(served, local.filter((c) => c.question_id === 'line-2').map((c) => c.candidate));
    await remote.close(uri);
  } finally {
    await remote.stop();
    await serve.stop();
  }
});
