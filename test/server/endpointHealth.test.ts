/**
 * The scoring endpoint stops and comes back while a dataset is open, under a real LSP client: the
 * status says which endpoint is unreachable and how many records wait, the log warns (and does not
 * call the interrupted job "done"), and when the endpoint listens again the waiting records are
 * scored without any command. A record the server refuses (a 400) stays failed with its reason.
 * With two replicas, one going away leaves scoring running on the other.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { DocumentSymbolRequest, MessageType, type DocumentSymbol } from 'vscode-languageserver-protocol';
import { RecordRequest, type StatusParams } from '../../src/protocol';
import { WAITING_LABEL } from '../../src/server/presentation';
import { FakeVllm, toyDecode } from '../helpers/fake-vllm';
import { tempDir } from '../helpers/paths';
import { waitFor } from '../helpers/waitFor';
import { TestClient } from './lspClient';

const dir = tempDir('sift-server-health-');
const clients: TestClient[] = [];
const servers: FakeVllm[] = [];

after(async () => {
  for (const c of clients) await c.stop();
  for (const s of servers) await s.close();
});

const record = (output: string, i: number): string => JSON.stringify({ instruction: `Write story ${i}.`, input: '', output });

async function setUp(replicas: number, name: string): Promise<{ vllms: FakeVllm[]; client: TestClient; uri: string }> {
  // A prompt containing REFUSE gets vLLM's 400 for that prompt alone: a permanent error.
  const rejectIf = (ids: readonly number[]): string | undefined => (ids.map(toyDecode).join('').includes('REFUSE') ? 'This prompt is refused.' : undefined);
  const vllms = await Promise.all(Array.from({ length: replicas }, () => FakeVllm.start({ model: 'toy-model', rejectIf })));
  servers.push(...vllms);
  const client = await TestClient.start({ settings: { backend: 'vllm', endpointUrls: vllms.map((v) => v.url), template: 'plain', autoScoreOnOpen: true }, rootDir: dir });
  clients.push(client);
  const path = join(dir, `${name}.jsonl`);
  const text = ['Tim saw a dog.', 'Sue had a red ball.', 'The sun was hot.'].map(record).join('\n') + '\n';
  writeFileSync(path, text);
  const uri = await client.open(path, text);
  await client.waitScored(uri);
  return { vllms, client, uri };
}

const downOnes = (s: StatusParams | undefined): number => (s?.endpoints ?? []).filter((e) => !e.up).length;

test('the endpoint stops: the status and the log say so, records wait; it restarts: they are scored without a command', async () => {
  const { vllms, client, uri } = await setUp(1, 'restart');
  const [vllm] = vllms;
  await vllm.close();
  const logFrom = client.logEntries.length;
  await client.replaceLine(uri, 0, record('Tim saw a big dog.', 0));
  const down = await client.waitFor('a status with the endpoint unreachable and one record waiting', () => {
    const s = client.lastStatus(uri);
    return s && downOnes(s) === 1 && s.waiting === 1 && !s.running ? s : undefined;
  }, 90_000);
  assert.equal(down.reachable, false);
  const endpoint = down.endpoints![0];
  assert.equal(endpoint.url, vllm.url);
  assert.match(endpoint.lastError ?? '', /ECONNREFUSED/);
  assert.ok(endpoint.downSince !== undefined && endpoint.downSince <= Date.now());
  assert.ok(endpoint.nextProbeAt !== undefined);
  assert.equal(down.scored, 2);
  const warnings = (): string[] => client.logEntries.slice(logFrom).filter((e) => e.type === MessageType.Warning).map((e) => e.message);
  assert.ok(warnings().some((m) => m.includes(`endpoint ${vllm.url} is unreachable`)), warnings().join('\n'));
  const stopped = await client.waitFor('the job reported as stopped', () => warnings().find((m) => /job \d+ stopped: the endpoint is unreachable; 1 of 1 records wait/.test(m)));
  const jobId = /job (\d+)/.exec(stopped)![1];
  assert.ok(!client.logs.some((l) => l.startsWith(`job ${jobId} done`)), 'the interrupted job was logged as done');
  const [hover] = await client.recordStates(uri, 1);
  assert.match(hover, /waiting for the scoring endpoint/);
  // The line label, the record view and the outline say the same.
  assert.equal((await client.lineScores(uri, 0, 0)).scores[0]?.label, WAITING_LABEL);
  const view = (await client.connection.sendRequest(RecordRequest, { uri, line: 0 }))!;
  assert.equal(view.state, 'waiting');
  assert.ok(view.metrics.length > 0 && view.metrics.every((m) => m.value === null && m.bucket === -1), JSON.stringify(view.metrics));
  const symbols = (await client.connection.sendRequest(DocumentSymbolRequest.type, { textDocument: { uri } })) as DocumentSymbol[];
  assert.ok(symbols[0].name.startsWith(`${WAITING_LABEL} · `), symbols[0].name);

  // While it is down, another edit is set aside at once, without going through the retries.
  const completionsBefore = vllm.requestsTo('/tokenize').length;
  await client.replaceLine(uri, 1, record('Sue had a blue ball.', 1));
  await client.waitFor('two records waiting', () => client.lastStatus(uri)?.waiting === 2);
  assert.equal(vllm.requestsTo('/tokenize').length, completionsBefore);

  await vllm.restart();
  const back = await client.waitScored(uri, 90_000);
  assert.equal(back.scored, 3);
  assert.equal(back.waiting, undefined);
  assert.equal(downOnes(back), 0);
  assert.equal(back.reachable, true);
  assert.ok(vllm.requestsTo('/health').length > 0, 'the endpoint was probed');
  assert.ok(warnings().some((m) => m.includes(`endpoint ${vllm.url} answers again`)), warnings().join('\n'));
  for (const h of await client.recordStates(uri, 3)) assert.doesNotMatch(h, /waiting|could not be scored|not scored yet/);
});

test('the endpoint is down when the server starts: the records wait, and are scored once it listens', async () => {
  const vllm = await FakeVllm.start({ model: 'toy-model' });
  servers.push(vllm);
  await vllm.close();
  const client = await TestClient.start({ settings: { backend: 'vllm', endpointUrls: [vllm.url], template: 'plain', autoScoreOnOpen: true }, rootDir: dir });
  clients.push(client);
  const path = join(dir, 'cold.jsonl');
  const text = ['A cat sat.', 'A dog ran.'].map(record).join('\n') + '\n';
  writeFileSync(path, text);
  const uri = await client.open(path, text);
  const down = await client.waitFor('both records waiting for the unreachable endpoint', () => {
    const s = client.lastStatus(uri);
    return s && s.waiting === 2 && downOnes(s) === 1 ? s : undefined;
  }, 90_000);
  assert.equal(down.reachable, false);
  assert.ok(client.logEntries.some((e) => e.type === MessageType.Warning && e.message.includes(`endpoint ${vllm.url} is unreachable`)));
  await vllm.restart();
  const scored = await client.waitScored(uri, 90_000);
  assert.equal(scored.scored, 2);
  assert.equal(scored.reachable, true);
  assert.equal(scored.model, 'vllm:toy-model');
});

test('a record the server refuses (400) stays failed with the reason; it does not wait for the endpoint', async () => {
  const { client, uri } = await setUp(1, 'refused');
  await client.replaceLine(uri, 2, record('REFUSE this one.', 2));
  const failed = await waitFor('the refused record failed', async () => {
    const third = (await client.recordStates(uri, 3))[2] ?? '';
    return /could not be scored/.test(third) ? third : undefined;
  });
  assert.match(failed, /refused/);
  const status = client.lastStatus(uri);
  assert.equal(status?.waiting, undefined);
  assert.equal(downOnes(status), 0);
});

test('two replicas, one stops: the status shows one of two up and scoring goes on with the other', async () => {
  const { vllms, client, uri } = await setUp(2, 'replicas');
  const [, gone] = vllms;
  await gone.close();
  for (let round = 0; ; round++) {
    // Edits until one of them lands on the stopped replica (calls rotate over the replicas).
    const line = round % 3;
    await client.replaceLine(uri, line, record(`Edit number ${round}.`, line));
    await waitFor(`edit ${round} scored`, async () => /IFD/.test((await client.recordStates(uri, 3))[line] ?? ''), { timeoutMs: 30_000 });
    if (downOnes(client.lastStatus(uri)) === 1) break;
    assert.ok(round < 20, 'no call went to the stopped replica');
  }
  const status = await client.waitScored(uri);
  assert.equal(status.reachable, true);
  assert.equal(status.scored, 3);
  assert.deepEqual(status.endpoints!.map((e) => e.up), [true, false]);
  await gone.restart();
  await client.waitFor('both replicas up again', () => downOnes(client.lastStatus(uri)) === 0 && (client.lastStatus(uri)?.endpoints?.length ?? 0) === 2, 60_000);
});
