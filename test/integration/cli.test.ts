import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { manyRecords, sift } from '../helpers/cli';
import { cliPath, examplesDir, tempDir } from '../helpers/paths';
import { storeRows } from '../helpers/store';

const stories = join(examplesDir, 'tinystories-instructions.jsonl');
const rows = (path: string): Record<string, unknown>[] => readFileSync(path, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);

test('score: exit 0, rows in dataset order with scores, losses and token counts, a summary table', () => {
  const dir = tempDir();
  const out = join(dir, 'scores.jsonl');
  const result = sift(['score', stories, '--out', out, '--no-cache']);
  assert.equal(result.status, 0, result.stderr);
  assert.match(result.stdout, /18 of 18 records scored/);
  assert.match(result.stdout, /IFD\s+18/);
  assert.match(result.stdout, /r-IFD\s+18/);
  const scored = rows(out);
  assert.deepEqual(scored.map((r) => r.line), Array.from({ length: 18 }, (_, i) => i + 1));
  for (const row of scored) {
    assert.equal(typeof row.ifd, 'number');
    assert.equal(typeof row.rifd, 'number');
    assert.equal(row.ds, null);
    assert.equal(row.error, null);
    const ifd = Math.exp((row.loss_y_given_x as number) - (row.loss_y as number));
    assert.ok(Math.abs(ifd - (row.ifd as number)) < 1e-12);
    const tokens = row.tokens as Record<string, number>;
    assert.equal(tokens.y_given_x, tokens.y);
    assert.ok(tokens.y > 10);
  }
});

test('score: the store makes a re-run score nothing, --no-cache bypasses it', () => {
  const dir = tempDir();
  const dataset = join(dir, 'data.jsonl');
  copyFileSync(stories, dataset);
  const first = sift(['score', dataset, '-q']);
  assert.equal(first.status, 0, first.stderr);
  assert.ok(storeRows(join(dir, '.sift', 'sift.db')) > 0);
  const second = sift(['score', dataset, '-q']);
  assert.match(second.stdout, /18 from the score store/);
  assert.match(second.stdout, /\(0 tokens\/s evaluated\)/);
  const third = sift(['score', dataset, '-q', '--no-cache']);
  assert.doesNotMatch(third.stdout, /from the score store/);
});

test('score: malformed lines exit 1, each named with line, column and reason; nothing crashes', () => {
  const dir = tempDir();
  const out = join(dir, 'scores.jsonl');
  const result = sift(['score', join(examplesDir, 'malformed.jsonl'), '--out', out, '--no-cache', '-q']);
  assert.equal(result.status, 1);
  assert.match(result.stderr, /malformed\.jsonl:2:\d+: invalid JSON: expected ',' or '}' after property value/);
  assert.match(result.stderr, /malformed\.jsonl:3:\d+: \/output: expected a string, got number/);
  assert.match(result.stderr, /malformed\.jsonl:4:\d+: the response is empty/);
  assert.doesNotMatch(result.stderr, /at .*\.js:\d+/);
  const scored = rows(out);
  assert.deepEqual(scored.map((r) => r.line), [1, 2, 3, 4, 5]);
  assert.equal(scored[0].error, null);
  assert.match(String(scored[1].error), /invalid JSON/);
  assert.equal(scored[1].ifd, null);
  assert.equal(scored[4].error, null);
});

test('score: a JSON array file, invalid UTF-8 and an empty file get clear messages', () => {
  const dir = tempDir();
  const array = join(dir, 'array.json');
  writeFileSync(array, '[{"instruction": "a", "output": "b"},\n {"instruction": "c", "output": "d"}]\n');
  const a = sift(['score', array, '-q', '--no-cache']);
  assert.equal(a.status, 1);
  assert.match(a.stderr, /JSON array file, not JSONL/);
  const bad = join(dir, 'bad.jsonl');
  writeFileSync(bad, Buffer.concat([Buffer.from('{"instruction": "The cat.", "output": "It sat '), Buffer.from([0xff, 0xfe]), Buffer.from('."}\n')]));
  const b = sift(['score', bad, '-q', '--no-cache']);
  assert.equal(b.status, 1);
  assert.match(b.stderr, /bad\.jsonl:1:\d+: .*UTF-8/i);
  const empty = join(dir, 'empty.jsonl');
  writeFileSync(empty, '');
  const c = sift(['score', empty, '-q', '--no-cache']);
  assert.equal(c.status, 0, c.stderr);
  assert.match(c.stdout, /0 of 0 records scored/);
});

