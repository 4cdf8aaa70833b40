import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, linkSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { manyRecords, sift } from '../helpers/cli';
import { cliPath, examplesDir, tempDir } from '../helpers/paths';
import { storeKeys, storeRows } from '../helpers/store';

const stories = join(examplesDir, 'tinystories-instructions.jsonl');

function datasetCopy(): { dir: string; dataset: string; original: string } {
  const dir = tempDir();
  const dataset = join(dir, 'v.jsonl');
  copyFileSync(stories, dataset);
  return { dir, dataset, original: readFileSync(dataset, 'utf8') };
}

test('an output that names an input is refused before any work, and the input is untouched', () => {
  const { dir, dataset, original } = datasetCopy();
  symlinkSync(dataset, join(dir, 'link.jsonl'));
  linkSync(dataset, join(dir, 'hard.jsonl'));
  mkdirSync(join(dir, 'sub'));
  mkdirSync(join(dir, '.sift'));
  symlinkSync(dir, join(dir, 'dirlink'));
  const cases: string[][] = [
    ['score', dataset, '--out', dataset],
    ['score', dataset, '--out', join(dir, 'link.jsonl')],
    ['score', dataset, '--out', join(dir, 'hard.jsonl')],
    ['score', dataset, '--out', join(dir, 'sub', '..', 'v.jsonl')],
    ['score', dataset, '--stats', join(dir, 'dirlink', 'v.jsonl')],
    ['score', dataset, '--store', dataset],
    ['score', dataset, '--out', join(dir, 'o.jsonl'), '--stats', join(dir, 'o.jsonl')],
    ['score', dataset, '--out', join(dir, '.sift', 'sift.db')],
    ['stats', dataset, '--store', join(dir, 'link.jsonl')],
    ['filter', dataset, '--ifd-max', '1', '--out', dataset],
    ['filter', dataset, '--ifd-max', '1', '--out', join(dir, 'kept.jsonl'), '--report', dataset],
    ['reflect', dataset, '--out', dataset, '--teacher-model', 'm', '-y'],
    ['reflect', dataset, '--out', join(dir, 'r.jsonl'), '--report', join(dir, 'link.jsonl'), '--teacher-model', 'm', '-y'],
  ];
  for (const args of cases) {
    const result = sift(args);
    assert.equal(result.status, 2, `${args.join(' ')}: ${result.stderr}`);
    assert.match(result.stderr, /refusing to overwrite it/, args.join(' '));
    assert.doesNotMatch(result.stderr, /scoring|records/, 'no work was started');
    assert.equal(readFileSync(dataset, 'utf8'), original, args.join(' '));
  }
  assert.deepEqual(readdirSync(dir).sort(), ['.sift', 'dirlink', 'hard.jsonl', 'link.jsonl', 'sub', 'v.jsonl']);
  assert.deepEqual(readdirSync(join(dir, '.sift')), []);
});

test('--out into a missing directory fails at once with a usage error, before any scoring', () => {
  const { dir, dataset } = datasetCopy();
  for (const args of [
    ['score', dataset, '--out', join(dir, 'missing', 'o.jsonl')],
    ['score', dataset, '--stats', join(dir, 'missing', 's.json')],
    ['filter', dataset, '--ifd-max', '1', '--out', join(dir, 'missing', 'o.jsonl')],
    ['filter', dataset, '--ifd-max', '1', '--out', dir],
    ['filter', dataset, '--ifd-max', '1', '--out', join(dir, 'o.jsonl'), '--report', join(dir, 'missing', 'r.json')],
    ['reflect', dataset, '--out', join(dir, 'missing', 'o.jsonl'), '--teacher-model', 'm', '-y'],
  ]) {
    const result = sift(args);
    assert.equal(result.status, 2, `${args.join(' ')}: ${result.stderr}`);
    assert.match(result.stderr, /directory not found: .*missing|is a directory: give a file name/);
    assert.doesNotMatch(result.stderr, /scoring|records|Unhandled|at .*\.js:\d+/);
  }
  assert.equal(existsSync(join(dir, '.sift')), false, 'the store was not touched');
});

