/**
 * `sift reflect` as a user runs it: the built CLI (dist/cli.js through bin/sift.js) in a child
 * process, the scripted teacher over HTTP in this process, the bundled student model.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { FakeTeacher, reflectionReply, type TeacherRequest } from '../helpers/fake-teacher';
import { cliPath, examplesDir, repoRoot, tempDir } from '../helpers/paths';
import { waitFor } from '../helpers/waitFor';
import { storeRows } from '../helpers/store';

const KEY = 'sk-cli-secret-0000-never-print';
const storiesPath = join(examplesDir, 'tinystories-instructions.jsonl');
const storyLines = readFileSync(storiesPath, 'utf8').split('\n');
const stories = storyLines.filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as { instruction: string; output: string });

/** Scripted answers: each mismatched instruction gets its own matched story back. */
function scripted(request: TeacherRequest): ReturnType<typeof reflectionReply> {
  const i = stories.findIndex((s) => s.instruction === request.shown.instruction);
  if (i < 0) return reflectionReply(request, { critique: 'Generic.', instruction: 'Tim and his dog Max go to the beach. Max plays in the water.', response: stories[1].output });
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
  stdout: string;
  stderr: string;
}

/** Runs the CLI without blocking this process's event loop (the fake teacher lives here). */
function sift(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliPath, ...args], { cwd: repoRoot, env: { ...process.env, SIFT_TEACHER_API_KEY: KEY, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.once('error', reject);
    child.once('exit', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

const teacherArgs = (url = fake.url): string[] => ['--teacher-url', url, '--teacher-model', 'fake-teacher', '--threads', '1'];

interface ReportRecord {
  line: number;
  kept: string | null;
  changed: boolean;
  reason: string;
  error?: string;
  decisions: { stage: string; metric: 'ifd' | 'rifd'; rule: string; between: string[]; chosen: string }[];
  candidates: { id: string; instruction: string; input: string; response: string; scores: { ifd: { value: number | null }; rifd: { value: number | null } } | null; fallbacks: unknown[] }[];
}

function allFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? allFiles(join(dir, e.name)) : [join(dir, e.name)]));
}