test('usage errors exit 2 with a message and no stack trace', () => {
  const cases: [string[], RegExp][] = [
    [['score', 'missing.jsonl'], /dataset not found/],
    [['score', stories, '--bogus'], /unknown option/],
    [['score', stories, '--metrics', 'ifd,xyz'], /--metrics must be one of/],
    [['score', stories, '--metrics', 'ds'], /needs --valid/],
    [['score', stories, '--template', 'chatml'], /Allowed choices/],
    [['score', stories, '--backend', 'vllm'], /needs --url/],
    [['score', stories, '--url', 'ftp://x'], /http\(s\) URL/],
    [['filter', stories, '--out', '/tmp/x.jsonl'], /no filter rule/],
    [['filter', stories, '--out', '/tmp/x.jsonl', '--top', '200%'], /between 0% and 100%/],
    [['filter', stories, '--out', '/tmp/x.jsonl', '--top', '1'], /--top: "1" is ambiguous: write 1% or 100%/],
    [['filter', stories, '--out', '/tmp/x.jsonl', '--ds-keep', '80'], /--ds-keep: "80" is ambiguous: write 80% .* or 0\.8/],
    [['nonsense'], /unknown command/],
  ];
  for (const [args, message] of cases) {
    const result = sift(args);
    assert.equal(result.status, 2, `${args.join(' ')}: ${result.stderr}`);
    assert.match(result.stderr, message, args.join(' '));
    assert.doesNotMatch(result.stderr, /\n\s+at /, args.join(' '));
  }
});

test('an unreachable endpoint fails the run with a clear message (exit 3)', () => {
  const result = sift(['score', stories, '--url', 'http://127.0.0.1:9', '-q', '--no-cache'], { env: { SIFT_SCORER_API_KEY: 'sk-secret-in-test' } });
  assert.equal(result.status, 3);
  assert.match(result.stderr, /^sift: /m);
  assert.doesNotMatch(result.stderr + result.stdout, /sk-secret-in-test/);
});

test('filter: kept records are byte-identical (CRLF, BOM, unicode) and the report says why', () => {
  const dir = tempDir();
  const lines = readFileSync(stories, 'utf8').trim().split('\n');
  lines[0] = lines[0].replace('Lily', 'Lïly ✓');
  const dataset = join(dir, 'crlf.jsonl');
  writeFileSync(dataset, '\ufeff' + lines.join('\r\n') + '\r\n');
  const out = join(dir, 'kept.jsonl');
  const report = join(dir, 'report.json');
  const result = sift(['filter', dataset, '--out', out, '--ifd-max', '1', '--top', '50%', '--report', report, '-q']);
  assert.equal(result.status, 0, result.stderr);
  const decisions = (JSON.parse(readFileSync(report, 'utf8')) as { decisions: { line: number; kept: boolean; reason: string }[] }).decisions;
  assert.equal(decisions.length, 18);
  const kept = decisions.filter((d) => d.kept).map((d) => d.line);
  assert.ok(kept.length > 0 && kept.length < 18);
  assert.ok(decisions.some((d) => /^ifd-max: IFD .* >= 1$/.test(d.reason)) || decisions.every((d) => !/ifd-max/.test(d.reason)));
  const input = readFileSync(dataset);
  const inputLines: Buffer[] = [];
  let start = 0;
  for (let i = input.indexOf(0x0a); i !== -1; i = input.indexOf(0x0a, start)) {
    inputLines.push(input.subarray(start, i + 1));
    start = i + 1;
  }
  assert.deepEqual(readFileSync(out), Buffer.concat(kept.map((line) => inputLines[line - 1])));
  assert.match(result.stdout, new RegExp(`kept ${kept.length} of 18 records`));
});

