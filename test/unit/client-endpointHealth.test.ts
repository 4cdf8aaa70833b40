/** What the status item and its hover say about the endpoints' health (src/client/endpointHealthModel.ts via describeStatus). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { StatusParams } from '../../src/protocol';
import { describeStatus } from '../../src/client/statusModel';

const downSince = new Date(2026, 11, 2, 8, 1, 12).getTime();
const now = downSince + 20_000;
const status = (over: Partial<StatusParams>): StatusParams => ({ scored: 17, total: 18, running: false, endpoint: 'http://gpu:8000', model: 'vllm:qwen', reachable: true, ...over });
const down = { url: 'http://gpu:8000', up: false, downSince, lastError: 'connect ECONNREFUSED 10.0.0.2:8000', nextProbeAt: now + 3_400 };

test('every endpoint down: an error naming it, since when, why, when it is tried again, and the records waiting', () => {
  const view = describeStatus(status({ reachable: false, endpoints: [down], waiting: 1 }), 'running', now);
  assert.equal(view.text, 'Sift: endpoint unreachable · 17 / 18 scored');
  assert.equal(view.severity, 'error');
  assert.equal(view.action, 'showLog');
  assert.equal(
    view.detail,
    'http://gpu:8000 · vllm:qwen — http://gpu:8000 unreachable since 08:01:12 (connect ECONNREFUSED 10.0.0.2:8000); retrying in 4 s — 1 record waiting for the endpoint: scored as soon as it answers',
  );
});

test('one replica of two down: the count of replicas up, a warning, scoring goes on', () => {
  const endpoints = [{ url: 'http://gpu-a:8000', up: true }, { ...down, url: 'http://gpu-b:8000' }];
  const view = describeStatus(status({ endpoint: 'http://gpu-a:8000, http://gpu-b:8000', endpoints, running: true, scored: 5 }), 'running', now);
  assert.equal(view.text, '5 / 18 scored · 1 of 2 replicas up');
  assert.equal(view.severity, 'warning');
  assert.equal(view.busy, true);
  assert.equal(view.action, 'cancel');
  assert.match(view.detail, /http:\/\/gpu-b:8000 unreachable since 08:01:12/);
});

test('every endpoint up: the usual status, nothing about health', () => {
  const view = describeStatus(status({ endpoints: [{ url: 'http://gpu:8000', up: true }] }), 'running', now);
  assert.equal(view.text, '17 / 18 scored');
  assert.equal(view.severity, 'information');
  assert.equal(view.detail, 'http://gpu:8000 · vllm:qwen');
});