test('sift reflect --lines: estimate first, kept records written in place, every other line byte-identical, a report of every decision', async () => {
  const dir = tempDir();
  const dataset = join(dir, 'data.jsonl');
  copyFileSync(storiesPath, dataset);
  const out = join(dir, 'out.jsonl');
  const report = join(dir, 'report.json');
  const run = await sift(['reflect', dataset, '--out', out, '--lines', '13-15', '--report', report, ...teacherArgs()]);
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stderr, /3 record\(s\), mode selective: at most 6 teacher call\(s\) to fake-teacher at http:\/\/127\.0\.0\.1:\d+\/v1/);
  assert.match(run.stderr, /estimated tokens: ~[\d,]+ prompt \+ ~[\d,]+ completion/);
  assert.match(run.stdout, /reflected 3 record\(s\) \(selective\)/);
  assert.match(run.stdout, /teacher: 6 call\(s\)/);

  const input = readFileSync(dataset, 'utf8').split('\n');
  const output = readFileSync(out, 'utf8').split('\n');
  assert.equal(output.length, input.length);
  for (let i = 0; i < input.length; i++) if (i < 12 || i > 14) assert.equal(output[i], input[i], `line ${i + 1} must be untouched`);

  const parsed = JSON.parse(readFileSync(report, 'utf8')) as { records: ReportRecord[]; usage: { calls: number; promptTokens: number }; teacher: { structured: string } };
  assert.deepEqual(parsed.records.map((r) => r.line), [13, 14, 15]);
  assert.equal(parsed.usage.calls, 6);
  assert.equal(parsed.teacher.structured, 'yes');
  for (const record of parsed.records) {
    assert.equal(record.error, undefined);
    // Each decision is what its scores say.
    for (const d of record.decisions) {
      const [a, b] = d.between.map((id) => record.candidates.find((c) => c.id === id)!);
      const [x, y] = [a.scores![d.metric].value!, b.scores![d.metric].value!];
      assert.equal(d.chosen, (d.rule === 'higher' ? y > x : y < x) ? b.id : a.id);
    }
    const kept = record.candidates.find((c) => c.id === record.kept)!;
    const line = JSON.parse(output[record.line - 1]) as { instruction: string; input: string; output: string; note: string };
    assert.deepEqual([line.instruction, line.input, line.output], [kept.instruction, kept.input, kept.response]);
    assert.equal(line.note, 'mismatched', 'other fields are kept');
    assert.equal(record.changed, record.kept !== 'original');
    if (!record.changed) assert.equal(output[record.line - 1], input[record.line - 1]);
  }
  assert.ok(parsed.records.some((r) => r.changed), 'the scripted matched stories win somewhere');

  // The kept pairs' scores are what `sift score` computes for them.
  const scores = join(dir, 'scores.jsonl');
  const scored = await sift(['score', out, '--out', scores, '--no-cache', '-q', '--threads', '1']);
  assert.equal(scored.status, 0, scored.stderr);
  const rows = readFileSync(scores, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { line: number; ifd: number; rifd: number });
  for (const record of parsed.records) {
    const kept = record.candidates.find((c) => c.id === record.kept)!;
    const row = rows.find((r) => r.line === record.line)!;
    assert.ok(Math.abs(row.ifd - kept.scores!.ifd.value!) < 1e-7, `IFD of line ${record.line}`);
    assert.ok(Math.abs(row.rifd - kept.scores!.rifd.value!) < 1e-7, `r-IFD of line ${record.line}`);
  }

  // The key is nowhere: not in the output, the report, the caches or anything the run printed.
  for (const file of allFiles(dir)) assert.doesNotMatch(readFileSync(file, 'utf8'), new RegExp(KEY), file);
  assert.doesNotMatch(run.stdout + run.stderr, new RegExp(KEY));
  assert.ok(storeRows(join(dir, '.sift', 'sift.db'), 'reflections') > 0);

  // Resume: every reflection is cached, so a re-run calls nobody and writes the same file.
  const before = fake.requests.length;
  const again = await sift(['reflect', dataset, '--out', join(dir, 'again.jsonl'), '--lines', '13-15', ...teacherArgs()]);
  assert.equal(again.status, 0, again.stderr);
  assert.equal(fake.requests.length, before);
  assert.match(again.stdout, /teacher: 0 call\(s\).*6 reflection\(s\) from the cache/);
  assert.equal(readFileSync(join(dir, 'again.jsonl'), 'utf8'), readFileSync(out, 'utf8'));
});

test('sift reflect --mode response on a CRLF file with a broken selected line: exit 1, the line copied as is, CRLF kept', async () => {
  const dir = tempDir();
  const dataset = join(dir, 'data.jsonl');
  // Line 17: Sue and Ben's instruction with Mia's story; the teacher answers with their own story.
  const lines = [storyLines[16], '{"instruction": "broken", "output": ', storyLines[2], storyLines[0]];
  writeFileSync(dataset, lines.join('\r\n') + '\r\n');
  const out = join(dir, 'out.jsonl');
  const run = await sift(['reflect', dataset, '--out', out, '--mode', 'response', '--lines', '1-3', '--no-reflection-cache', ...teacherArgs()]);
  assert.equal(run.status, 1, run.stderr);
  assert.match(run.stderr, /data\.jsonl:2: .*(invalid JSON|Unexpected)/);
  const output = readFileSync(out, 'utf8').split('\r\n');
  assert.equal(output.length, 5);
  assert.equal(output[1], lines[1]);
  assert.equal(output[3], lines[3]);
  assert.equal(output[4], '');
  const line1 = JSON.parse(output[0]) as { output: string };
  assert.equal(line1.output, stories[4].output, 'the matched story replaced the unrelated one');
  assert.equal(storeRows(join(dir, '.sift', 'sift.db'), 'reflections'), 0, '--no-reflection-cache writes no cache');
});