test('filter: self-consistency and lowest-DS on GSM8K candidates', () => {
  const dir = tempDir();
  const out = join(dir, 'kept.jsonl');
  const report = join(dir, 'report.json');
  const result = sift(['filter', join(examplesDir, 'gsm8k-candidates.jsonl'), '--self-consistent', '--ds-keep', '80%', '--valid', join(examplesDir, 'gsm8k-valid.jsonl'), '--out', out, '--report', report, '--no-cache', '-q']);
  assert.equal(result.status, 0, result.stderr);
  const parsed = JSON.parse(readFileSync(report, 'utf8')) as { dropped: Record<string, number>; decisions: { line: number; kept: boolean; reason: string }[] };
  assert.ok(parsed.dropped['self-consistency'] > 0);
  assert.ok(parsed.dropped['ds-keep'] > 0);
  const keptRows = rows(out);
  assert.equal(keptRows.length, parsed.decisions.filter((d) => d.kept).length);
  // Every kept candidate agrees with the majority of its question.
  for (const d of parsed.decisions.filter((x) => /self-consistency/.test(x.reason))) assert.match(d.reason, /disagrees|no parsable/);
});

test('stats: histograms of every metric', () => {
  const result = sift(['stats', stories, '--no-cache', '-q', '--bins', '5']);
  assert.equal(result.status, 0, result.stderr);
  assert.match(result.stdout, /IFD \(18 scored\)/);
  assert.match(result.stdout, /r-IFD \(18 scored\)/);
  assert.equal((result.stdout.match(/█/g) ?? []).length > 10, true);
});

test('DS weight with a valid set', () => {
  const dir = tempDir();
  const out = join(dir, 'scores.jsonl');
  const result = sift(['score', stories, '--metrics', 'ifd,ds', '--valid', join(examplesDir, 'tinystories-valid.jsonl'), '--out', out, '--no-cache', '-q']);
  assert.equal(result.status, 0, result.stderr);
  const mean = Number(/DS valid-set mean loss (\d+\.\d+)/.exec(result.stdout)?.[1]);
  assert.ok(mean > 0);
  for (const row of rows(out)) {
    const w = mean / (row.loss_xy as number);
    assert.ok(Math.abs((row.ds as number) - Math.max(w, 1 / w)) < 1e-3);
  }
});

test('Ctrl-C stops a run cleanly: exit 130, scores so far kept, the re-run resumes', async () => {
  const { dir, dataset } = manyRecords(300);
  const out = join(dir, 'scores.jsonl');
  const child = spawn(process.execPath, [cliPath, 'score', dataset, '--out', out, '--threads', '1'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  let sent = false;
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    // Interrupt at the first progress line: a record has been scored and put in the store by then
    // (so some scores are kept), and 300 records are far from done (so the run is stopped), however
    // fast or slow the machine is.
    if (!sent && /\d+\/\d+ records/.test(stderr)) {
      sent = true;
      child.kill('SIGINT');
    }
  });
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  assert.equal(code, 130, stderr);
  assert.match(stderr, /interrupted: scores computed so far are kept/);
  assert.equal(existsSync(out), false, 'no half-written output');
  const kept = storeRows(join(dir, '.sift', 'sift.db'));
  assert.ok(kept > 0 && kept < 600, `${kept} store entries`);
  const again = sift(['score', dataset, '-q', '--threads', '1']);
  assert.equal(again.status, 0, again.stderr);
  assert.match(again.stdout, /from the score store/);
});

test('--field-map scores any layout and names a wrong type by its path', () => {
  const dir = tempDir();
  const dataset = join(dir, 'custom.jsonl');
  writeFileSync(dataset, '{"data": {"q": "Lily finds a ball.", "a": "Lily found a red ball in the park."}}\n{"data": {"q": "A cat.", "a": 5}}\n');
  const result = sift(['score', dataset, '--field-map', 'instruction=data.q,response=data.a', '--no-cache', '-q']);
  assert.equal(result.status, 1);
  assert.match(result.stdout, /1 of 2 records scored/);
  assert.match(result.stderr, /custom\.jsonl:2:\d+: \/data\/a: expected a string, got number/);
  const bad = sift(['score', dataset, '--field-map', 'question=data.q']);
  assert.equal(bad.status, 2);
});
