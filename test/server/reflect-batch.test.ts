/**
 * Reflection through teacher batches in the real language server (what the editor's "Reflect N
 * records (batch: …)" runs): the estimate's cost in money, a batch run whose results are the
 * synchronous run's, a run stopped while waiting that the editor's start-up pick-up continues with
 * the same batch, and the list of pending batches the client reads. The real student (bundled
 * TinyStories), the scripted teacher's Batch API over HTTP.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, test } from 'node:test';
import { CancellationTokenSource, ExecuteCommandRequest, WorkDoneProgress } from 'vscode-languageserver-protocol/node';
import {
  Commands,
  DEFAULT_REFLECTION_SETTINGS,
  DEFAULT_SETTINGS,
  SettingsChangedNotification,
  type PendingTeacherBatch,
  type ReflectionBatchResult,
  type ReflectionEstimate,
  type SettingsChangedParams,
} from '../../src/protocol';
import type { ReflectionView } from '../../src/protocol/reflectionView';
import { FakeTeacher, reflectionReply, type TeacherRequest } from '../helpers/fake-teacher';
import { examplesDir, tempDir } from '../helpers/paths';
import { TestClient } from './lspClient';

const KEY = 'sk-server-batch-secret-6060';
const stories = readFileSync(join(examplesDir, 'tinystories-instructions.jsonl'), 'utf8').trim().split('\n');
const parsed = stories.map((l) => JSON.parse(l) as { instruction: string; output: string });
const settings = { ...DEFAULT_SETTINGS, template: 'plain' as const, metrics: ['ifd' as const, 'rifd' as const], threads: 1 };
const dir = tempDir('sift-server-batch-');
const prices = join(dir, 'prices.json');

function scripted(request: TeacherRequest): ReturnType<typeof reflectionReply> {
  const i = parsed.findIndex((s) => s.instruction === request.shown.instruction);
  return reflectionReply(request, { critique: 'Off topic.', response: parsed[Math.max(0, i) % 12].output });
}

let client: TestClient;
let teacher: FakeTeacher;
before(async () => {
  teacher = await FakeTeacher.start(scripted, { apiKey: KEY });
  writeFileSync(prices, JSON.stringify({ asOf: '2030-01', models: { 'teacher-model': { input: 2, output: 4 } } }));
  client = await TestClient.start({ settings: { template: 'plain', metrics: ['ifd', 'rifd'], threads: 1 }, rootDir: dir });
  const params: SettingsChangedParams = { settings, reflection: { ...DEFAULT_REFLECTION_SETTINGS, baseUrl: teacher.url, model: 'teacher-model', priceFile: prices }, teacherApiKey: KEY };
  await client.connection.sendNotification(SettingsChangedNotification, params);
});
after(async () => {
  await client.stop();
  await teacher.close();
});

function datasetFile(name: string, lines: string[]): string {
  const sub = join(dir, name);
  mkdirSync(sub, { recursive: true });
  const path = join(sub, 'stories.jsonl');
  writeFileSync(path, lines.join('\n') + '\n');
  return path;
}

/**
 * What a result says about the records, without where it was computed (URI, version). Losses to 6
 * significant digits: the local engine's sums differ in the last bits with how its batches were
 * made up, and the two runs interleave their records differently.
 */
function decisions(views: ReflectionView[]): unknown {
  const rounded = (value: unknown): unknown => {
    if (typeof value === 'number') return Number(value.toPrecision(6));
    if (Array.isArray(value)) return value.map(rounded);
    if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, rounded(v)]));
    return value;
  };
  return rounded(views.map((v) => ({ line: v.line, kept: v.kept, changed: v.changed, reason: v.reason, decisions: v.decisions, candidates: v.candidates, usage: v.usage, error: v.error })));
}

