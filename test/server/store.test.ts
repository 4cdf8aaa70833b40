/**
 * The language server's score store when it cannot be written: reported once, scoring goes on, and
 * every score is saved once the store can be written again (a failed write used to stop all later ones).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { examplesDir, tempDir } from '../helpers/paths';
import { TestClient } from './lspClient';

const stories = readFileSync(join(examplesDir, 'tinystories-instructions.jsonl'), 'utf8').trim().split('\n');
let client: TestClient;
const dir = tempDir('sift-server-store-');

before(async () => {
  client = await TestClient.start({ settings: { template: 'plain', metrics: ['ifd'], threads: 1 }, rootDir: dir });
});

after(async () => {
  await client.stop();
});

test('an unwritable store is reported once; scoring goes on; a later flush saves every score', async () => {
  const path = join(dir, 'stories.jsonl');
  const text = stories.slice(0, 3).join('\n') + '\n';
  writeFileSync(path, text);
  const store = join(dir, '.sift', 'scores.jsonl');
  const entries = (): string[] => (existsSync(store) ? readFileSync(store, 'utf8').split('\n').filter((l) => l.includes('"k"')) : []);
  const uri = await client.open(path, text);
  await client.waitScored(uri);
  await client.waitFor('the first scores to be saved', () => entries().length === 3);

  // A folder where the store file should be: no append can succeed, whoever runs the test (root included).
  rmSync(store);
  mkdirSync(store);
  const reports = (): number => client.logs.filter((l) => l.includes('cannot write the score store')).length;
  const scoredAgain = async (line: number, record: string): Promise<void> => {
    const before = client.statuses.length;
    await client.replaceLine(uri, line, record);
    await client.waitFor(`line ${line + 1} to be scored`, () => {
      const last = client.lastStatus(uri);
      return client.statuses.length > before && last && !last.running && last.scored === 3 ? last : undefined;
    });
  };
  await scoredAgain(1, stories[5]);
  await client.waitFor('the store failure to be reported', () => reports() > 0);
  await scoredAgain(2, stories[6]);
  // The second job's flush has failed too by now: its end is logged after the flush.
  await client.waitFor('the second job to end', () => client.logs.filter((l) => /job \d+ done/.test(l)).length >= 3);
  assert.equal(reports(), 1, 'reported once, not once per flush');

  rmSync(store, { recursive: true });
  await scoredAgain(0, stories[7]);
  // The two records scored while the store was unwritable are saved too, with the new one.
  await client.waitFor('every score to be saved', () => entries().length === 3, 60_000);
  const saved = entries().map((l) => (JSON.parse(l) as { k: string }).k);
  assert.equal(new Set(saved).size, 3);
  assert.ok(client.logs.some((l) => /score store .* written again/.test(l)));
});
