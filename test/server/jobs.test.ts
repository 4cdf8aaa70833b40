/**
 * Background scoring through the real server: an edit while a job runs (a result for text that
 * changed is dropped, the new text is scored), re-scoring only what an edit changed, and $/progress
 * with cancellation from the progress indicator and from the cancel command.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import type { InlayHint, MarkupContent, WorkDoneProgressBegin } from 'vscode-languageserver-protocol';
import { Commands, DEFAULT_SETTINGS, SettingsChangedNotification } from '../../src/protocol';
import { cliPath, examplesDir, tempDir } from '../helpers/paths';
import { waitFor } from '../helpers/waitFor';
import { TestClient } from './lspClient';
import { storeRows } from '../helpers/store';

const run = promisify(execFile);
const stories = readFileSync(join(examplesDir, 'tinystories-instructions.jsonl'), 'utf8').trim().split('\n');

let client: TestClient;
const dir = tempDir('sift-server-jobs-');

before(async () => {
  client = await TestClient.start({ settings: { template: 'plain', metrics: ['ifd', 'rifd'], threads: 1 }, rootDir: dir });
});

after(async () => {
  await client.stop();
});

/** IFD and r-IFD of one record by `sift score`, in a folder of its own (nothing cached). */
async function cliLabel(record: string): Promise<string> {
  const own = tempDir('sift-server-cli-');
  const path = join(own, 'one.jsonl');
  writeFileSync(path, record + '\n');
  await run(process.execPath, [cliPath, 'score', path, '--out', join(own, 'out.jsonl'), '--template', 'plain', '--quiet', '--threads', '1']);
  const row = JSON.parse(readFileSync(join(own, 'out.jsonl'), 'utf8')) as { ifd: number; rifd: number };
  return `IFD ${row.ifd.toFixed(2)} · r-IFD ${row.rifd.toFixed(2)}`;
}

function beginOf(token: string | number): WorkDoneProgressBegin | undefined {
  return client.progress.find((p) => p.token === token && p.value.kind === 'begin')?.value as WorkDoneProgressBegin | undefined;
}

function ended(token: string | number): boolean {
  return client.progress.some((p) => p.token === token && p.value.kind === 'end');
}

/** Opens `records` as <folder>/stories.jsonl (a folder of its own: nothing stored) and waits for its scoring job to begin. */
async function openAndWaitForJob(folder: string, records: string[]): Promise<{ uri: string; token: string | number; begin: WorkDoneProgressBegin }> {
  const sub = join(dir, folder);
  mkdirSync(sub);
  const path = join(sub, 'stories.jsonl');
  const text = records.join('\n') + '\n';
  writeFileSync(path, text);
  const tokensBefore = client.progressTokens.length;
  const uri = await client.open(path, text);
  const token = await client.waitFor('the job to begin', () => client.progressTokens[tokensBefore]);
  const begin = await client.waitFor('progress begin', () => beginOf(token));
  return { uri, token, begin };
}

test('an edit while its record is being scored: the old result is dropped, the new text is scored', async () => {
  const original = JSON.parse(stories[0]) as { instruction: string; input: string; output: string };
  // The server loads the model when it starts: once it has, a job takes its first batch (line 0,
  // alone) as it begins. Line 0 is long (about 420 tokens, four sequences to evaluate), so it is still
  // being scored when the edit below arrives a few milliseconds after the job began.
  await client.waitFor('the model to be loaded', () => client.logs.some((l) => l.startsWith('scorer ready: ')));
  const long = JSON.stringify({ ...original, output: Array.from({ length: 7 }, () => original.output).join(' ') });
  const { uri } = await openAndWaitForJob('edit', [long, ...stories.slice(1, 6)]);
  // Line 0 is in the first batch, which is being scored right now: change its response.
  const changed = JSON.stringify({ ...original, output: 'Tim and Sue went to the park. They played with a red ball all day. Then they went home.' });
  const independent = cliLabel(changed);
  await client.replaceLine(uri, 0, changed);

  await client.waitFor('the result for the old text to arrive and be dropped', () =>
    client.logs.some((l) => l.includes('discarded a result') && l.includes(uri)),
  );
  const status = await client.waitScored(uri);
  assert.equal(status.total, 6);
  const hints = (await client.inlayHints(uri, 0, 6)) as InlayHint[];
  assert.equal(hints.length, 6);
  assert.equal(hints[0].label, await independent, 'line 0 shows the score of its new text');
  await client.close(uri);
});

const rescorePath = join(dir, 'rescore', 'stories.jsonl');
let rescoreUri: string;

test('after an edit only the changed record is scored again', async () => {
  mkdirSync(join(dir, 'rescore'));
  const text = stories.slice(0, 3).join('\n') + '\n';
  writeFileSync(rescorePath, text);
  const uri = (rescoreUri = await client.open(rescorePath, text));
  await client.waitScored(uri);
  const record = JSON.parse(stories[1]) as { output: string };
  const changed = JSON.stringify({ ...record, output: record.output + ' The end.' });
  const logsBefore = client.logs.length;
  await client.replaceLine(uri, 1, changed);
  await client.waitFor('a job for the edit', () => client.logs.slice(logsBefore).find((l) => /job \d+ \(score\) started/.test(l)));
  const started = client.logs.slice(logsBefore).filter((l) => /job \d+ \(score\) started/.test(l));
  assert.equal(started.length, 1);
  assert.match(started[0], /: 1 records to score$/);
  await client.waitScored(uri);
  // Undo: the old text is back and its score with it, straight from the store (no new job).
  const logsAfter = client.logs.length;
  await client.replaceLine(uri, 1, stories[1]);
  const hints = (await client.inlayHints(uri, 1, 1)) as InlayHint[];
  assert.match(String(hints[0].label), /^IFD \d\.\d\d · r-IFD \d\.\d\d$/);
  // A job for the undone text would be queued when typing pauses. Edit another record right away:
  // once that one is scored, every pause since the undo has passed, so the jobs started since
  // then are all there will be; a job for the undone text would show as a second job or as a
  // second record in the same job.
  const other = JSON.parse(stories[2]) as { output: string };
  await client.replaceLine(uri, 2, JSON.stringify({ ...other, output: other.output + ' The end.' }));
  await client.waitFor('a job for the other edit', () => client.logs.slice(logsAfter).find((l) => /job \d+ \(score\) started/.test(l)));
  await client.waitScored(uri);
  const startedAfter = client.logs.slice(logsAfter).filter((l) => /job \d+ \(score\) started/.test(l));
  assert.equal(startedAfter.length, 1, 'no job for a text the store knows');
  assert.match(startedAfter[0], /: 1 records to score$/, 'no job for a text the store knows');
});