test('sift reflect against an endpoint without structured output falls back to delimited sections; messages records are written back in their format', async () => {
  const plain = await FakeTeacher.start((request) => reflectionReply(request, { critique: 'Too short.', response: 'Once upon a time, there was a little girl named Lily.' }), { rejectResponseFormat: true });
  try {
    const dir = tempDir();
    const dataset = join(dir, 'messages.jsonl');
    copyFileSync(join(examplesDir, 'messages-sample.jsonl'), dataset);
    const out = join(dir, 'out.jsonl');
    const report = join(dir, 'report.json');
    const run = await sift(['reflect', dataset, '--out', out, '--mode', 'response', '--lines', '1-2', '--report', report, ...teacherArgs(plain.url)], { SIFT_TEACHER_API_KEY: '' });
    assert.equal(run.status, 0, run.stderr);
    assert.deepEqual(plain.requests.map((r) => r.structured), [true, false, false]);
    const parsed = JSON.parse(readFileSync(report, 'utf8')) as { teacher: { structured: string }; records: ReportRecord[] };
    assert.equal(parsed.teacher.structured, 'no');
    const input = readFileSync(dataset, 'utf8').split('\n');
    const output = readFileSync(out, 'utf8').split('\n');
    for (const record of parsed.records) {
      const line = output[record.line - 1];
      if (!record.changed) {
        assert.equal(line, input[record.line - 1]);
        continue;
      }
      const value = JSON.parse(line) as { messages: { role: string; content: string }[] };
      const original = JSON.parse(input[record.line - 1]) as { messages: { role: string; content: string }[] };
      assert.equal(value.messages.at(-1)!.content, 'Once upon a time, there was a little girl named Lily.');
      assert.deepEqual(value.messages.slice(0, -1), original.messages.slice(0, -1));
    }
    for (let i = 2; i < input.length; i++) assert.equal(output[i], input[i]);
  } finally {
    await plain.close();
  }
});

test('sift reflect --gate: records the released rule rejects are left out of the output', async () => {
  const dir = tempDir();
  const dataset = join(dir, 'data.jsonl');
  copyFileSync(storiesPath, dataset);
  const out = join(dir, 'out.jsonl');
  const report = join(dir, 'report.json');
  const run = await sift(['reflect', dataset, '--out', out, '--mode', 'response', '--lines', '13-18', '--gate', '--report', report, ...teacherArgs()]);
  assert.equal(run.status, 0, run.stderr);
  const parsed = JSON.parse(readFileSync(report, 'utf8')) as { records: (ReportRecord & { gate: { passed: boolean } })[] };
  const dropped = parsed.records.filter((r) => r.kept === null).map((r) => r.line);
  assert.ok(dropped.length > 0);
  for (const r of parsed.records) assert.equal(r.kept === null, !r.gate.passed);
  const output = readFileSync(out, 'utf8').split('\n');
  assert.equal(output.length, storyLines.length - dropped.length);
  assert.match(run.stdout, new RegExp(`dropped by the released rule: ${dropped.length}`));
});

test('sift reflect: a wrong key stops the run (exit 3) without printing the key or writing output', async () => {
  const dir = tempDir();
  const out = join(dir, 'out.jsonl');
  const run = await sift(['reflect', storiesPath, '--out', out, '--lines', '1-3', '--no-reflection-cache', ...teacherArgs()], { SIFT_TEACHER_API_KEY: 'sk-wrong-0123456789' });
  assert.equal(run.status, 3, run.stderr);
  assert.match(run.stderr, /answered 401/);
  assert.doesNotMatch(run.stderr + run.stdout, /sk-wrong-0123456789/);
  assert.equal(existsSync(out), false);
});

