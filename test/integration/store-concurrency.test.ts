/**
 * The store with real processes: two processes writing one store at once lose nothing; kill -9
 * during a scoring run loses at most the batch in flight, and the re-run scores only what is
 * missing (counted at a fake vLLM).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { STORE_FLUSH_DELAY_MS, STORE_FLUSH_ENTRIES } from '../../src/core/store/scoreStore';
import { siftAsync } from '../helpers/cli';
import { FakeVllm } from '../helpers/fake-vllm';
import { cliPath, repoRoot, tempDir } from '../helpers/paths';
import { storeKeys, storeRows } from '../helpers/store';
import { waitFor } from '../helpers/waitFor';

/** The compiled store module, for the writer processes. */
const storeModule = join(repoRoot, 'out', 'src', 'core', 'store', 'index.js');

/** A process that puts `count` entries with keys `prefix`0..count-1 (and `shared` keys both write), a few at a time, then closes. */
function writer(path: string, prefix: string, count: number, shared: number): Promise<{ code: number | null; stderr: string }> {
  const script = `
    const { ScoreStore } = require(${JSON.stringify(storeModule)});
    (async () => {
      const store = await ScoreStore.open(${JSON.stringify(path)}, { dataset: ${JSON.stringify(join(path, '..', '..', `${prefix}.jsonl`))} });
      for (let i = 0; i < ${count}; i++) {
        store.put('${prefix}' + i, { losses: [i, 1], truncated: false, at: i });
        if (i < ${shared}) store.put('shared' + i, { losses: [i, 2], truncated: false, at: i });
        // Yield now and then so both processes' batches interleave.
        if (i % 97 === 0) await new Promise((r) => setImmediate(r));
      }
      await store.close();
      if (store.unsaved !== 0) throw new Error(store.unsaved + ' unsaved: ' + store.writeError);
    })().catch((e) => { console.error(e); process.exit(1); });`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, stderr })));
}

test('two processes writing the same store at once lose no entry', async () => {
  const path = join(tempDir(), '.sift', 'sift.db');
  const count = 20_000;
  const shared = 500;
  const [a, b] = await Promise.all([writer(path, 'a', count, shared), writer(path, 'b', count, shared)]);
  assert.equal(a.code, 0, a.stderr);
  assert.equal(b.code, 0, b.stderr);
  const keys = storeKeys(path);
  assert.equal(keys.length, 2 * count + shared);
  const expected = [...Array.from({ length: count }, (_, i) => [`a${i}`, `b${i}`]).flat(), ...Array.from({ length: shared }, (_, i) => `shared${i}`)].sort();
  assert.deepEqual(keys, expected);
  // Each shared key is recorded for both datasets.
  assert.equal(storeRows(path, 'members'), 2 * count + 2 * shared);
});

/** Prompts the fake was asked to score. */
function prompts(fake: FakeVllm): number {
  return fake.requestsTo('/v1/completions').reduce((sum, r) => sum + ((r.body as { prompt: unknown[] }).prompt?.length ?? 0), 0);
}

test('kill -9 during a run loses at most the batch in flight; the re-run scores only what is missing', async () => {
  const records = 400;
  // Every record's texts distinct, so each needs the same number of prompts (none shared with another).
  const dir = tempDir();
  const dataset = join(dir, 'data.jsonl');
  writeFileSync(dataset, Array.from({ length: records }, (_, i) => JSON.stringify({ instruction: `Tell story number ${i}.`, input: '', output: `Once upon a time there was a cat called ${i}, and it ran ${i * 7} steps.` })).join('\n') + '\n');
  const store = join(dir, '.sift', 'sift.db');
  const args = ['--template', 'plain', '--metrics', 'ifd', '--threads', '1'];

  // How many prompts one record needs, from a run of the whole file without the store.
  const reference = await FakeVllm.start();
  const whole = await siftAsync(['score', dataset, '--url', reference.url, ...args, '--no-cache', '-q', '--out', join(dir, 'whole.jsonl')]);
  assert.equal(whole.status, 0, whole.stderr);
  const perRecord = prompts(reference) / records;
  assert.ok(Number.isInteger(perRecord) && perRecord > 0, `${prompts(reference)} prompts for ${records} records`);
  await reference.close();

  const slow = await FakeVllm.start({ latencyMs: 40 });
  const child = spawn(process.execPath, [cliPath, 'score', dataset, '--url', slow.url, ...args, '--out', join(dir, 'out.jsonl')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<[number | null, string | null]>((resolve) => child.once('exit', (code, signal) => resolve([code, signal])));
  // Snapshots of what the fake had been asked, to know what was answered well before the kill.
  const asked: { at: number; prompts: number }[] = [];
  await waitFor('some scores in the store, the run far from done', () => {
    asked.push({ at: Date.now(), prompts: prompts(slow) });
    const rows = storeRows(store);
    return rows > 0 && asked[asked.length - 1].at - asked[0].at > 2 * STORE_FLUSH_DELAY_MS ? rows : undefined;
  }, { timeoutMs: 60_000, intervalMs: 50 });
  child.kill('SIGKILL');
  const [code, signal] = await exited;
  assert.deepEqual([code, signal], [null, 'SIGKILL'], stderr);
  const killedAt = Date.now();
  const stored = storeRows(store);
  assert.ok(stored < records, `the run was stopped before the end (${stored} stored)`);
  // Prompts asked more than a flush delay (plus the fake's latency and a margin) before the kill were answered and put by then.
  const settled = asked.filter((s) => s.at <= killedAt - 2 * STORE_FLUSH_DELAY_MS).pop() ?? { prompts: 0 };
  const answeredRecords = Math.floor(settled.prompts / perRecord);
  assert.ok(stored >= answeredRecords - STORE_FLUSH_ENTRIES, `${stored} stored, ${answeredRecords} answered well before the kill: at most one batch lost`);
  await slow.close();

  const rerun = await FakeVllm.start();
  const again = await siftAsync(['score', dataset, '--url', rerun.url, ...args, '-q', '--out', join(dir, 'out.jsonl')]);
  assert.equal(again.status, 0, again.stderr);
  assert.equal(prompts(rerun), (records - stored) * perRecord, 'only the records missing from the store are scored');
  assert.equal(storeRows(store), records);
  assert.equal(readFileSync(join(dir, 'out.jsonl'), 'utf8'), readFileSync(join(dir, 'whole.jsonl'), 'utf8'), 'the same scores as one whole run');
  await rerun.close();
});
