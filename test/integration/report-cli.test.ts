/**
 * `sift report FILE --html OUT`: one self-contained page (nothing to fetch, a policy that allows
 * only its own inline pieces) whose embedded overview agrees with `sift filter` on the same file.
 */
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { OverviewReportData } from '../../src/protocol/overviewView';
import { sift } from '../helpers/cli';
import { examplesDir, tempDir } from '../helpers/paths';

const FLAGS = ['--template', 'plain', '--threads', '1', '--quiet'];

test('the report is one self-contained page whose numbers are sift filter’s', () => {
  const dir = tempDir('sift-report-');
  const file = join(dir, 'stories.jsonl');
  copyFileSync(join(examplesDir, 'tinystories-instructions.jsonl'), file);
  const html = join(dir, 'report.html');
  const report = sift(['report', file, '--html', html, '--ifd-max', '1', '--top', '50%', ...FLAGS]);
  assert.equal(report.status, 0, report.stderr);
  const page = readFileSync(html, 'utf8');

  // Self-contained: no URL to fetch, no external script, style, image or frame.
  assert.doesNotMatch(page, /https?:\/\//i);
  assert.doesNotMatch(page, /<(script|img|iframe|link|source|embed|object)\b[^>]*\s(src|href|data)\s*=/i);
  assert.doesNotMatch(page, /url\(\s*['"]?(?!data:)/i);
  const csp = /<meta http-equiv="Content-Security-Policy" content="([^"]+)">/.exec(page)?.[1];
  assert.ok(csp?.includes("default-src 'none'") && /script-src 'sha256-[^']+'/.test(csp) && !csp.includes('unsafe'), `policy: ${csp}`);

  const data = JSON.parse(/<script type="application\/json" id="sift-report-data">([\s\S]*?)<\/script>/.exec(page)![1]) as OverviewReportData;
  const out = join(dir, 'kept.jsonl');
  const filter = sift(['filter', file, '--out', out, '--ifd-max', '1', '--top', '50%', '--cached-only', ...FLAGS]);
  assert.equal(filter.status, 0, filter.stderr);
  const keptLines = readFileSync(out, 'utf8').split('\n').filter(Boolean).length;
  assert.equal(data.result.counts.kept, keptLines);
  assert.equal(data.result.counts.records, readFileSync(file, 'utf8').split('\n').filter((l) => l.trim() !== '').length);
  assert.equal(data.command, `sift filter ${file} --ifd-max 1 --top 50% --out stories.selected.jsonl`);
  assert.deepEqual(data.rules, { ifdMax: 1, topFraction: 0.5 });
  assert.ok(data.result.histograms.some((h) => h.metric === 'ifd'));
});

test('the report refuses to write over its input', () => {
  const dir = tempDir('sift-report-');
  const file = join(dir, 'stories.jsonl');
  copyFileSync(join(examplesDir, 'tinystories-instructions.jsonl'), file);
  const before = readFileSync(file, 'utf8');
  const result = sift(['report', file, '--html', file, ...FLAGS]);
  assert.notEqual(result.status, 0);
  assert.match(result.stderr, /--html/);
  assert.equal(readFileSync(file, 'utf8'), before);
  assert.ok(!existsSync(join(dir, 'report.html')));
});
