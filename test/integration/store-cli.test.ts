/**
 * `sift store export / import / merge`: deterministic sorted JSON lines, a lossless round trip, and
 * the merge of stores scored on disjoint shards equal to the store of the whole file.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { siftAsync } from '../helpers/cli';
import { FakeVllm } from '../helpers/fake-vllm';
import { examplesDir, tempDir } from '../helpers/paths';
import { storeRows } from '../helpers/store';

const stories = join(examplesDir, 'tinystories-instructions.jsonl');
const scoring = ['--template', 'plain', '--metrics', 'ifd,rifd', '--threads', '1', '-q'];

async function scoredStore(dir: string, extra: string[] = []): Promise<string> {
  mkdirSync(dir, { recursive: true });
  const dataset = join(dir, 'data.jsonl');
  copyFileSync(stories, dataset);
  const run = await siftAsync(['score', dataset, '--out', join(dir, 'out.jsonl'), ...scoring, ...extra]);
  assert.equal(run.status, 0, run.stderr);
  return join(dir, '.sift', 'sift.db');
}

async function exported(store: string): Promise<string> {
  const run = await siftAsync(['store', 'export', store]);
  assert.equal(run.status, 0, run.stderr);
  return run.stdout;
}

/** The export without the times of computation (two runs score at different times). */
function withoutTimes(text: string): string[] {
  return text.trim().split('\n').map((line) => {
    const { at: _at, ...rest } = JSON.parse(line) as Record<string, unknown>;
    return JSON.stringify(rest);
  });
}

test('export: sorted by key, deterministic, and a round trip through import gives the same bytes', async () => {
  const dir = tempDir();
  const store = await scoredStore(join(dir, 'whole'));
  const records = readFileSync(stories, 'utf8').trim().split('\n').length;
  const first = await exported(store);
  const second = await exported(join(dir, 'whole'));
  assert.equal(second, first, 'two exports (one through the folder) are byte-identical');
  const lines = first.trim().split('\n').map((l) => JSON.parse(l) as { type: string; k: string; v: unknown[]; model?: string; metric?: string; datasets?: string[] });
  assert.equal(lines.length, records * 2, 'one score per record and metric');
  assert.equal(lines.length, storeRows(store));
  const keys = lines.map((l) => l.k);
  assert.deepEqual(keys, [...keys].sort(), 'sorted by key');
  assert.ok(lines.every((l) => l.type === 'score' && l.datasets?.[0] === 'data.jsonl' && typeof l.model === 'string' && (l.metric === 'ifd' || l.metric === 'rifd')));

  const file = join(dir, 'scores.export.jsonl');
  const out = await siftAsync(['store', 'export', store, '--out', file]);
  assert.equal(out.status, 0, out.stderr);
  assert.equal(readFileSync(file, 'utf8'), first, '--out writes the same bytes');
  const imported = await siftAsync(['store', 'import', file, '--store', join(dir, 'copy.db')]);
  assert.equal(imported.status, 0, imported.stderr);
  assert.match(imported.stderr, new RegExp(`imported ${records * 2} score\\(s\\) and 0 reflection\\(s\\)`));
  assert.equal(await exported(join(dir, 'copy.db')), first, 'round trip');

  // The copy's scores are used by a run beside it: nothing is scored again.
  const reuse = join(dir, 'reuse');
  mkdirSync(join(reuse, '.sift'), { recursive: true });
  copyFileSync(join(dir, 'copy.db'), join(reuse, '.sift', 'sift.db'));
  copyFileSync(stories, join(reuse, 'data.jsonl'));
  const again = await siftAsync(['score', join(reuse, 'data.jsonl'), '--out', join(reuse, 'out.jsonl'), ...scoring.filter((a) => a !== '-q')]);
  assert.equal(again.status, 0, again.stderr);
  assert.match(again.stdout, new RegExp(`${records} of ${records} records scored`));
  assert.match(again.stdout, /from the score store/);
  assert.equal(readFileSync(join(reuse, 'out.jsonl'), 'utf8'), readFileSync(join(dir, 'whole', 'out.jsonl'), 'utf8'));
});

test('merge of two stores scored on disjoint shards equals the store of the whole file', async () => {
  // A scorer whose log-probs do not depend on how requests are batched (the local engine's last
  // bits do), so the shards' scores and the whole run's are the same numbers.
  const fake = await FakeVllm.start();
  const dir = tempDir();
  const whole = await scoredStore(join(dir, 'whole'), ['--url', fake.url]);
  const a = await scoredStore(join(dir, 'a'), ['--url', fake.url, '--shard', '0/2']);
  const b = await scoredStore(join(dir, 'b'), ['--url', fake.url, '--shard', '1/2']);
  await fake.close();
  const rowsA = storeRows(a);
  const rowsB = storeRows(b);
  assert.ok(rowsA > 0 && rowsB > 0, `both shards scored something (${rowsA}, ${rowsB})`);
  const merged = join(dir, 'merged.db');
  const run = await siftAsync(['store', 'merge', merged, a, b]);
  assert.equal(run.status, 0, run.stderr);
  assert.equal(storeRows(merged), rowsA + rowsB, 'no key in both shards');
  assert.deepEqual(withoutTimes(await exported(merged)), withoutTimes(await exported(whole)));
  // Merging again changes nothing.
  const before = await exported(merged);
  assert.equal((await siftAsync(['store', 'merge', merged, a, b])).status, 0);
  assert.equal(await exported(merged), before);
});

test('import names the line of a bad entry and imports nothing', async () => {
  const dir = tempDir();
  const file = join(dir, 'bad.jsonl');
  writeFileSync(file, '{"type":"score","k":"0123456789abcdef0123456789abcdef","v":[1,2],"t":0,"at":1}\n{"type":"score","k":"x"}\n');
  const run = await siftAsync(['store', 'import', file, '--store', join(dir, 'store.db')]);
  assert.equal(run.status, 2, run.stderr);
  assert.match(run.stderr, /bad\.jsonl:2: not a score entry.*nothing was imported/);
  assert.equal(storeRows(join(dir, 'store.db')), 0);
});