test('$/progress: a cancellable job, cancelled from the progress indicator', async () => {
  const { uri, token, begin } = await openAndWaitForJob('cancel', stories.slice(6, 16));
  assert.equal(begin.cancellable, true);
  assert.equal(begin.title, 'Sift: scoring stories.jsonl');
  assert.equal(begin.message, '0 / 10 scored');
  await client.cancelProgress(token);
  await client.waitFor('progress end', () => ended(token), 15_000);
  const status = await client.waitFor('status after cancel', () => {
    const s = client.lastStatus(uri);
    return s && !s.running ? s : undefined;
  });
  assert.equal(status.total, 10);
  assert.ok(status.scored < 10, `cancelled before the end (${status.scored} scored)`);
  const hints = (await client.inlayHints(uri, 0, 10)) as InlayHint[];
  assert.ok(hints.every((h) => !String(h.label).includes('scoring')), 'no record still shows as being scored');
  // An unscored record has no hint (the list above may even be empty): its hover says whether it is queued.
  const hovers = await client.recordStates(uri, 10);
  assert.equal(hovers.length, 10);
  assert.equal(hovers.filter((h) => /scoring this record/.test(h)).length, 0, 'no record still shows as being scored');
  assert.equal(hovers.filter((h) => /not scored yet/.test(h)).length, 10 - status.scored);

  // Score file starts a new job for what is missing; the cancel command stops it.
  const tokensNow = client.progressTokens.length;
  const queued = await client.execute<{ queued: number }>(Commands.scoreFile, [uri]);
  assert.equal(queued.queued, 10 - status.scored);
  const second = await client.waitFor('the second job', () => client.progressTokens[tokensNow]);
  const reports = (await client.waitFor('its begin', () => beginOf(second))).message;
  assert.equal(reports, `0 / ${queued.queued} scored`);
  assert.deepEqual(await client.execute(Commands.cancel, [uri]), { cancelled: 1 });
  await client.waitFor('the second job to end', () => ended(second), 15_000);
  await client.close(uri);
});

test('DS weight from a valid set set in the settings: the same values as `sift score --valid`', async () => {
  const valid = join(examplesDir, 'tinystories-valid.jsonl');
  const own = tempDir('sift-server-cli-');
  writeFileSync(join(own, 'stories.jsonl'), client.text(rescoreUri));
  const cliRun = run(process.execPath, [cliPath, 'score', join(own, 'stories.jsonl'), '--out', join(own, 'out.jsonl'), '--metrics', 'ifd,rifd,ds', '--valid', valid, '--template', 'plain', '--quiet', '--threads', '1']);
  await client.connection.sendNotification(SettingsChangedNotification, {
    settings: { ...DEFAULT_SETTINGS, template: 'plain', threads: 1, metrics: ['ifd', 'rifd', 'ds'], dsValidSet: valid },
  });
  // The job can start and end between two status messages: wait for the hints themselves.
  let last: InlayHint[] = [];
  const hints = await waitFor(
    'DS values on the 3 records',
    async () => {
      last = ((await client.inlayHints(rescoreUri, 0, 3)) as InlayHint[]) ?? [];
      return last.length === 3 && last.every((h) => /· DS \d/.test(String(h.label))) ? last : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 100, detail: () => `no DS values: ${JSON.stringify(last.map((h) => h.label))}` },
  );
  await cliRun;
  const rows = readFileSync(join(own, 'out.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { ifd: number; rifd: number; ds: number });
  assert.deepEqual(
    hints.map((h) => h.label),
    rows.map((r) => `IFD ${r.ifd.toFixed(2)} · r-IFD ${r.rifd.toFixed(2)} · DS ${r.ds.toFixed(2)}`),
  );
  const hover = (await client.hover(rescoreUri, 0))!.contents as MarkupContent;
  assert.match(hover.value, new RegExp(`\\*\\*DS ${rows[0].ds.toFixed(4)}\\*\\*`));
  assert.match(hover.value, /L\(x,y\) = \d\.\d{4} \(ppl \d+\.\d{3}\) over \d+ tokens/);
});

test('clear scores empties the store beside the file; an auto-scored file is scored again', async () => {
  const store = join(dir, 'rescore', '.sift', 'sift.db');
  assert.ok(storeRows(store) > 0);
  assert.deepEqual(await client.execute(Commands.clearScores, [rescoreUri]), { cleared: 1 });
  assert.equal(storeRows(store), 0, 'the store was emptied');
  // Scored again (the store written) and shown again.
  await client.waitFor('the store to be written again', () => storeRows(store) > 0, 60_000);
  await client.waitScored(rescoreUri);
  const hints = (await client.inlayHints(rescoreUri, 0, 3)) as InlayHint[];
  assert.equal(hints.length, 3);
  assert.ok(hints.every((h) => /^IFD \d/.test(String(h.label))));
});
