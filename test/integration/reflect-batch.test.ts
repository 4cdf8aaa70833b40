/**
 * Reflection through the Batch API in one process: the real `openai` client against the scripted
 * teacher's `/v1/files` and `/v1/batches` over HTTP, the real bundled student deciding. Every batch
 * run is compared with a synchronous run of the same records against the same scripted answers:
 * the output files byte for byte and every record's report, so "the student's selection runs as
 * today" is checked, not assumed.
 */
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { TeacherBatchApi } from '../../src/core/reflect/batch/api';
import { FileTeacherBatchJobs } from '../../src/core/reflect/batch/jobs';
import type { BatchRetry, TeacherBatchEvent, TeacherBatchOutcome } from '../../src/core/reflect/batch/run';
import { ReflectionCache } from '../../src/core/reflect/cache';
import { ReflectionSession } from '../../src/core/reflect/reflection';
import { FileReflection, type LineFailure } from '../../src/core/reflect/reflectFile';
import { TeacherClient } from '../../src/core/reflect/teacher';
import type { ReflectionMode } from '../../src/core/reflect/types';
import { LocalScorer } from '../../src/core/scoring/local';
import { ScoreStore } from '../../src/core/store';
import type { BatchPlan } from '../helpers/fake-teacher-batches';
import { FakeTeacher, reflectionReply, type TeacherRequest } from '../helpers/fake-teacher';
import { bundledModel, examplesDir, tempDir } from '../helpers/paths';

const KEY = 'sk-batch-secret-4242-never-print';
const storiesPath = join(examplesDir, 'tinystories-instructions.jsonl');
const stories = readFileSync(storiesPath, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { instruction: string; output: string });

/** Each instruction gets its own story back (the matched stories win somewhere), or a next story as a new instruction. */
function scripted(request: TeacherRequest): ReturnType<typeof reflectionReply> {
  const i = stories.findIndex((s) => s.instruction === request.shown.instruction);
  if (i < 0) return reflectionReply(request, { critique: 'Generic.', response: stories[1].output, instruction: stories[1].instruction });
  if (request.kind === 'instruction') return reflectionReply(request, { critique: 'Plain.', instruction: stories[(i + 1) % 12].instruction, response: stories[(i + 1) % 12].output });
  return reflectionReply(request, { critique: 'Off topic.', response: stories[i % 12].output });
}

let scorer: LocalScorer;
let fake: FakeTeacher;
before(async () => {
  scorer = await LocalScorer.load({ modelPath: bundledModel, threads: 1 });
  fake = await FakeTeacher.start(scripted, { apiKey: KEY });
});
after(async () => {
  await fake.close();
  await scorer.close();
});

function dataset(): { dir: string; path: string } {
  const dir = tempDir();
  const path = join(dir, 'data.jsonl');
  copyFileSync(storiesPath, path);
  return { dir, path };
}

const lines = (from: number, to: number) => (line: number) => line >= from && line <= to;

function session(): ReflectionSession {
  const teacher = new TeacherClient({ url: fake.url, model: 'fake-teacher', apiKey: KEY, retries: 1, backoffBaseMs: 5, timeoutMs: 10_000 });
  return new ReflectionSession({ teacher, cache: ReflectionCache.memory(), structured: 'auto' });
}

const student = () => ({ scorer, store: ScoreStore.memory(), config: { template: 'plain' as const, boundary: 'clean' as const, ifdVariant: 'ppl' as const } });

interface Written {
  output: string;
  failures: LineFailure[];
  reports: ({ line: number } & Record<string, unknown>)[];
}

async function writeOut(reflection: FileReflection, dir: string, name: string): Promise<Written> {
  const out = join(dir, name);
  const failures = await reflection.write(out);
  return { output: readFileSync(out, 'utf8'), failures, reports: reflection.recordReports() };
}

async function runSync(mode: ReflectionMode, selection: (line: number) => boolean): Promise<Written> {
  const { dir, path } = dataset();
  const reflection = await FileReflection.read(path, { lines: selection });
  await reflection.reflect(mode, { session: session(), student: student() });
  return writeOut(reflection, dir, 'sync.jsonl');
}

