/**
 * `sift reflect --batch` as a user runs it: the built CLI in a child process, the scripted
 * teacher's Batch API over HTTP in this process, the bundled student. The batch run's output is
 * compared byte for byte with a synchronous run's against the same scripted answers.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { FakeTeacher, reflectionReply, type TeacherRequest } from '../helpers/fake-teacher';
import { cliPath, examplesDir, repoRoot, tempDir } from '../helpers/paths';
import { waitFor } from '../helpers/waitFor';

const KEY = 'sk-cli-batch-secret-5151-never-print';
const storiesPath = join(examplesDir, 'tinystories-instructions.jsonl');
const stories = readFileSync(storiesPath, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { instruction: string; output: string });

function scripted(request: TeacherRequest): ReturnType<typeof reflectionReply> {
  const i = stories.findIndex((s) => s.instruction === request.shown.instruction);
  if (i < 0) return reflectionReply(request, { critique: 'Generic.', response: stories[1].output, instruction: stories[1].instruction });
  if (request.kind === 'instruction') return reflectionReply(request, { critique: 'Plain.', instruction: stories[(i + 1) % 12].instruction, response: stories[(i + 1) % 12].output });
  return reflectionReply(request, { critique: 'Off topic.', response: stories[i % 12].output });
}

let fake: FakeTeacher;
before(async () => {
  fake = await FakeTeacher.start(scripted, { apiKey: KEY });
});
after(async () => {
  await fake.close();
});

interface Run {
  status: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
}

function start(args: string[], env: NodeJS.ProcessEnv = {}): { child: ReturnType<typeof spawn>; done: Promise<Run>; stderr: () => string } {
  const child = spawn(process.execPath, [cliPath, ...args], { cwd: repoRoot, env: { ...process.env, SIFT_TEACHER_API_KEY: KEY, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<Run>((resolve, reject) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 180_000);
    child.once('error', reject);
    child.once('exit', (status, signal) => {
      clearTimeout(timer);
      resolve({ status, signal, stdout, stderr });
    });
  });
  return { child, done, stderr: () => stderr };
}

/** Runs the CLI without blocking this process's event loop (the scripted teacher lives here). */
const sift = (args: string[], env?: NodeJS.ProcessEnv): Promise<Run> => start(args, env).done;

// gpt-4o-mini: a model the built-in price table lists ($0.15 / $0.60 per 1M tokens, half as a batch).
const teacherArgs = ['--teacher-url', '', '--teacher-model', 'gpt-4o-mini', '--threads', '1', '--batch-poll', '0.02'];
const teacher = (): string[] => teacherArgs.map((a, i) => (i === 1 ? fake.url : a));

function dataset(): { dir: string; path: string } {
  const dir = tempDir();
  const path = join(dir, 'data.jsonl');
  copyFileSync(storiesPath, path);
  return { dir, path };
}

function allFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? allFiles(join(dir, e.name)) : [join(dir, e.name)]));
}

/** The synchronous run of the same records, for comparison. */
async function syncOutput(args: string[]): Promise<string> {
  const { dir, path } = dataset();
  const out = join(dir, 'sync.jsonl');
  const run = await sift(['reflect', path, '--out', out, '-q', ...args, ...teacher()]);
  assert.equal(run.status, 0, run.stderr);
  return readFileSync(out, 'utf8');
}

const money = (text: string): number => Number(text.replace('$', ''));

