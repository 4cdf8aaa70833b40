import assert from 'node:assert/strict';
import { copyFileSync, existsSync, linkSync, mkdirSync, readdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { sift } from '../helpers/cli';
import { examplesDir, tempDir } from '../helpers/paths';

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
    ['score', dataset, '--out', join(dir, '.sift', 'scores.jsonl')],
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
    ['filter', dataset, '--ifd-max', '1', '--out', join(dir, 'o.jsonl'), '--report', join(dir, 'missing', 'r.json')],
    ['reflect', dataset, '--out', join(dir, 'missing', 'o.jsonl'), '--teacher-model', 'm', '-y'],
  ]) {
    const result = sift(args);
    assert.equal(result.status, 2, `${args.join(' ')}: ${result.stderr}`);
    assert.match(result.stderr, /directory not found: .*missing/);
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
