/**
 * Teacher reflection through the real language server: the real student (the bundled TinyStories
 * model) scores every candidate, and a scripted OpenAI-compatible teacher answers over real HTTP
 * (the real `openai` client on the server's side). Covers one record (decision = what the scores
 * say, the record line in its own format, progress), the estimate and a batch (cancel, resume from
 * the reflection cache), the "N lowest IFD" selection, code actions, a changed document, and that
 * the teacher's key reaches the teacher and nothing else.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { CancellationTokenSource, ExecuteCommandRequest, ResponseError, WorkDoneProgress, type CodeAction, type WorkDoneProgressBegin } from 'vscode-languageserver-protocol/node';
import {
  Commands,
  DEFAULT_REFLECTION_SETTINGS,
  DEFAULT_SETTINGS,
  NO_TEACHER,
  SettingsChangedNotification,
  type ReflectionBatchResult,
  type ReflectionEstimate,
  type ReflectionSettings,
  type SettingsChangedParams,
} from '../../src/protocol';
import type { CandidateView, ReflectionView } from '../../src/protocol/reflectionView';
import { FakeTeacher, reflectionReply, type TeacherRequest } from '../helpers/fake-teacher';
import { cliPath, examplesDir, tempDir } from '../helpers/paths';
import { TestClient } from './lspClient';
import { storeRows } from '../helpers/store';

const run = promisify(execFile);
const KEY = 'sk-test-teacher-9f8e7d6c5b4a';
const stories = readFileSync(join(examplesDir, 'tinystories-instructions.jsonl'), 'utf8').trim().split('\n');
const settings = { ...DEFAULT_SETTINGS, template: 'plain' as const, metrics: ['ifd' as const, 'rifd' as const], threads: 1 };

let client: TestClient;
let teacher: FakeTeacher;
const dir = tempDir('sift-server-reflect-');

/** The teacher's rewrites: TinyStories-like text, so the student's scores mean something. */
function rewrite(request: TeacherRequest) {
  const instruction = request.shown.instruction ?? '';
  const response = request.shown.response ?? '';
  if (request.kind === 'instruction') {
    return reflectionReply(request, {
      critique: 'The instruction is simple; the story could have more detail.',
      instruction: `${instruction} Tell what happens at the end.`,
      response: `${response} At the end, everyone went home and had a nap.`,
    });
  }
  return reflectionReply(request, {
    critique: 'The answer is fine but short.',
    response: `${response} The next day, they played again and had fun.`,
  });
}

function configure(reflection: Partial<ReflectionSettings>, teacherApiKey?: string): Promise<void> {
  const params: SettingsChangedParams = { settings, reflection: { ...DEFAULT_REFLECTION_SETTINGS, ...reflection }, teacherApiKey };
  return client.connection.sendNotification(SettingsChangedNotification, params);
}

function datasetFile(name: string, lines: string[], eol = '\n'): string {
  const sub = join(dir, name);
  mkdirSync(sub, { recursive: true });
  const path = join(sub, 'stories.jsonl');
  writeFileSync(path, lines.join(eol) + eol);
  return path;
}

/** IFD and r-IFD of one pair by `sift score`, in a folder of its own (nothing cached). */
async function cliScores(record: object): Promise<{ ifd: number; rifd: number }> {
  const own = tempDir('sift-reflect-cli-');
  const path = join(own, 'one.jsonl');
  writeFileSync(path, JSON.stringify(record) + '\n');
  await run(process.execPath, [cliPath, 'score', path, '--out', join(own, 'out.jsonl'), '--template', 'plain', '--quiet', '--threads', '1']);
  return JSON.parse(readFileSync(join(own, 'out.jsonl'), 'utf8')) as { ifd: number; rifd: number };
}

async function errorOf(promise: Promise<unknown>): Promise<ResponseError<{ reason?: string } | undefined>> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof ResponseError, `a ResponseError, got ${String(error)}`);
    return error as ResponseError<{ reason?: string } | undefined>;
  }
  assert.fail('expected the request to fail');
}

function value(c: CandidateView | undefined, metric: 'ifd' | 'rifd'): number {
  const v = c?.scores?.[metric].value;
  assert.equal(typeof v, 'number', `${c?.id} has a ${metric}`);
  return v as number;
}

before(async () => {
  teacher = await FakeTeacher.start(rewrite, { apiKey: KEY });
  client = await TestClient.start({ settings: { template: 'plain', metrics: ['ifd', 'rifd'], threads: 1 }, rootDir: dir });
});

after(async () => {
  await client.stop();
  await teacher.close();
});