test('sift reflect: OPENAI_API_KEY is not sent to another teacher URL (SIFT_TEACHER_API_KEY is)', async () => {
  const dir = tempDir();
  const out = join(dir, 'out.jsonl');
  const run = await sift(['reflect', storiesPath, '--out', out, '--lines', '1', '--no-reflection-cache', '-q', ...teacherArgs()], { SIFT_TEACHER_API_KEY: '', OPENAI_API_KEY: KEY });
  // The fake teacher wants KEY: without it, it answers 401, so the key was not sent.
  assert.equal(run.status, 3, run.stderr);
  assert.match(run.stderr, /answered 401/);
  assert.match(run.stderr, /OPENAI_API_KEY is sent to https:\/\/api\.openai\.com only.*set SIFT_TEACHER_API_KEY/);
  assert.equal(existsSync(out), false);
});

test('sift reflect: usage errors exit 2', async () => {
  const dir = tempDir();
  const out = join(dir, 'out.jsonl');
  const badPrompts = join(dir, 'prompts.json');
  writeFileSync(badPrompts, JSON.stringify({ response: { user: 'Improve {{response}}' } }));
  const cases: [string[], RegExp][] = [
    [['reflect', storiesPath, '--out', out, '--teacher-url', fake.url], /--teacher-model NAME is required/],
    [['reflect', storiesPath, '--out', out, ...teacherArgs(), '--lines', '5-2'], /--lines/],
    [['reflect', storiesPath, '--out', out, ...teacherArgs(), '--mode', 'both'], /argument 'both' is invalid|--mode/],
    [['reflect', storiesPath, '--out', out, ...teacherArgs(), '--prompts', badPrompts], /missing the placeholder \{\{instruction\}\}/],
    [['reflect', storiesPath, '--out', out, '--teacher-model', 'm', '--teacher-url', 'ftp://x'], /--teacher-url must be an http\(s\) URL/],
    [['reflect', storiesPath], /--out FILE is required/],
  ];
  for (const [args, message] of cases) {
    const run = await sift(args, { SIFT_TEACHER_MODEL: '' });
    assert.equal(run.status, 2, `${args.join(' ')}: ${run.stderr}`);
    assert.match(run.stderr, message);
  }
  assert.equal(existsSync(out), false);
});