interface BatchRunOptions {
  path: string;
  retry?: BatchRetry;
  maxAttempts?: number;
  signal?: AbortSignal;
  onEvent?: (event: TeacherBatchEvent) => void;
}

async function runBatch(mode: ReflectionMode, selection: (line: number) => boolean, options: BatchRunOptions): Promise<{ reflection: FileReflection; outcome: TeacherBatchOutcome; events: TeacherBatchEvent[] }> {
  const reflection = await FileReflection.read(options.path, { lines: selection });
  const events: TeacherBatchEvent[] = [];
  const outcome = await reflection.reflectInBatches(
    mode,
    { session: session(), student: student(), signal: options.signal },
    {
      api: new TeacherBatchApi({ url: fake.url, apiKey: KEY, retries: 1, backoffBaseMs: 5 }),
      jobs: FileTeacherBatchJobs.forDataset(options.path),
      retry: options.retry,
      maxAttempts: options.maxAttempts,
      pollMs: 1,
      maxPollMs: 5,
      onEvent: (event) => {
        events.push(event);
        options.onEvent?.(event);
      },
    },
  );
  return { reflection, outcome, events };
}

/** The plan for the next batch only; later ones run plainly. */
function planFirstBatch(plan: BatchPlan): (event: TeacherBatchEvent) => void {
  fake.batches.plan = plan;
  return (event) => {
    if (event.type === 'submitted') fake.batches.plan = {};
  };
}

const chatCalls = (): number => fake.requests.filter((r) => r.via === 'chat').length;

/**
 * Numbers to 6 significant digits: the local engine's sums can differ in the last bits with how its
 * batches were made up, and the two runs interleave their records differently.
 */
function rounded(value: unknown): unknown {
  if (typeof value === 'number') return Number(value.toPrecision(6));
  if (Array.isArray(value)) return value.map(rounded);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, rounded(v)]));
  return value;
}

function assertSameAsSync(batch: Written, sync: Written): void {
  assert.equal(batch.output, sync.output, 'the output file is byte-identical to the synchronous run');
  assert.deepEqual(rounded(batch.reports), rounded(sync.reports), 'every record has the same candidates, scores, decisions and usage');
  assert.deepEqual(batch.failures, sync.failures);
}

/**
 * A request answered by its second batch says so (attempts 2, as a synchronous call retried after a
 * 500 does); checked here, then set to what a first-time answer says, so the rest compares as a whole.
 */
function secondAttempts(written: Written, retriedLines: number[]): Written {
  for (const line of retriedLines) {
    const report = written.reports.find((r) => r.line === line)!;
    const teacher = (report.candidates as { teacher?: { attempts: number } }[]).find((c) => c.teacher)!.teacher!;
    assert.equal(teacher.attempts, 2, `line ${line} was answered by its second batch`);
    teacher.attempts = 1;
  }
  return written;
}

function assertNoJobsLeft(path: string): void {
  const jobsFile = join(path, '..', '.sift', 'teacher-batches.json');
  assert.deepEqual((JSON.parse(readFileSync(jobsFile, 'utf8')) as { jobs: unknown[] }).jobs, [], 'a finished run forgets its batches');
  assert.deepEqual(readdirSync(join(path, '..', '.sift', 'teacher-batches')), [], 'and their saved answers');
}

test('selective mode through two batches (one per stage), output files shuffled: the same output bytes and decisions as the synchronous run', async () => {
  const sync = await runSync('selective', lines(13, 18));
  const { dir, path } = dataset();
  const creations = fake.batches.creations;
  const chats = chatCalls();
  fake.batches.plan = { shuffle: (count) => Array.from({ length: count }, (_, i) => count - 1 - i) };
  let outcome: TeacherBatchOutcome;
  let reflection: FileReflection;
  try {
    ({ outcome, reflection } = await runBatch('selective', lines(13, 18), { path }));
  } finally {
    fake.batches.plan = {};
  }
  assert.equal(fake.batches.creations - creations, 2, 'stage 1 and stage 2');
  assert.equal(chatCalls(), chats, 'no synchronous teacher call');
  assert.equal(outcome.batchIds.length, 2);
  // The output file really came back in another order than the input.
  const [first] = outcome.batchIds;
  const state = fake.batches.batches.get(first)!;
  const sent = state.lines.map((l) => l.custom_id);
  const returned = fake.batches.files.get(state.batch.output_file_id!)!.bytes.toString('utf8').trim().split('\n').map((l) => (JSON.parse(l) as { custom_id: string }).custom_id);
  assert.equal(sent.length, 6);
  assert.deepEqual(returned, [...sent].reverse());
  for (const id of sent) assert.match(id, /^line-(1[3-8])-[0-9a-f]{16}-instruction-[0-9a-f]{12}-1$/);
  const written = await writeOut(reflection, dir, 'batch.jsonl');
  assertSameAsSync(written, sync);
  assert.ok(written.reports.some((r) => r.changed === true), 'some rewrite was kept');
  assertNoJobsLeft(path);
});

