/**
 * What the status items and their hover rows say about the endpoints' health
 * (src/client/endpointHealthModel.ts, and describeStatus for the main item): short, since VS Code
 * shows each language status item on one row of its hover.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { StatusParams } from '../../src/protocol';
import { describeEndpoints, shortReason } from '../../src/client/endpointHealthModel';
import { describeStatus } from '../../src/client/statusModel';

const downSince = new Date(2026, 11, 2, 8, 1, 12).getTime();
const now = downSince + 20_000;
const status = (over: Partial<StatusParams>): StatusParams => ({ scored: 17, total: 18, running: false, endpoint: 'http://gpu:8000', model: 'vllm:qwen', reachable: true, ...over });
const down = { url: 'http://gpu:8000', up: false, downSince, lastError: 'tokenize: gave up after 6 attempts; last error (connection) at http://gpu:8000: fetch failed: connect ECONNREFUSED 10.0.0.2:8000 (ECONNREFUSED)', nextProbeAt: now + 3_400 };

test('every endpoint down: the main item is an error with the records waiting; the endpoint row says which, since when, why and when it is tried again', () => {
  const s = status({ reachable: false, endpoints: [down], waiting: 1 });
  const view = describeStatus(s, 'running');
  assert.equal(view.text, 'Sift: endpoint unreachable');
  assert.equal(view.detail, '1 record waiting');
  assert.equal(view.severity, 'error');
  assert.equal(view.action, 'showLog');
  assert.deepEqual(describeEndpoints(s, now).item, { text: 'gpu:8000 down since 08:01:12', detail: 'ECONNREFUSED, retry in 4 s' });
  assert.equal(describeStatus(status({ reachable: false, endpoints: [down] }), 'running').detail, '17 / 18 scored');
});

test('one replica of two down: the count of replicas up, a warning, scoring goes on', () => {
  const endpoints = [{ url: 'http://gpu-a:8000', up: true }, { ...down, url: 'http://gpu-b:8000/v2', lastError: 'HTTP 503: loading' }];
  const s = status({ endpoint: 'http://gpu-a:8000, http://gpu-b:8000/v2', endpoints, running: true, scored: 5 });
  const view = describeStatus(s, 'running');
  assert.equal(view.text, '5 / 18 scored · 1 of 2 up');
  assert.equal(view.severity, 'warning');
  assert.equal(view.busy, true);
  assert.equal(view.action, 'cancel');
  assert.deepEqual(describeEndpoints(s, now).item, { text: 'gpu-b:8000/v2 down since 08:01:12', detail: 'HTTP 503, retry in 4 s' });
});

test('two of three replicas down: one row naming both, the earliest retry', () => {
  const endpoints = [{ url: 'http://a:1', up: true }, { ...down, url: 'http://b:1' }, { ...down, url: 'http://c:1', lastError: 'no complete response within 120000 ms', nextProbeAt: now + 900 }];
  assert.deepEqual(describeEndpoints({ endpoints }, now).item, { text: '2 of 3 replicas down', detail: 'b:1 (ECONNREFUSED), c:1 (timed out); retry in 1 s' });
});

test('every endpoint up: the usual status and no endpoint row', () => {
  const s = status({ endpoints: [{ url: 'http://gpu:8000', up: true }] });
  const view = describeStatus(s, 'running');
  assert.equal(view.text, '17 / 18 scored');
  assert.equal(view.severity, 'information');
  assert.equal(view.detail, 'http://gpu:8000 · vllm:qwen');
  assert.equal(describeEndpoints(s, now).item, undefined);
});

test('the gist of a failure', () => {
  assert.equal(shortReason('no complete response within 120000 ms'), 'timed out');
  assert.equal(shortReason('fetch failed: getaddrinfo ENOTFOUND gpu (ENOTFOUND)'), 'ENOTFOUND');
  assert.equal(shortReason('HTTP 429: rate limited'), 'HTTP 429');
  assert.equal(shortReason('socket hang up'), 'socket hang up');
});
