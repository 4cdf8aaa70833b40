/**
 * What a freshly opened dataset scores first, through the real server: the records the editor says
 * are on screen (LineScoresParams.visible) before the others, the shortest of them first and alone
 * in its batch, so its label does not wait for a batch of longer records. Checked on the order of
 * events the server reports (its log line for a job's first record), never on durations.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Commands } from '../../src/protocol';
import { examplesDir, tempDir } from '../helpers/paths';
import { TestClient } from './lspClient';

const stories = readFileSync(join(examplesDir, 'tinystories-instructions.jsonl'), 'utf8').trim().split('\n');

let client: TestClient;
const dir = tempDir('sift-server-first-');

before(async () => {
  // Scored on request only, so that the editor has said what is on screen before the job is made.
  client = await TestClient.start({ settings: { template: 'plain', metrics: ['ifd', 'rifd'], autoScoreOnOpen: false, threads: 1 }, rootDir: dir });
});

after(async () => {
  await client.stop();
});

async function openFresh(folder: string, records: string[]): Promise<string> {
  mkdirSync(join(dir, folder));
  const path = join(dir, folder, 'stories.jsonl');
  const text = records.join('\n') + '\n';
  writeFileSync(path, text);
  return client.open(path, text);
}

/** The id of the score job started for `uri` in the server's log (after line `from` of it). */
async function jobStarted(on: TestClient, uri: string, from = 0): Promise<string> {
  const started = await on.waitFor('the job', () => on.logs.slice(from).find((l) => l.includes(`(score) started for ${uri}:`)));
  return /^job (\d+) /.exec(started)![1];
}

/** The line and batch size of job `id`'s first record scored, from the server's log. */
async function firstOfJob(on: TestClient, id: string): Promise<{ line: number; batch: number }> {
  const pattern = new RegExp(`^job ${id}: first record scored \\(line (\\d+), in a batch of (\\d+)\\)`);
  const line = await on.waitFor('the first record scored', () => on.logs.find((l) => pattern.test(l)));
  const [, first, batch] = pattern.exec(line)!;
  return { line: Number(first), batch: Number(batch) };
}

/** Scores the whole file and returns the line and batch size of the first record scored. */
async function firstScored(uri: string): Promise<{ line: number; batch: number }> {
  const logsBefore = client.logs.length;
  await client.execute(Commands.scoreFile, [uri]);
  const first = await firstOfJob(client, await jobStarted(client, uri, logsBefore));
  await client.waitScored(uri);
  return first;
}

test('the shortest record on screen is scored first, alone in its batch', async () => {
  const records = stories.slice(0, 12);
  const uri = await openFresh('screen', records);
  // The VS Code client asks for the screen plus a margin, and says which lines are on screen.
  const onScreen = { startLine: 4, endLine: 9 };
  await client.lineScores(uri, 0, 11, onScreen);
  // By hand: the shortest line among 4..9 (the first of them if two are as short).
  let shortest = onScreen.startLine;
  for (let i = onScreen.startLine; i <= onScreen.endLine; i++) if (records[i].length < records[shortest].length) shortest = i;
  const shortestOverall = records.reduce((best, r, i) => (r.length < records[best].length ? i : best), 0);
  assert.ok(shortest !== 0 && shortestOverall !== shortest, 'the fixture tells screen order from line order and from the whole file');
  assert.deepEqual(await firstScored(uri), { line: shortest, batch: 1 });
  await client.close(uri);
});

test('an editor that never says what is on screen gets line order, the first line alone in its batch', async () => {
  const records = stories.slice(0, 6);
  assert.ok(records.some((r) => r.length < records[0].length), 'the fixture tells line order from length order');
  const uri = await openFresh('lines', records);
  // Inlay hints (other editors) name a range, not a screen: no reordering by length.
  await client.inlayHints(uri, 0, 5);
  assert.deepEqual(await firstScored(uri), { line: 0, batch: 1 });
  await client.close(uri);
});

test('an editor that says what is on screen: a job made as the file opens waits for it, and the shortest record on screen goes first', async () => {
  // The wait is 300 ms in use; long here, so that the order does not depend on timing.
  process.env.SIFT_SCREEN_WAIT_MS = '120000';
  const folder = tempDir('sift-server-first-screen-');
  const editor = await TestClient.start({ settings: { template: 'plain', metrics: ['ifd', 'rifd'], autoScoreOnOpen: true, threads: 1 }, rootDir: folder, visibleLines: true });
  delete process.env.SIFT_SCREEN_WAIT_MS;
  try {
    const records = stories.slice(0, 12);
    const path = join(folder, 'stories.jsonl');
    const text = records.join('\n') + '\n';
    writeFileSync(path, text);
    const uri = await editor.open(path, text);
    // The job is made as the file opens (autoScoreOnOpen); the screen is said only after it started.
    const id = await jobStarted(editor, uri);
    const onScreen = { startLine: 4, endLine: 9 };
    let shortest = onScreen.startLine;
    for (let i = onScreen.startLine; i <= onScreen.endLine; i++) if (records[i].length < records[shortest].length) shortest = i;
    assert.notEqual(shortest, 0, 'the fixture tells screen order from line order');
    assert.equal(editor.logs.some((l) => l.startsWith(`job ${id}: first record scored`)), false, 'nothing was scored before the screen was said');
    await editor.lineScores(uri, 0, 11, onScreen);
    assert.deepEqual(await firstOfJob(editor, id), { line: shortest, batch: 1 });
    await editor.waitScored(uri);
  } finally {
    await editor.stop();
  }
});