test('a batch that partly fails: the failed line goes into a second batch (retry batch), is asked synchronously (retry sync), or is reported by its line (retry none)', async () => {
  const sync = await runSync('response', lines(13, 16));
  const failLine14 = (id: string) => (id.startsWith('line-14-') ? { status: 500, message: 'The server had an error while processing your request.' } : undefined);

  {
    const { dir, path } = dataset();
    const creations = fake.batches.creations;
    const { reflection, outcome } = await runBatch('response', lines(13, 16), { path, retry: 'batch', onEvent: planFirstBatch({ failLine: failLine14 }) });
    assert.equal(fake.batches.creations - creations, 2);
    const second = fake.batches.inputOf(outcome.batchIds[1]);
    assert.deepEqual(second.map((l) => l.custom_id.split('-').slice(0, 2).join('-')), ['line-14'], 'only the failed request is sent again');
    assertSameAsSync(secondAttempts(await writeOut(reflection, dir, 'batch.jsonl'), [14]), sync);
  }
  {
    const { dir, path } = dataset();
    const creations = fake.batches.creations;
    const chats = chatCalls();
    const { reflection } = await runBatch('response', lines(13, 16), { path, retry: 'sync', onEvent: planFirstBatch({ failLine: failLine14 }) });
    assert.equal(fake.batches.creations - creations, 1);
    assert.equal(chatCalls() - chats, 1, 'the failed line was asked synchronously');
    const written = await writeOut(reflection, dir, 'batch.jsonl');
    assert.equal(written.output, sync.output);
    assert.deepEqual(rounded(written.reports), rounded(sync.reports));
  }
  {
    const { dir, path } = dataset();
    const creations = fake.batches.creations;
    const { reflection } = await runBatch('response', lines(13, 16), { path, retry: 'none', onEvent: planFirstBatch({ failLine: failLine14 }) });
    assert.equal(fake.batches.creations - creations, 1);
    const written = await writeOut(reflection, dir, 'batch.jsonl');
    assert.deepEqual(written.failures.map((f) => f.line), [14]);
    assert.match(written.failures[0].error, /response reflection: teacher batch: answered 500: The server had an error/);
    const out = written.output.split('\n');
    const input = readFileSync(path, 'utf8').split('\n');
    const syncOut = sync.output.split('\n');
    assert.equal(out[13], input[13], 'the failed record is left as it was');
    for (const i of [12, 14, 15]) assert.equal(out[i], syncOut[i], `line ${i + 1} as in the synchronous run`);
    assertNoJobsLeft(path);
  }
});

test('a batch that expires: its answers are kept and the expired requests are submitted again; expiring every time, they are reported after the last attempt', async () => {
  const sync = await runSync('response', lines(13, 16));
  {
    const { dir, path } = dataset();
    const creations = fake.batches.creations;
    const { reflection, outcome, events } = await runBatch('response', lines(13, 16), { path, onEvent: planFirstBatch({ perPoll: 2, expireAfterPolls: 1 }) });
    assert.equal(fake.batches.creations - creations, 2);
    assert.ok(events.some((e) => e.type === 'status' && e.status === 'expired'));
    const downloaded = events.filter((e) => e.type === 'downloaded');
    assert.deepEqual(downloaded.map((e) => [e.answered, e.failed]), [[2, 2], [2, 0]], 'two answered before the expiry, two expired and answered by the second batch');
    assert.deepEqual(fake.batches.inputOf(outcome.batchIds[1]).map((l) => l.custom_id.split('-')[1]), ['15', '16']);
    assertSameAsSync(secondAttempts(await writeOut(reflection, dir, 'batch.jsonl'), [15, 16]), sync);
  }
  {
    const { dir, path } = dataset();
    const creations = fake.batches.creations;
    fake.batches.plan = { hold: true, expireAfterPolls: 1 };
    let reflection: FileReflection;
    try {
      ({ reflection } = await runBatch('response', lines(13, 14), { path, maxAttempts: 2 }));
    } finally {
      fake.batches.plan = {};
    }
    assert.equal(fake.batches.creations - creations, 2, 'maxAttempts batches, then reported');
    const written = await writeOut(reflection, dir, 'batch.jsonl');
    assert.deepEqual(written.failures.map((f) => f.line), [13, 14]);
    for (const f of written.failures) assert.match(f.error, /teacher batch: batch_expired: This request could not be executed before the completion window expired\. \(2 batch attempts\)/);
    assert.equal(written.output, readFileSync(path, 'utf8'), 'nothing reflected: the output is the input');
  }
});