test('reflect --in-place is the explicit way to replace the dataset; --out and --in-place together are refused', () => {
  const { dataset } = datasetCopy();
  const both = sift(['reflect', dataset, '--out', 'x.jsonl', '--in-place', '--teacher-model', 'm', '-y']);
  assert.equal(both.status, 2);
  assert.match(both.stderr, /either --out FILE or --in-place/);
  const neither = sift(['reflect', dataset, '--teacher-model', 'm', '-y']);
  assert.equal(neither.status, 2);
  assert.match(neither.stderr, /--out FILE is required \(or --in-place/);
});

function exited(child: ChildProcess, timeoutMs: number): Promise<number | null | 'timeout'> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve('timeout');
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

test('SIGTERM stops a run like Ctrl-C: exit 143, scores so far stored, no output and no temporary file left', async () => {
  const { dir, dataset } = manyRecords(3000);
  const out = join(dir, 'scores.jsonl');
  const child = spawn(process.execPath, [cliPath, 'score', dataset, '--out', out, '--threads', '1'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  let sent = false;
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    // At the first progress line that counts a finished record: its scores are in the store by
    // then, and 3,000 records are far from done, however fast or slow the machine is.
    if (!sent && /[1-9]\d*\/\d+ records/.test(stderr)) {
      sent = true;
      child.kill('SIGTERM');
    }
  });
  const code = await exited(child, 60_000);
  assert.equal(code, 143, stderr);
  assert.match(stderr, /interrupted: scores computed so far are kept/);
  assert.deepEqual(readdirSync(dir).sort(), ['.sift', 'many.jsonl'], 'no output, no .tmp');
  assert.ok(storeRows(join(dir, '.sift', 'sift.db')) > 0);
});

const hasScript = spawnSync('script', ['--version']).status === 0;

test('Ctrl-C on a terminal exits at once (the progress bar is stopped on the interrupted path too)', { skip: !hasScript && 'needs script(1) for a pseudo-terminal' }, async () => {
  const { dir, dataset } = manyRecords(3000);
  const command = [process.execPath, cliPath, 'score', dataset, '--out', join(dir, 'scores.jsonl'), '--threads', '1'].map((a) => `'${a}'`).join(' ');
  // script(1) runs the CLI on a pseudo-terminal: its stderr is a TTY, so the live bar is used, and a
  // ^C typed into the terminal reaches it as SIGINT, as from a keyboard.
  const child = spawn('script', ['-qfec', command, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let output = '';
  let sent = false;
  child.stdout!.on('data', (chunk: Buffer) => {
    output += chunk.toString();
    // Once the live bar counts a finished record: the run is under way (its stop handlers are in
    // place), and far from done.
    if (!sent && /[1-9]\d*\/\d+ records/.test(output)) {
      sent = true;
      child.stdin!.write('\x03');
    }
  });
  const code = await exited(child, 30_000);
  assert.notEqual(code, 'timeout', `still running 30 s after Ctrl-C: ${output.slice(-500)}`);
  assert.equal(code, 130, output.slice(-500));
  assert.match(output, /interrupted: scores computed so far are kept/);
});

test('an unwritable score store is reported once and the run still completes its --out', () => {
  const { dir, dataset } = datasetCopy();
  // A file where the store's folder should be: nothing can be appended, whoever runs the test.
  writeFileSync(join(dir, '.sift'), '');
  const out = join(dir, 'scores.jsonl');
  const result = sift(['score', dataset, '--out', out, '-q']);
  assert.equal(result.status, 0, result.stderr);
  assert.equal((result.stderr.match(/cannot write the score store/g) ?? []).length, 1, result.stderr);
  assert.match(result.stderr, /36 score\(s\) could not be saved/);
  assert.equal(readFileSync(out, 'utf8').trim().split('\n').length, 18);
  assert.match(result.stdout, /18 of 18 records scored/);
});

test('filter --cached-only filters a partly scored file by its stored scores: nothing is scored, the rest is dropped and counted', () => {
  const { dir, dataset, original } = datasetCopy();
  const lines = original.trim().split('\n');
  // The store is content-addressed: scoring the first six records anywhere beside it stores their scores.
  writeFileSync(join(dir, 'head.jsonl'), lines.slice(0, 6).join('\n') + '\n');
  assert.equal(sift(['score', join(dir, 'head.jsonl'), '-q', '--metrics', 'ifd']).status, 0);
  const storeBefore = storeKeys(join(dir, '.sift', 'sift.db'));
  assert.equal(storeBefore.length, 6);

  const out = join(dir, 'kept.jsonl');
  const report = join(dir, 'report.json');
  const result = sift(['filter', dataset, '--cached-only', '--ifd-max', '100', '--out', out, '--report', report, '-q']);
  assert.equal(result.status, 0, result.stderr);
  assert.match(result.stdout, /kept 6 of 18 records/);
  assert.match(result.stdout, /dropped 12 by unscored \(--cached-only\)/);
  assert.equal(readFileSync(out, 'utf8'), lines.slice(0, 6).join('\n') + '\n');
  const decisions = (JSON.parse(readFileSync(report, 'utf8')) as { decisions: { line: number; kept: boolean; reason: string }[] }).decisions;
  assert.deepEqual(decisions.map((d) => d.line), Array.from({ length: 18 }, (_, i) => i + 1));
  for (const d of decisions.slice(6)) assert.match(d.reason, /no stored score/);
  assert.deepEqual(storeKeys(join(dir, '.sift', 'sift.db')), storeBefore, 'nothing was scored');

  const refused = sift(['filter', dataset, '--cached-only', '--no-cache', '--ifd-max', '1', '--out', out]);
  assert.equal(refused.status, 2);
  assert.match(refused.stderr, /--cached-only .* --no-cache/);
});

test('a record of megabytes is scored as its beginning is (it is cut to the context anyway), with memory bounded', () => {
  const dir = tempDir();
  const story = readFileSync(stories, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { instruction: string; output: string });
  const responseOf = (chars: number): string => {
    let text = '';
    for (let i = 0; text.length < chars; i++) text += story[i % 18].output + ' ';
    return text;
  };
  const write = (name: string, response: string): string => {
    const path = join(dir, name);
    writeFileSync(path, [{ ...story[0], output: response }, story[1]].map((r) => JSON.stringify(r)).join('\n') + '\n');
    return path;
  };
  const megabytes = 8;
  const huge = write('huge.jsonl', responseOf(megabytes * 1e6));
  // Longer than the context of the bundled model, but short enough to be tokenized whole.
  const long = write('long.jsonl', responseOf(20_000));
  // Peak memory of the CLI process, reported by the process itself when it exits.
  const preload = join(dir, 'rss.js');
  writeFileSync(preload, 'process.on("exit", () => process.stderr.write(`maxRSS ${process.resourceUsage().maxRSS}\\n`));');
  const run = (dataset: string): { row: Record<string, unknown>; rssKb: number } => {
    const out = join(dir, 'out.jsonl');
    const result = spawnSync(process.execPath, ['-r', preload, cliPath, 'score', dataset, '--out', out, '--metrics', 'ifd', '--no-cache', '-q', '--threads', '1'], { encoding: 'utf8', timeout: 120_000 });
    assert.equal(result.status, 0, result.stderr);
    return { row: JSON.parse(readFileSync(out, 'utf8').split('\n')[0]) as Record<string, unknown>, rssKb: Number(/maxRSS (\d+)/.exec(result.stderr)?.[1]) };
  };
  const hugeRun = run(huge);
  const longRun = run(long);
  assert.equal(hugeRun.row.truncated, true);
  for (const field of ['ifd', 'loss_y_given_x', 'loss_y', 'tokens']) assert.deepEqual(hugeRun.row[field], longRun.row[field], field);
  // Tokenizing the whole record held about 70 MB per megabyte of input; its beginning costs little
  // beyond the record itself (parsed, rendered into prompts).
  const extraMb = (hugeRun.rssKb - longRun.rssKb) / 1024;
  assert.ok(extraMb < 25 * megabytes, `${extraMb.toFixed(0)} MB more for a ${megabytes} MB record`);
});