test('the estimate says what the run costs now and as a batch, from the price file; the batch run gives the synchronous results through one batch and no call', async () => {
  const lines = stories.slice(12, 16);
  const syncUri = await client.open(datasetFile('sync', lines), lines.join('\n') + '\n');
  const sync = await client.execute<ReflectionBatchResult>(Commands.reflectBatch, [syncUri, { all: true, mode: 'response' }]);
  assert.equal(sync.results.length, 4);

  const path = datasetFile('batch', lines);
  const uri = await client.open(path, lines.join('\n') + '\n');
  const estimate = await client.execute<ReflectionEstimate>(Commands.estimateReflection, [uri, { all: true, mode: 'response' }]);
  assert.equal(estimate.calls, 4);
  assert.equal(estimate.pendingBatches, 0);
  const expected = (estimate.promptTokens * 2 + estimate.completionTokens * 4) / 1e6;
  assert.ok(estimate.cost, estimate.costNote);
  assert.ok(Math.abs(estimate.cost.sync - expected) < 1e-12);
  assert.ok(Math.abs(estimate.cost.batch - expected / 2) < 1e-12);
  assert.deepEqual([estimate.cost.priced, estimate.cost.asOf, estimate.cost.source, estimate.cost.input, estimate.cost.output], ['teacher-model', '2030-01', prices, 2, 4]);

  const creations = teacher.batches.creations;
  const chats = teacher.requests.filter((r) => r.via === 'chat').length;
  teacher.batches.plan = { instant: true };
  let result: ReflectionBatchResult;
  try {
    result = await client.execute<ReflectionBatchResult>(Commands.reflectBatch, [uri, { lines: estimate.lines, mode: 'response', batch: true }]);
  } finally {
    teacher.batches.plan = {};
  }
  assert.equal(teacher.batches.creations - creations, 1);
  assert.equal(teacher.requests.filter((r) => r.via === 'chat').length, chats, 'no synchronous call');
  assert.equal(result.cancelled, false);
  assert.deepEqual(result.batch, { batchIds: [[...teacher.batches.batches.keys()].at(-1)], submittedRequests: 4, pending: false });
  assert.deepEqual(decisions(result.results), decisions(sync.results), 'the student decided exactly as in the synchronous run');
  assert.deepEqual(result.summary, sync.summary);
  for (const view of result.results) assert.equal(view.originalText, lines[view.line]);
  assert.ok(!client.logs.join('\n').includes(KEY), 'the key is never logged');
  await client.close(uri);
  await client.close(syncUri);
});

test('stopping a batch run while it waits leaves the batch pending (listed for the pick-up at start); running it again picks up the same batch', async () => {
  const lines = stories.slice(2, 5);
  const path = datasetFile('pending', lines);
  const uri = await client.open(path, lines.join('\n') + '\n');
  const creations = teacher.batches.creations;
  teacher.batches.plan = { hold: true };
  const source = new CancellationTokenSource();
  const reports: string[] = [];
  const subscription = client.connection.onProgress(WorkDoneProgress.type, 'teacher-batch-1', (p) => {
    if (p.kind !== 'end' && p.message) reports.push(p.message);
  });
  const pending = client.connection.sendRequest(
    ExecuteCommandRequest.type,
    { command: Commands.reflectBatch, arguments: [uri, { lines: [0, 1, 2], mode: 'response', batch: true }], workDoneToken: 'teacher-batch-1' },
    source.token,
  ) as Promise<ReflectionBatchResult>;
  try {
    await client.waitFor('the batch in progress', () => reports.some((r) => /teacher batch batch_\d+: in progress: 0 \/ 3 done/.test(r)), 60_000);
    source.cancel();
    const stopped = await pending;
    assert.equal(stopped.cancelled, true);
    assert.equal(stopped.batch?.pending, true);
    assert.deepEqual(stopped.results, []);
  } finally {
    subscription.dispose();
    teacher.batches.plan = {};
  }
  assert.ok(reports.some((r) => /teacher batch batch_\d+ submitted: 3 request\(s\); results within 24 h/.test(r)), reports.join(' | '));
  const batchId = [...teacher.batches.batches.keys()].at(-1)!;

  const jobsFile = pathToFileURL(join(dir, 'pending', '.sift', 'teacher-batches.json')).href;
  const runs = await client.execute<PendingTeacherBatch[]>(Commands.teacherBatches, [jobsFile]);
  assert.equal(runs.length, 1);
  assert.deepEqual({ ...runs[0], submittedAt: 0 }, {
    uri: pathToFileURL(path).href,
    mode: 'response',
    lines: [0, 1, 2],
    batchIds: [batchId],
    teacher: { endpoint: teacher.url, model: 'teacher-model' },
    current: true,
    status: 'in_progress',
    counts: { total: 3, completed: 0, failed: 0 },
    submittedAt: 0,
  });
  const estimate = await client.execute<ReflectionEstimate>(Commands.estimateReflection, [uri, { lines: [0, 1, 2], mode: 'response' }]);
  assert.equal(estimate.pendingBatches, 1);

  teacher.batches.release({ instant: true });
  const resumed = await client.execute<ReflectionBatchResult>(Commands.reflectBatch, [uri, { lines: runs[0].lines, mode: runs[0].mode, batch: true }]);
  assert.equal(teacher.batches.creations - creations, 1, 'the same batch, not a new one');
  assert.deepEqual(resumed.batch?.batchIds, [batchId]);
  assert.deepEqual(resumed.results.map((r) => r.line), [0, 1, 2]);
  assert.deepEqual(await client.execute<PendingTeacherBatch[]>(Commands.teacherBatches, [jobsFile]), [], 'nothing left to pick up');
  const wrongFile = await client.execute(Commands.teacherBatches, [pathToFileURL(path).href]).then(
    () => 'no error',
    (error: Error) => error.message,
  );
  assert.match(wrongFile, /not a teacher batch file/);
  await client.close(uri);
});