test('a run stopped while polling leaves its batch recorded; the next run picks up the same batch (one creation) and reports a record edited meanwhile instead of applying its answer', async () => {
  const sync = await runSync('response', lines(13, 16));
  const { dir, path } = dataset();
  const creations = fake.batches.creations;
  fake.batches.plan = { hold: true };
  const abort = new AbortController();
  try {
    await assert.rejects(
      runBatch('response', lines(13, 16), {
        path,
        signal: abort.signal,
        onEvent: (event) => {
          if (event.type === 'status' && event.status === 'in_progress') abort.abort();
        },
      }),
      (error: Error) => error.name === 'AbortError',
    );
  } finally {
    fake.batches.plan = {};
  }
  assert.equal(fake.batches.creations - creations, 1);
  const jobs = await FileTeacherBatchJobs.forDataset(path).list();
  assert.equal(jobs.length, 1);
  const batchId = jobs[0].batchId!;
  assert.equal(jobs[0].status, 'in_progress');

  // Line 14 is edited while the batch runs.
  const input = readFileSync(path, 'utf8').split('\n');
  const edited = JSON.parse(input[13]) as { output: string };
  edited.output = 'Tim went home.';
  input[13] = JSON.stringify(edited);
  writeFileSync(path, input.join('\n'));
  fake.batches.release();

  const { reflection, events, outcome } = await runBatch('response', lines(13, 16), { path });
  assert.equal(fake.batches.creations - creations, 1, 'no new batch: the pending one was picked up');
  assert.deepEqual(events[0], { type: 'resumed', batchId, status: 'in_progress', submittedAt: jobs[0].submittedAt });
  assert.deepEqual(outcome.batchIds, [batchId]);
  const written = await writeOut(reflection, dir, 'batch.jsonl');
  assert.deepEqual(written.failures.map((f) => f.line), [14]);
  assert.match(written.failures[0].error, new RegExp(`the record changed since teacher batch ${batchId} was submitted for it; that batch's answer is not applied`));
  const out = written.output.split('\n');
  const syncOut = sync.output.split('\n');
  assert.equal(out[13], input[13], 'the edited record is left as the user wrote it');
  for (const i of [12, 14, 15]) assert.equal(out[i], syncOut[i], `line ${i + 1} as in the synchronous run`);
  assertNoJobsLeft(path);
});

test('a batch that fails validation: every record reports the batch error by line, and nothing is sent again', async () => {
  const { dir, path } = dataset();
  const creations = fake.batches.creations;
  fake.batches.plan = { invalid: "The model 'fake-teacher' is not available for the Batch API." };
  let reflection: FileReflection;
  try {
    ({ reflection } = await runBatch('response', lines(13, 14), { path }));
  } finally {
    fake.batches.plan = {};
  }
  assert.equal(fake.batches.creations - creations, 1);
  const written = await writeOut(reflection, dir, 'batch.jsonl');
  assert.deepEqual(written.failures.map((f) => f.line), [13, 14]);
  for (const f of written.failures) assert.match(f.error, /batch batch_\d+ failed: input line 1: The model 'fake-teacher' is not available for the Batch API\./);
  assert.equal(existsSync(join(dir, '.sift', 'teacher-batches.json')), true);
  assertNoJobsLeft(path);
});
