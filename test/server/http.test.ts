/**
 * The server scoring through an HTTP endpoint (a fake vLLM in vLLM's exact shapes): the API key from
 * initializationOptions reaches the endpoint and nothing else (no log line, no message), and an
 * endpoint that is down is reported in the status instead of breaking anything.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { InlayHint } from 'vscode-languageserver-protocol';
import { Commands, DEFAULT_SETTINGS, SettingsChangedNotification } from '../../src/protocol';
import { FakeVllm } from '../helpers/fake-vllm';
import { tempDir } from '../helpers/paths';
import { TestClient } from './lspClient';

const KEY = 'sk-sift-test-7f3a9c2e51d04b8a';
const dir = tempDir('sift-server-http-');
let vllm: FakeVllm;
let client: TestClient;

before(async () => {
  vllm = await FakeVllm.start({ apiKey: KEY, model: 'toy-model' });
  client = await TestClient.start({ settings: { backend: 'vllm', endpointUrls: [vllm.url], template: 'plain' }, apiKey: KEY, rootDir: dir });
});

after(async () => {
  await client.stop();
  await vllm.close();
});

const records = ['Tim saw a dog.', 'Sue had a red ball.', 'The sun was hot.'].map((output, i) =>
  JSON.stringify({ instruction: `Write story ${i}.`, input: '', output }),
);

test('scores through the endpoint with the key; the key appears in no log or message', async () => {
  const path = join(dir, 'remote.jsonl');
  const text = records.join('\n') + '\n';
  writeFileSync(path, text);
  const uri = await client.open(path, text);
  const status = await client.waitScored(uri);
  assert.equal(status.model, 'vllm:toy-model');
  assert.equal(status.endpoint, vllm.url);
  assert.equal(status.reachable, true);
  const hints = (await client.inlayHints(uri, 0, 3)) as InlayHint[];
  assert.equal(hints.length, 3);
  for (const h of hints) assert.match(String(h.label), /^IFD \d+\.\d\d · r-IFD \d+\.\d\d$/);
  const scoring = vllm.requestsTo('/v1/completions');
  assert.ok(scoring.length > 0);
  for (const r of scoring) assert.equal(r.headers.authorization, `Bearer ${KEY}`);
  const everything = [...client.logs, ...client.messages, client.stderr, JSON.stringify(client.statuses)].join('\n');
  assert.ok(!everything.includes(KEY), 'the API key leaked into the output');
  assert.match(client.logs.join('\n'), /an API key is set/);
});

test('endpoint URLs are logged without credentials or query strings', async () => {
  const before = client.logs.length;
  const secretUrl = `${vllm.url.replace('http://', 'http://me:hunter22@')}/?api_key=sk-query-secret`;
  await client.connection.sendNotification(SettingsChangedNotification, {
    settings: { ...DEFAULT_SETTINGS, backend: 'vllm', endpointUrls: [secretUrl], template: 'plain' },
    scorerApiKey: KEY,
  });
  const logged = await client.waitFor('the settings change in the log', () => client.logs.slice(before).find((line) => line.includes('settings changed')), 30_000);
  assert.ok(logged.includes(vllm.url.replace('http://', '')), logged);
  const everything = client.logs.slice(before).join('\n');
  assert.doesNotMatch(everything, /hunter22|sk-query-secret/);
});

test('an endpoint that is down: reachable false with the reason; nothing shows as scoring forever', async () => {
  const closed = await FakeVllm.start();
  const deadUrl = closed.url;
  await closed.close();
  await client.connection.sendNotification(SettingsChangedNotification, {
    settings: { ...DEFAULT_SETTINGS, backend: 'vllm', endpointUrls: [deadUrl], template: 'plain' },
    scorerApiKey: KEY,
  });
  const path = join(dir, 'other.jsonl');
  const text = records.map((r) => r.replace('story', 'tale')).join('\n') + '\n';
  writeFileSync(path, text);
  const uri = await client.open(path, text);
  const status = await client.waitFor('an unreachable status', () => {
    const s = client.lastStatus(uri);
    return s && s.reachable === false ? s : undefined;
  }, 60_000);
  assert.match(status.message ?? '', /scorer is unavailable/);
  // The records wait for the endpoint (it is probed; they are scored when it answers): no hint says
  // "scoring", and each record's hover says what it is waiting for.
  const hints = (await client.inlayHints(uri, 0, 3)) as InlayHint[];
  assert.ok(hints.every((h) => !String(h.label).includes('scoring')), JSON.stringify(hints.map((h) => h.label)));
  await client.waitFor('three records waiting', () => client.lastStatus(uri)?.waiting === 3);
  const hovers = await client.recordStates(uri, records.length);
  assert.equal(hovers.length, 3);
  for (const hover of hovers) assert.match(hover, /waiting for the scoring endpoint/);
  // Back to the working endpoint: Score file tries again and succeeds.
  await client.connection.sendNotification(SettingsChangedNotification, {
    settings: { ...DEFAULT_SETTINGS, backend: 'vllm', endpointUrls: [vllm.url], template: 'plain' },
    scorerApiKey: KEY,
  });
  await client.execute(Commands.scoreFile, [uri]);
  await client.waitScored(uri);
  assert.ok(!client.exited);
});

test('sift.concurrency, when set, fixes the requests in flight to each endpoint, also above the adaptive start of 4', async () => {
  const slow = await FakeVllm.start({ apiKey: KEY, model: 'toy-model', latencyMs: 25 });
  try {
    for (const concurrency of [1, 8]) {
      await client.connection.sendNotification(SettingsChangedNotification, {
        settings: { ...DEFAULT_SETTINGS, backend: 'vllm', endpointUrls: [slow.url], template: 'plain', concurrency },
        scorerApiKey: KEY,
      });
      slow.maxInFlightOn.clear();
      const path = join(dir, `concurrency-${concurrency}.jsonl`);
      const lines = Array.from({ length: 24 }, (_, i) => JSON.stringify({ instruction: `Write line ${i} of ${concurrency}.`, input: '', output: `Line ${i} is here.` }));
      const text = lines.join('\n') + '\n';
      writeFileSync(path, text);
      const uri = await client.open(path, text);
      await client.waitScored(uri);
      // Tokenize calls have their own limit (the pool's light lane), apart from sift.concurrency.
      const most = slow.maxInFlightOn.get('/v1/completions') ?? 0;
      assert.ok(most >= 1 && most <= concurrency, `${most} scoring requests in flight with sift.concurrency = ${concurrency}`);
      if (concurrency === 1) assert.equal(most, 1);
    }
  } finally {
    await slow.close();
  }
});
