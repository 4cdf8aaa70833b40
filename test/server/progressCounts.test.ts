/**
 * The counts the editor shows keep up with the colours (the status item once said "0 / 18 scored"
 * while the records already had theirs): stored scores that the lines on screen find count in the
 * status at once, and a job's $/progress counts each record as its result arrives, not a batch
 * (every record of a small file) later.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { WorkDoneProgressReport } from 'vscode-languageserver-protocol';
import { Commands } from '../../src/protocol';
import { FakeVllm } from '../helpers/fake-vllm';
import { examplesDir, tempDir } from '../helpers/paths';
import { TestClient } from './lspClient';

const dir = tempDir('sift-server-counts-');
const clients: TestClient[] = [];
const servers: FakeVllm[] = [];

after(async () => {
  for (const c of clients) await c.stop();
  for (const s of servers) await s.close();
});

const scoredLabels = (scores: { bucket: number }[]): number => scores.filter((s) => s.bucket >= 0).length;

test('stored scores the lines on screen find count in the status at once, also once the sweep is over', async () => {
  // Two datasets share the store of their folder. The copy is open (and swept: nothing stored yet)
  // before the original is scored, so only the copy's lines on screen can find those scores.
  const client = await TestClient.start({ settings: { template: 'plain', metrics: ['ifd'], threads: 1, autoScoreOnOpen: false }, rootDir: dir });
  clients.push(client);
  const folder = join(dir, 'shared-store');
  mkdirSync(folder);
  const stories = readFileSync(join(examplesDir, 'tinystories-instructions.jsonl'), 'utf8').trim().split('\n');
  const text = stories.slice(0, 3).join('\n') + '\n';
  writeFileSync(join(folder, 'original.jsonl'), text);
  writeFileSync(join(folder, 'copy.jsonl'), text);
  const copy = await client.open(join(folder, 'copy.jsonl'), text);
  await client.waitFor("the copy's sweep, with nothing stored", () => client.logs.find((l) => l.startsWith(`${copy}: stored scores`) && l.includes(', 0 found')));
  const original = await client.open(join(folder, 'original.jsonl'), text);
  await client.execute(Commands.scoreFile, [original]);
  await client.waitScored(original);
  // The copy's store connection may already have seen the original's writes (the server polls each
  // store's data_version: store-refresh.test.ts); either way the lines on screen find the scores and
  // the status counts them.

  const statusesBefore = client.statuses.length;
  const onScreen = await client.lineScores(copy, 0, 2);
  assert.equal(scoredLabels(onScreen.scores), 3, 'the lines on screen show the stored scores');
  const status = await client.waitFor('a status of the copy that counts them', () => client.statuses.slice(statusesBefore).find((s) => s.uri === copy && s.scored === 3));
  assert.equal(status.total, 3);
});

test('$/progress counts each record as its result arrives, in step with the labels, before the batch ends', async () => {
  // The endpoint's answers are held and let go one at a time; with one request in flight and
  // records long enough to be a request chunk each, the job's one batch delivers record by record.
  const held: (() => void)[] = [];
  const vllm = await FakeVllm.start({
    model: 'toy-model',
    maxModelLen: 32_768,
    hold: (path) => (path === '/v1/completions' ? new Promise<void>((resolve) => held.push(resolve)) : undefined),
  });
  servers.push(vllm);
  const client = await TestClient.start({
    settings: { backend: 'vllm', endpointUrls: [vllm.url], template: 'plain', metrics: ['ifd'], concurrency: 1, autoScoreOnOpen: true },
    rootDir: dir,
  });
  clients.push(client);
  const count = 4;
  // ~13k characters of response: a record's requests reach the 8192-token chunk on their own.
  const records = Array.from({ length: count }, (_, i) => JSON.stringify({ instruction: `Tell story ${i}.`, input: '', output: `Story ${i}: ${'The cat sat on the mat. '.repeat(540)}` }));
  const path = join(dir, 'long.jsonl');
  const text = records.join('\n') + '\n';
  writeFileSync(path, text);
  const uri = await client.open(path, text);
  const token = await client.waitFor('the job to begin', () => client.progressTokens[0]);
  const reports = (): WorkDoneProgressReport[] => client.progress.filter((p) => p.token === token && p.value.kind === 'report').map((p) => p.value as WorkDoneProgressReport);

  // Let answers through until a record is scored. The next request is then held: nothing moves.
  let release = await client.waitFor('a scoring request', () => held.shift());
  let labelled = 0;
  while (labelled === 0) {
    release();
    release = await client.waitFor('the next scoring request', () => held.shift());
    labelled = scoredLabels((await client.lineScores(uri, 0, count - 1)).scores);
  }
  assert.ok(labelled < count, 'some records are still being scored');
  assert.ok(!client.progress.some((p) => p.token === token && p.value.kind === 'end'), 'the job is still running');
  const last = reports().at(-1);
  assert.equal(last?.message, `${labelled} / ${count} scored`, 'the count is the number of records with a label');
  assert.equal(last?.percentage, Math.floor((100 * labelled) / count));

  release();
  await client.waitFor('every record scored', () => {
    held.shift()?.();
    const s = client.lastStatus(uri);
    return s && !s.running && s.scored === count ? s : undefined;
  });
  const counts = reports().map((r) => Number(/^(\d+) \//.exec(r.message ?? '')?.[1]));
  assert.deepEqual([...counts].sort((a, b) => a - b), counts, 'the count only rises');
  assert.equal(counts.at(-1), count);
});