test('without a teacher the actions are still offered, and the command says what to set', async () => {
  const path = datasetFile('none', stories.slice(0, 2));
  const uri = await client.open(path, readFileSync(path, 'utf8'));
  const actions = (await client.codeActions(uri, { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } })) as CodeAction[];
  const reflect = actions.filter((a) => a.command?.command === Commands.reflect);
  assert.deepEqual(reflect.map((a) => [a.title, a.kind, a.command?.arguments?.[2]]), [
    ['Reflect instruction', 'refactor.rewrite', 'instruction'],
    ['Reflect response', 'refactor.rewrite', 'response'],
    ['Selective reflection', 'refactor.rewrite', 'selective'],
  ]);
  assert.deepEqual(reflect[0].command?.arguments?.slice(0, 2), [uri, 0]);
  const error = await errorOf(client.execute(Commands.reflect, [uri, 0, 'selective']));
  assert.equal(error.data?.reason, NO_TEACHER);
  assert.match(error.message, /set sift\.teacher\.baseUrl and sift\.teacher\.model/);
  assert.equal(teacher.requests.length, 0, 'the teacher is never called to offer an action');
  await client.close(uri);
});

test('one record, selective: every candidate scored by the student, the decision is what the scores say', async () => {
  await configure({ baseUrl: teacher.url, model: 'teacher-model' }, KEY);
  const lines = stories.slice(0, 3);
  const path = datasetFile('one', lines);
  const uri = await client.open(path, readFileSync(path, 'utf8'));
  const tokensBefore = client.progressTokens.length;
  const view = await client.execute<ReflectionView>(Commands.reflect, [uri, 1, 'selective', client.version(uri)]);

  assert.equal(view.uri, uri);
  assert.equal(view.line, 1);
  assert.equal(view.version, client.version(uri));
  assert.equal(view.originalText, lines[1]);
  assert.equal(view.format, 'alpaca');
  assert.deepEqual(view.candidates.map((c) => c.id), ['original', 'instruction-reflected', 'response-reflected']);
  assert.deepEqual(teacher.requests.map((r) => r.kind), ['instruction', 'response']);
  assert.ok(teacher.requests.every((r) => r.headers.authorization === `Bearer ${KEY}`), 'the key reaches the teacher as a Bearer token');
  assert.equal(teacher.requests[0].body.model, 'teacher-model');

  // Stage 1: the higher IFD wins; stage 2 compares the pair stage 1 kept with its response rewrite.
  const [original, reflected, responded] = view.candidates;
  const [stage1, stage2] = view.decisions;
  const expected1 = value(reflected, 'ifd') > value(original, 'ifd') ? 'instruction-reflected' : 'original';
  assert.equal(stage1.chosen, expected1, stage1.reason);
  const incumbent = expected1 === 'original' ? original : reflected;
  assert.equal(stage2.between[0], incumbent.id);
  const expected2 = value(responded, 'rifd') < value(incumbent, 'rifd') ? 'response-reflected' : incumbent.id;
  assert.equal(stage2.chosen, expected2, stage2.reason);
  assert.equal(view.kept, expected2);
  assert.equal(view.changed, expected2 !== 'original');

  // The scores are the student's: the same numbers `sift score` gives for those pairs.
  const source = JSON.parse(lines[1]) as Record<string, string>;
  const independent = await cliScores({ ...source, instruction: reflected.instruction, input: reflected.input, output: reflected.response });
  assert.equal(value(reflected, 'ifd').toFixed(6), independent.ifd.toFixed(6));
  assert.equal(value(reflected, 'rifd').toFixed(6), independent.rifd.toFixed(6));
  assert.ok(reflected.losses.yGivenX && reflected.losses.yGivenX.n > 0, 'the losses come along');

  // Each rewrite is written back in the record's own format, other fields kept.
  const written = JSON.parse(reflected.line!) as Record<string, string>;
  assert.deepEqual(Object.keys(written), Object.keys(source), 'same keys, same order');
  assert.equal(written.note, source.note);
  assert.equal(written.instruction, reflected.instruction);
  assert.equal(written.output, reflected.response);
  assert.equal(JSON.parse(reflected.instructionOnlyLine!).output, source.output, 'instruction only keeps the original response');
  assert.equal(JSON.parse(reflected.responseOnlyLine!).instruction, source.instruction, 'response only keeps the original instruction');
  assert.equal(reflected.critique, 'The instruction is simple; the story could have more detail.');
  assert.equal(view.teacher.model, 'teacher-model');
  assert.equal(view.usage.calls, 2);

  // Progress: a server-created, cancellable indicator for a client that sent no token of its own.
  const token = client.progressTokens[tokensBefore];
  const begin = client.progress.find((p) => p.token === token && p.value.kind === 'begin')?.value as WorkDoneProgressBegin | undefined;
  assert.equal(begin?.title, 'Sift: reflecting line 2 (selective)');
  assert.equal(begin?.cancellable, true);
  assert.ok(client.progress.some((p) => p.token === token && p.value.kind === 'report' && /teacher rewrites the instruction/.test(p.value.message ?? '')));
  await client.waitFor('progress end', () => client.progress.some((p) => p.token === token && p.value.kind === 'end'));

  // A hover offers it too.
  const hover = await client.hover(uri, 1);
  assert.match(JSON.stringify(hover), /\[Reflect\]\(command:sift\.reflect\?/);
  await client.close(uri);
});

test('a document that changed since the action was offered is refused; a line that is not a record says why', async () => {
  const path = datasetFile('changed', [stories[0], '{"instruction": "no output"}', stories[1]]);
  const uri = await client.open(path, readFileSync(path, 'utf8'));
  const version = client.version(uri);
  await client.replaceLine(uri, 2, stories[2]);
  const stale = await errorOf(client.execute(Commands.reflect, [uri, 2, 'response', version]));
  assert.match(stale.message, /the document changed since this action was offered/);
  const invalid = await errorOf(client.execute(Commands.reflect, [uri, 1, 'response']));
  assert.match(invalid.message, /line 2 cannot be reflected/);
  const mode = await errorOf(client.execute(Commands.reflect, [uri, 0, 'everything']));
  assert.match(mode.message, /mode must be one of instruction, response, selective/);
  await client.close(uri);
});

test('estimate, then a batch cancelled half-way, then the same batch resumed from the reflection cache', async () => {
  await configure({ baseUrl: teacher.url, model: 'teacher-model', maxConcurrency: 1 }, KEY);
  const lines = [...stories.slice(3, 8), 'not json'];
  const path = datasetFile('batch', lines, '\r\n');
  const uri = await client.open(path, readFileSync(path, 'utf8'));

  const estimate = await client.execute<ReflectionEstimate>(Commands.estimateReflection, [uri, { all: true, mode: 'response' }]);
  assert.deepEqual(estimate.lines, [0, 1, 2, 3, 4]);
  assert.equal(estimate.skipped, 1, 'the invalid line is left out');
  assert.equal(estimate.calls, 5);
  assert.equal(estimate.cachedCalls, 0);
  assert.ok(estimate.estimatedTokens > 0 && estimate.estimatedTokens === estimate.promptTokens + estimate.completionTokens);
  assert.equal(estimate.teacher.model, 'teacher-model');

  // The teacher takes its time; the batch is cancelled as the second record's call is on the wire.
  teacher.setHandler(async (request) => {
    await new Promise((resolve) => setTimeout(resolve, 400));
    return rewrite(request);
  });
  const before = teacher.requests.length;
  const source = new CancellationTokenSource();
  const reports: string[] = [];
  const subscription = client.connection.onProgress(WorkDoneProgress.type, 'batch-1', (p) => {
    if (p.kind !== 'end' && p.message) reports.push(p.message);
  });
  const pending = client.connection.sendRequest(
    ExecuteCommandRequest.type,
    { command: Commands.reflectBatch, arguments: [uri, { lines: estimate.lines, mode: 'response' }], workDoneToken: 'batch-1' },
    source.token,
  ) as Promise<ReflectionBatchResult>;
  await client.waitFor('the second teacher call', () => teacher.requests.length >= before + 2);
  source.cancel();
  const cancelled = await pending;
  subscription.dispose();
  assert.equal(cancelled.cancelled, true);
  assert.ok(cancelled.results.length >= 1 && cancelled.results.length < 5, `finished before the cancel: ${cancelled.results.length}`);
  assert.ok(reports.includes('0 / 5 records') && reports.includes('1 / 5 records'), `progress on the client's own token: ${reports.join(' | ')}`);
  const finished = cancelled.results.map((r) => r.line);

  // Resume: the finished reflections come from the cache; only the rest calls the teacher.
  const again = await client.execute<ReflectionEstimate>(Commands.estimateReflection, [uri, { lines: estimate.lines, mode: 'response' }]);
  assert.equal(again.cachedCalls, finished.length);
  assert.equal(again.calls, 5 - finished.length);
  const callsBefore = teacher.requests.length;
  const resumed = await client.execute<ReflectionBatchResult>(Commands.reflectBatch, [uri, { lines: estimate.lines, mode: 'response' }]);
  assert.equal(resumed.cancelled, false);
  assert.deepEqual(resumed.results.map((r) => r.line), [0, 1, 2, 3, 4]);
  assert.equal(teacher.requests.length - callsBefore, 5 - finished.length, 'no call for a finished reflection');
  assert.equal(resumed.summary.cachedReflections, finished.length);
  for (const r of resumed.results) {
    assert.equal(r.originalText, lines[r.line], 'each result carries the text it was computed from');
    const [original, candidate] = r.candidates;
    const expected = value(candidate, 'rifd') < value(original, 'rifd') ? 'response-reflected' : 'original';
    assert.equal(r.kept, expected, `line ${r.line + 1}: ${r.reason}`);
  }
  assert.ok(storeRows(join(dir, 'batch', '.sift', 'sift.db'), 'reflections') > 0, 'the cache lives beside the dataset');
  teacher.setHandler(rewrite);
  await client.close(uri);
});

test('the N records with the lowest IFD are the ones the student scores lowest', async () => {
  const lines = stories.slice(8, 14);
  const path = datasetFile('lowest', lines);
  const uri = await client.open(path, readFileSync(path, 'utf8'));
  const estimate = await client.execute<ReflectionEstimate>(Commands.estimateReflection, [uri, { lowest: 2, mode: 'instruction' }]);
  const out = join(dir, 'lowest', 'scored.jsonl');
  await run(process.execPath, [cliPath, 'score', path, '--out', out, '--template', 'plain', '--quiet', '--threads', '1']);
  const ifd = readFileSync(out, 'utf8').trim().split('\n').map((l, i) => ({ line: i, ifd: (JSON.parse(l) as { ifd: number }).ifd }));
  const expected = ifd.sort((a, b) => a.ifd - b.ifd || a.line - b.line).slice(0, 2).map((x) => x.line).sort((a, b) => a - b);
  assert.deepEqual(estimate.lines, expected);
  assert.equal(estimate.calls, 2);
  const bad = await errorOf(client.execute(Commands.estimateReflection, [uri, { lowest: 0, mode: 'instruction' }]));
  assert.match(bad.message, /lowest must be a positive integer/);
  await client.close(uri);
});

test('an editor without the diff view gets the kept record written back as an ordinary edit', async () => {
  const lines = stories.slice(14, 16);
  const path = datasetFile('apply', lines);
  const uri = await client.open(path, readFileSync(path, 'utf8'));
  const actions = (await client.codeActions(uri, { start: { line: 1, character: 0 }, end: { line: 1, character: 0 } })) as CodeAction[];
  const action = actions.find((a) => a.title === 'Reflect response')!;
  assert.deepEqual(action.command?.arguments?.[4], { apply: true }, 'this client did not say it has a diff view');
  const messages = client.messages.length;
  const view = await client.execute<ReflectionView>(action.command!.command, action.command!.arguments!);
  await client.waitFor('the outcome message', () => client.messages.length > messages);
  const kept = view.candidates.find((c) => c.id === view.kept)!;
  if (view.changed) {
    await client.waitFor('the edit', () => client.text(uri).split('\n')[1] === kept.line);
    assert.equal(client.text(uri), `${lines[0]}\n${kept.line}\n`, 'exactly that line changed');
  } else {
    assert.equal(client.text(uri), `${lines[0]}\n${lines[1]}\n`);
  }
  assert.match(client.messages[messages], /^Sift: line 2: kept the/);
  await client.close(uri);
});

test('a wrong key: the teacher refuses, the error says so without the key; no key ever reaches the logs', async () => {
  const wrong = 'sk-wrong-key-0a1b2c3d4e5f';
  await configure({ baseUrl: teacher.url, model: 'teacher-model' }, wrong);
  const path = datasetFile('wrong', stories.slice(16, 17));
  const uri = await client.open(path, readFileSync(path, 'utf8'));
  const error = await errorOf(client.execute(Commands.reflect, [uri, 0, 'response']));
  assert.match(error.message, /401/);
  assert.ok(!error.message.includes(wrong));
  await client.close(uri);
  const everything = [client.logs.join('\n'), client.messages.join('\n'), client.stderr].join('\n');
  assert.ok(everything.includes('reflection settings changed: teacher teacher-model at'), 'the teacher is described in the log');
  for (const key of [KEY, wrong]) assert.ok(!everything.includes(key), 'the key is never logged');
});
