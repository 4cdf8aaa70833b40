/**
 * The pieces of the server that need no editor: incremental re-parsing (always equal to parsing the
 * whole text again) and the colour buckets.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { DocumentRecords } from '../../src/core/document/documentRecords';
import { parseDocument } from '../../src/core/dataset/parse';
import { bucketOf, SortedValues } from '../../src/server/presentation';
import { examplesDir } from '../helpers/paths';

function snapshot(records: DocumentRecords) {
  const out = [];
  for (let i = 0; i < records.lineCount; i++) {
    const r = records.line(i)!;
    out.push({ text: r.text, blank: r.blank, pair: r.pair, scorable: r.scorable, problems: r.problems.map((p) => [p.code, p.startColumn, p.endColumn, p.reason]) });
  }
  return { format: records.format.name, lines: out };
}

function expected(text: string) {
  const doc = parseDocument(text);
  return {
    format: doc.format.name,
    lines: doc.records.map((r) => ({
      text: r.text,
      blank: r.blank,
      pair: r.pair,
      scorable: !r.blank && r.pair !== undefined && /\S/.test(r.pair.response) && !r.problems.some((p) => p.severity === 'error'),
      problems: r.problems.map((p) => [p.code, p.startColumn, p.endColumn, p.reason]),
    })),
  };
}

/** Deterministic pseudo-random numbers. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const POOL = [
  ...readFileSync(join(examplesDir, 'malformed.jsonl'), 'utf8').trim().split('\n'),
  ...readFileSync(join(examplesDir, 'sharegpt-sample.jsonl'), 'utf8').trim().split('\n').slice(0, 3),
  '',
  '   ',
  '[1, 2]',
  '{"prompt": "p", "completion": "c"}',
  '{"instruction": "x", "output": "y"',
];
const EOLS = ['\n', '\r\n', '\r'];

test('incremental updates always equal a full parse (random edits, every line ending)', () => {
  const next = rng(7);
  const pick = <T>(xs: T[]): T => xs[Math.floor(next() * xs.length)];
  let lines = Array.from({ length: 12 }, () => pick(POOL));
  let text = lines.join('\n');
  const records = new DocumentRecords();
  records.reset(text);
  assert.deepEqual(snapshot(records), expected(text));
  for (let step = 0; step < 400; step++) {
    const at = Math.floor(next() * (lines.length + 1));
    const kind = next();
    if (kind < 0.4 && lines.length > 0) lines.splice(Math.min(at, lines.length - 1), 1 + Math.floor(next() * 3));
    else if (kind < 0.8) lines.splice(at, 0, ...Array.from({ length: 1 + Math.floor(next() * 3) }, () => pick(POOL)));
    else if (lines.length > 0) lines[Math.min(at, lines.length - 1)] = pick(POOL);
    // Now and then the whole file turns into another format, or gets a BOM.
    if (next() < 0.03) lines = Array.from({ length: 5 }, () => pick(POOL.slice(5, 8)));
    const eol = pick(EOLS);
    text = (next() < 0.1 ? '\uFEFF' : '') + lines.join(eol) + (next() < 0.5 ? eol : '');
    records.update(text);
    assert.deepEqual(snapshot(records), expected(text), `step ${step}`);
  }
});

test('a line moving to or from line 1 is read again ("a JSON array file" is only said of line 1)', () => {
  const records = new DocumentRecords();
  records.reset('[1]\n{"instruction": "a", "output": "b"}');
  assert.equal(records.line(0)!.problems[0].code, 'json-array-file');
  records.update('{"instruction": "a", "output": "b"}\n[1]\n{"instruction": "a", "output": "b"}');
  assert.equal(records.line(1)!.problems[0].code, 'not-an-object');
  records.update('[1]\n{"instruction": "a", "output": "b"}');
  assert.equal(records.line(0)!.problems[0].code, 'json-array-file');
});

test('the change reported is the smallest range of lines that differs', () => {
  const records = new DocumentRecords();
  records.reset('a\nb\nc\nd\n');
  assert.deepEqual(records.update('a\nb\nX\nY\nd\n'), { start: 2, removed: 1, inserted: 2, formatChanged: false });
  assert.deepEqual(records.update('a\nb\nX\nY\nd\n'), { start: 6, removed: 0, inserted: 0, formatChanged: false });
  assert.ok(records.hasText('X') && !records.hasText('c'));
});

test('buckets: IFD >= 1 is always the worst; below 1 a higher IFD is better (percentile and thresholds)', () => {
  const values = [0.2, 0.4, 0.6, 0.8, 0.95, 1.0, 1.3, 2];
  const file = new SortedValues(values);
  const settings = { colorBy: 'percentile' as const, ifdWarnAt: 1 };
  assert.deepEqual(values.map((v) => bucketOf(v, 'ifd', settings, file)), [3, 2, 1, 0, 0, 4, 4, 4]);
  const thresholds = { colorBy: 'thresholds' as const, ifdWarnAt: 1 };
  assert.deepEqual(values.map((v) => bucketOf(v, 'ifd', thresholds, undefined)), [3, 2, 1, 0, 0, 4, 4, 4]);
  assert.equal(bucketOf(null, 'ifd', settings, file), -2);
  // r-IFD and DS: lower is better.
  const rifd = new SortedValues([0.5, 0.7, 0.9, 0.95, 1.2]);
  assert.deepEqual([0.5, 0.7, 0.9, 0.95, 1.2].map((v) => bucketOf(v, 'rifd', settings, rifd)), [0, 1, 2, 3, 4]);
  const ds = new SortedValues([1, 1.1, 1.2, 1.5, 3]);
  assert.deepEqual([1, 1.1, 1.2, 1.5, 3].map((v) => bucketOf(v, 'ds', settings, ds)), [0, 1, 2, 3, 4]);
});

test('SortedValues ranks like percentileRank (weak: the share of values <= v)', () => {
  const file = new SortedValues([3, 1, 2, 2, NaN].filter(Number.isFinite));
  assert.equal(file.percentile(2), 75);
  assert.equal(file.percentile(3), 100);
  assert.equal(file.percentile(0.5), 0);
  assert.ok(Number.isNaN(file.percentile(NaN)));
});
