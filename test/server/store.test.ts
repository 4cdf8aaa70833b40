/**
 * The language server's score store when it cannot be written (another writer holds the database
 * past the busy timeout): reported once, scoring goes on, and every score is saved once the store can
 * be written again. And scores another process adds to an open dataset's store are shown without
 * the server scoring them.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, before, test } from 'node:test';
import { examplesDir, tempDir } from '../helpers/paths';
import { storeKeys, storeRows } from '../helpers/store';
import { TestClient } from './lspClient';

const stories = readFileSync(join(examplesDir, 'tinystories-instructions.jsonl'), 'utf8').trim().split('\n');
let client: TestClient;
const dir = tempDir('sift-server-store-');

before(async () => {
  // A short wait for another writer, so a held lock fails the server's writes quickly.
  process.env.SIFT_STORE_BUSY_TIMEOUT_MS = '100';
  try {
    client = await TestClient.start({ settings: { template: 'plain', metrics: ['ifd'], threads: 1 }, rootDir: dir });
  } finally {
    delete process.env.SIFT_STORE_BUSY_TIMEOUT_MS;
  }
});

after(async () => {
  await client.stop();
});

test('a store locked by another writer is reported once; scoring goes on; a later flush saves every score', async () => {
  const path = join(dir, 'stories.jsonl');
  const text = stories.slice(0, 3).join('\n') + '\n';
  writeFileSync(path, text);
  const store = join(dir, '.sift', 'sift.db');
  const uri = await client.open(path, text);
  await client.waitScored(uri);
  await client.waitFor('the first scores to be saved', () => storeRows(store) === 3);

  // Another writer holds the write lock: no write of the server's can succeed until it lets go.
  const locker = new DatabaseSync(store);
  locker.exec('BEGIN IMMEDIATE');
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

  locker.exec('COMMIT');
  locker.close();
  await scoredAgain(0, stories[7]);
  // The two records scored while the store was locked are saved too, with the new one.
  await client.waitFor('every score to be saved', () => storeRows(store) === 6, 60_000);
  assert.equal(new Set(storeKeys(store)).size, 6);
  assert.ok(client.logs.some((l) => /score store .* written again/.test(l)));
});