test('sift reflect: Ctrl-C stops the run (exit 130), writes no output, keeps finished reflections; the re-run resumes', async () => {
  const slow = await FakeTeacher.start(scripted, { apiKey: KEY, latencyMs: 300 });
  try {
    const dir = tempDir();
    const dataset = join(dir, 'data.jsonl');
    copyFileSync(storiesPath, dataset);
    const out = join(dir, 'out.jsonl');
    const args = ['reflect', dataset, '--out', out, '--mode', 'response', '--teacher-concurrency', '1', ...teacherArgs(slow.url)];
    const child = spawn(process.execPath, [cliPath, ...args], { cwd: repoRoot, env: { ...process.env, SIFT_TEACHER_API_KEY: KEY }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    // Interrupt once the first answers are in.
    await waitFor('the first teacher calls', () => slow.requests.length >= 2, { timeoutMs: 60_000 });
    child.kill('SIGINT');
    const [code, signal] = await new Promise<[number | null, string | null]>((resolve) => child.once('exit', (c, s) => resolve([c, s])));
    assert.deepEqual([code, signal], [130, null], stderr);
    assert.match(stderr, /interrupted: nothing was written; \d+ record\(s\) had finished/);
    assert.equal(existsSync(out), false);
    const cached = storeRows(join(dir, '.sift', 'sift.db'), 'reflections');
    assert.ok(cached >= 1);
    const calls = fake.requests.length;
    const resumed = await sift(['reflect', dataset, '--out', out, '--mode', 'response', ...teacherArgs()]);
    assert.equal(resumed.status, 0, resumed.stderr);
    assert.match(resumed.stderr, new RegExp(`at most ${18 - cached} teacher call\\(s\\).*${cached} more answered by the reflection cache`));
    assert.equal(fake.requests.length - calls, 18 - cached, 'only the unfinished reflections are asked for');
  } finally {
    await slow.close();
  }
});

// `script` (util-linux) gives the CLI a terminal, so the confirmation prompt can be answered.
const hasScript = spawnSync('script', ['--version']).status === 0;
test('sift reflect on a terminal asks before calling the teacher; "n" calls and writes nothing, "y" runs', { skip: !hasScript && 'needs util-linux script for a pseudo-terminal' }, async () => {
  const dir = tempDir();
  const dataset = join(dir, 'data.jsonl');
  copyFileSync(storiesPath, dataset);
  for (const answer of ['n', 'y']) {
    const out = join(dir, `out-${answer}.jsonl`);
    const before = fake.requests.length;
    const command = [process.execPath, cliPath, 'reflect', dataset, '--out', out, '--lines', '1', '--no-reflection-cache', '-q', ...teacherArgs()].map((a) => `'${a}'`).join(' ');
    const child = spawn('script', ['-qec', command, '/dev/null'], { env: { ...process.env, SIFT_TEACHER_API_KEY: KEY }, stdio: ['pipe', 'pipe', 'pipe'] });
    let screen = '';
    let answered = false;
    child.stdout.on('data', (d: Buffer) => {
      screen += d.toString();
      if (!answered && /Proceed\? \[y\/N\]/.test(screen)) {
        answered = true;
        child.stdin.write(`${answer}\n`);
      }
    });
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    assert.equal(code, 0, screen);
    assert.match(screen, /at most 2 teacher call\(s\)[\s\S]*Proceed\? \[y\/N\]/);
    if (answer === 'n') {
      assert.match(screen, /cancelled: nothing was called or written/);
      assert.equal(fake.requests.length, before);
      assert.equal(existsSync(out), false);
    } else {
      assert.equal(fake.requests.length - before, 2);
      assert.ok(existsSync(out));
    }
  }
});

test('sift reflect --in-place replaces the dataset with what --out would have written, and leaves no temporary file', async () => {
  const dir = tempDir();
  const dataset = join(dir, 'data.jsonl');
  copyFileSync(storiesPath, dataset);
  const out = join(dir, 'out.jsonl');
  const copied = await sift(['reflect', dataset, '--out', out, '--lines', '13-14', '-q', ...teacherArgs()]);
  assert.equal(copied.status, 0, copied.stderr);
  const inPlace = await sift(['reflect', dataset, '--in-place', '--lines', '13-14', '-q', ...teacherArgs()]);
  assert.equal(inPlace.status, 0, inPlace.stderr);
  assert.match(inPlace.stdout, /data\.jsonl \(in place\)/);
  assert.equal(readFileSync(dataset, 'utf8'), readFileSync(out, 'utf8'));
  assert.notEqual(readFileSync(dataset, 'utf8'), readFileSync(storiesPath, 'utf8'), 'something was rewritten');
  assert.deepEqual(readdirSync(dir).filter((f) => f.endsWith('.tmp')), []);
});

test('sift reflect with an unwritable .sift/: each cache is reported once, and the output is written all the same', async () => {
  const dir = tempDir();
  const dataset = join(dir, 'data.jsonl');
  copyFileSync(storiesPath, dataset);
  // A file where `.sift/` should be: nothing can be appended there, whoever runs the test.
  writeFileSync(join(dir, '.sift'), '');
  const out = join(dir, 'out.jsonl');
  const run = await sift(['reflect', dataset, '--out', out, '--lines', '13-14', '-q', ...teacherArgs()]);
  assert.equal(run.status, 0, run.stderr);
  assert.equal((run.stderr.match(/cannot write the score store/g) ?? []).length, 1, run.stderr);
  assert.equal((run.stderr.match(/cannot write the reflection cache/g) ?? []).length, 1, run.stderr);
  assert.match(run.stderr, /reflection\(s\) could not be cached/);
  assert.equal(readFileSync(out, 'utf8').split('\n').length, readFileSync(dataset, 'utf8').split('\n').length);
});