test('sift reflect --batch: the cost in money first (batch and synchronous), then one batch; the output is byte-identical to the synchronous run; the key is nowhere', async () => {
  const expected = await syncOutput(['--mode', 'response', '--lines', '13-16']);
  const { dir, path } = dataset();
  const out = join(dir, 'out.jsonl');
  const report = join(dir, 'report.json');
  const creations = fake.batches.creations;
  const chats = fake.requests.filter((r) => r.via === 'chat').length;
  const run = await sift(['reflect', path, '--out', out, '--mode', 'response', '--lines', '13-16', '--batch', '--report', report, ...teacher()]);
  assert.equal(run.status, 0, run.stderr);
  assert.equal(readFileSync(out, 'utf8'), expected);
  assert.equal(fake.batches.creations - creations, 1);
  assert.equal(fake.requests.filter((r) => r.via === 'chat').length, chats, 'no synchronous call');

  // The money is the printed token estimate at gpt-4o-mini's prices, computed here.
  const tokens = /estimated tokens: ~([\d,]+) prompt \+ ~([\d,]+) completion/.exec(run.stderr)!;
  const [prompt, completion] = [Number(tokens[1].replace(/,/g, '')), Number(tokens[2].replace(/,/g, ''))];
  const cost = /estimated cost: ~(\$[\d.]+) as a batch \(~(\$[\d.]+) synchronously\); results within 24 h per batch/.exec(run.stderr);
  assert.ok(cost, run.stderr);
  const sync = (prompt * 0.15 + completion * 0.6) / 1e6;
  assert.equal(money(cost[2]), Number(sync.toFixed(sync < 0.01 ? 4 : 2)));
  assert.equal(money(cost[1]), Number((sync / 2).toFixed(sync / 2 < 0.01 ? 4 : 2)));
  assert.match(run.stderr, /gpt-4o-mini at \$0\.15 \/ \$0\.60 per 1M prompt \/ completion tokens, prices of \d{4}-\d{2} from Sift's price table/);

  const batchId = /teacher batch (batch_\d+) submitted: 4 request\(s\) \(round 1\)/.exec(run.stderr)?.[1];
  assert.ok(batchId, run.stderr);
  assert.match(run.stderr, new RegExp(`teacher batch ${batchId}: 4 answer\\(s\\) downloaded`));
  assert.match(run.stdout, new RegExp(`teacher: 4 call\\(s\\) through teacher batch\\(es\\) ${batchId}`));
  const parsed = JSON.parse(readFileSync(report, 'utf8')) as { batch: { batchIds: string[]; submittedRequests: number; retry: string }; usage: { calls: number } };
  assert.deepEqual(parsed.batch, { batchIds: [batchId], submittedRequests: 4, retry: 'batch' });
  assert.equal(parsed.usage.calls, 4);
  assert.deepEqual((JSON.parse(readFileSync(join(dir, '.sift', 'teacher-batches.json'), 'utf8')) as { jobs: unknown[] }).jobs, []);
  for (const file of allFiles(dir)) assert.doesNotMatch(readFileSync(file, 'utf8'), new RegExp(KEY), file);
  assert.doesNotMatch(run.stdout + run.stderr, new RegExp(KEY));
  // The uploaded input file carries no key either (it is the teacher's copy of the requests).
  for (const file of fake.batches.files.values()) assert.doesNotMatch(file.bytes.toString('utf8'), new RegExp(KEY));
});

test('sift reflect --batch stopped while polling (SIGTERM): exit 143, the batch goes on; --batch-status shows it; the re-run picks up the same batch (one creation) and writes what a synchronous run writes', async () => {
  const expected = await syncOutput(['--mode', 'response', '--lines', '13-15']);
  const { dir, path } = dataset();
  const out = join(dir, 'out.jsonl');
  const creations = fake.batches.creations;
  fake.batches.plan = { hold: true };
  try {
    const first = start(['reflect', path, '--out', out, '--mode', 'response', '--lines', '13-15', '--batch', ...teacher()]);
    await waitFor('the batch to be submitted and polled', () => /teacher batch batch_\d+: in progress/.test(first.stderr()), { timeoutMs: 60_000, detail: first.stderr });
    first.child.kill('SIGTERM');
    const stopped = await first.done;
    assert.deepEqual([stopped.status, stopped.signal], [143, null], stopped.stderr);
    assert.match(stopped.stderr, /interrupted: nothing was written; the teacher batch goes on at http:\/\/127\.0\.0\.1:\d+\/v1: run the same command again to pick it up/);
    assert.equal(existsSync(out), false);
  } finally {
    fake.batches.plan = {};
  }
  assert.equal(fake.batches.creations - creations, 1);
  const batchId = [...fake.batches.batches.keys()].at(-1)!;

  const status = await sift(['reflect', path, '--batch-status', ...teacher()]);
  assert.equal(status.status, 0, status.stderr);
  assert.match(status.stdout, new RegExp(`^${batchId}: in_progress, 0 of 3 done; 3 request\\(s\\) to gpt-4o-mini, mode response, submitted \\d{4}-`, 'm'));

  fake.batches.release();
  const resumed = await sift(['reflect', path, '--out', out, '--mode', 'response', '--lines', '13-15', '--batch', ...teacher()]);
  assert.equal(resumed.status, 0, resumed.stderr);
  assert.match(resumed.stderr, new RegExp(`picking up teacher batch ${batchId} \\(submitted [^)]*, last seen in_progress\\)`));
  assert.equal(fake.batches.creations - creations, 1, 'the server saw exactly one batch creation');
  assert.equal(readFileSync(out, 'utf8'), expected);
});

test('sift reflect --batch-cancel cancels a pending batch and forgets it; the next --batch run submits anew', async () => {
  const { dir, path } = dataset();
  const out = join(dir, 'out.jsonl');
  fake.batches.plan = { hold: true };
  try {
    const first = start(['reflect', path, '--out', out, '--mode', 'response', '--lines', '13', '--batch', ...teacher()]);
    await waitFor('the batch to be polled', () => /teacher batch batch_\d+: in progress/.test(first.stderr()), { timeoutMs: 60_000, detail: first.stderr });
    first.child.kill('SIGINT');
    assert.equal((await first.done).status, 130);
  } finally {
    fake.batches.plan = {};
  }
  const batchId = [...fake.batches.batches.keys()].at(-1)!;
  const cancelled = await sift(['reflect', path, '--batch-cancel', ...teacher()]);
  assert.equal(cancelled.status, 0, cancelled.stderr);
  assert.match(cancelled.stdout, new RegExp(`teacher batch ${batchId}: cancelling`));
  assert.equal(fake.batches.batches.get(batchId)!.batch.status, 'cancelling');
  const none = await sift(['reflect', path, '--batch-status', ...teacher()]);
  assert.match(none.stdout, /no teacher batch pending for data\.jsonl/);
  const creations = fake.batches.creations;
  const again = await sift(['reflect', path, '--out', out, '--mode', 'response', '--lines', '13', '--batch', '-q', ...teacher()]);
  assert.equal(again.status, 0, again.stderr);
  assert.equal(fake.batches.creations - creations, 1);
});

test('sift reflect --prices: a price file of your own adds models and replaces prices; a model with no price and a bad file are said plainly', async () => {
  const { dir } = dataset();
  const prices = join(dir, 'prices.json');
  writeFileSync(prices, JSON.stringify({ asOf: '2031-01', models: { 'my-teacher': { input: 3, output: 15, batchDiscount: 0.4 } } }));
  const out = join(dir, 'out.jsonl');
  const run = await sift(['reflect', storiesPath, '--out', out, '--mode', 'response', '--lines', '13', '--no-reflection-cache', '--prices', prices, ...teacher().map((a) => (a === 'gpt-4o-mini' ? 'my-teacher' : a))]);
  assert.equal(run.status, 0, run.stderr);
  const tokens = /estimated tokens: ~([\d,]+) prompt \+ ~([\d,]+) completion/.exec(run.stderr)!;
  const sync = (Number(tokens[1].replace(/,/g, '')) * 3 + Number(tokens[2].replace(/,/g, '')) * 15) / 1e6;
  const cost = /estimated cost: ~(\$[\d.]+) now, or ~(\$[\d.]+) with --batch/.exec(run.stderr);
  assert.ok(cost, run.stderr);
  const round = (x: number): number => Number(x.toFixed(x < 0.01 ? 4 : 2));
  assert.equal(money(cost[1]), round(sync));
  assert.equal(money(cost[2]), round(sync * 0.6), 'its own batch discount (40%)');
  assert.match(run.stderr, new RegExp(`prices of 2031-01 from ${prices.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));

  const unknown = await sift(['reflect', storiesPath, '--out', out, '--mode', 'response', '--lines', '13', '--no-reflection-cache', '-q', ...teacher().map((a) => (a === 'gpt-4o-mini' ? 'no-such-model' : a))]);
  assert.equal(unknown.status, 0, unknown.stderr);
  assert.match(unknown.stderr, /estimated cost: no price for no-such-model in Sift's price table \(add it with --prices FILE/);

  writeFileSync(prices, JSON.stringify({ models: { 'my-teacher': { input: '3', output: 15 } } }));
  const bad = await sift(['reflect', storiesPath, '--out', out, '--prices', prices, ...teacher()]);
  assert.equal(bad.status, 2, bad.stderr);
  assert.match(bad.stderr, /price file .*prices\.json: models\["my-teacher"\]\.input must be a price per 1M tokens \(a number ≥ 0\), got "3"/);
});
