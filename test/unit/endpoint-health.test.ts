/**
 * The endpoint health state machine (src/core/net/health.ts) on a hand-driven clock: a transient
 * failure marks a replica down and schedules a probe; failed probes back off 1, 2, 4 ... s up to the
 * cap; a probe that answers brings the replica up; only a real call resets the back-off.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EndpointHealth, type HealthChange, type HealthClock } from '../../src/core/net/health';
import { HttpEndpointPool } from '../../src/core/scoring/http/pool';
import { FakeVllm } from '../helpers/fake-vllm';
import { waitFor } from '../helpers/waitFor';

class ManualClock implements HealthClock {
  t = 1_000_000;
  private timers = new Map<number, { at: number; run: () => void }>();
  private next = 1;
  now(): number {
    return this.t;
  }
  setTimeout(run: () => void, ms: number): unknown {
    const id = this.next++;
    this.timers.set(id, { at: this.t + ms, run });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.timers.delete(handle as number);
  }
  get pending(): number[] {
    return [...this.timers.values()].map((x) => x.at - this.t);
  }
  /** Runs the timers due within `ms`, in order, and lets their probes settle. */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    for (;;) {
      const due = [...this.timers.entries()].filter(([, x]) => x.at <= end).sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      this.timers.delete(due[0]);
      this.t = due[1].at;
      due[1].run();
      for (let i = 0; i < 10; i++) await Promise.resolve();
    }
    this.t = end;
  }
}

function setUp(answers: (string | undefined)[]): { health: EndpointHealth; clock: ManualClock; probes: number[]; changes: HealthChange[] } {
  const clock = new ManualClock();
  const probes: number[] = [];
  const health = new EndpointHealth(['http://a:8000', 'http://b:8000'], async (i) => {
    probes.push(i);
    return answers.shift();
  }, { baseMs: 1000, capMs: 5000, clock });
  const changes: HealthChange[] = [];
  health.onChange((c) => changes.push(c));
  return { health, clock, probes, changes };
}

test('a failure marks the replica down with since, reason and next probe; the other stays up', () => {
  const { health, clock, changes } = setUp([]);
  assert.equal(health.upCount, 2);
  health.reportFailure(1, 'connect ECONNREFUSED');
  assert.equal(health.upCount, 1);
  assert.deepEqual(health.states()[1], { url: 'http://b:8000', up: false, downSince: clock.t, lastError: 'connect ECONNREFUSED', nextProbeAt: clock.t + 1000 });
  assert.deepEqual(health.states()[0], { url: 'http://a:8000', up: true });
  assert.equal(changes.length, 1);
  assert.equal(changes[0].flipped, true);
  // A second failure while down only updates the reason: no new change, no second probe timer.
  health.reportFailure(1, 'timed out');
  assert.equal(changes.length, 1);
  assert.equal(health.states()[1].lastError, 'timed out');
  assert.deepEqual(clock.pending, [1000]);
});

test('failed probes back off 1, 2, 4 s up to the cap (5 s); the probe that answers brings it up', async () => {
  const { health, clock, probes, changes } = setUp(['ECONNREFUSED', 'ECONNREFUSED', 'HTTP 503: loading', 'ECONNREFUSED', undefined]);
  const since = clock.t;
  health.reportFailure(0, 'ECONNREFUSED');
  const delays: number[] = [];
  for (let i = 0; i < 4; i++) {
    const [delay] = clock.pending;
    delays.push(delay);
    await clock.advance(delay);
  }
  assert.deepEqual(delays, [1000, 2000, 4000, 5000]);
  assert.equal(probes.length, 4);
  assert.equal(health.states()[0].downSince, since);
  assert.equal(health.states()[0].lastError, 'ECONNREFUSED');
  assert.ok(changes.slice(1).every((c) => !c.flipped), 'failed probes are not flips');
  await clock.advance(clock.pending[0]);
  assert.equal(probes.length, 5);
  assert.deepEqual(health.states()[0], { url: 'http://a:8000', up: true });
  assert.equal(changes.at(-1)!.flipped, true);
  assert.deepEqual(clock.pending, []);
  // Down again without a real success in between: probing resumes at the level it reached.
  health.reportFailure(0, 'ECONNREFUSED');
  assert.deepEqual(clock.pending, [5000]);
});

test('a real call that succeeds brings the replica up at once and resets the back-off', async () => {
  const { health, clock, probes } = setUp(['ECONNREFUSED']);
  health.reportFailure(0, 'ECONNREFUSED');
  await clock.advance(1000);
  assert.deepEqual(clock.pending, [2000]);
  health.reportSuccess(0);
  assert.equal(health.isUp(0), true);
  assert.deepEqual(clock.pending, [], 'the probe timer was cancelled');
  health.reportFailure(0, 'ECONNREFUSED');
  assert.deepEqual(clock.pending, [1000]);
  assert.equal(probes.length, 1);
});

test('close stops probing and reporting', async () => {
  const { health, clock, probes, changes } = setUp([]);
  health.reportFailure(0, 'x');
  health.close();
  assert.deepEqual(clock.pending, []);
  health.reportFailure(1, 'y');
  await clock.advance(10_000);
  assert.equal(probes.length, 0);
  assert.equal(changes.length, 1);
});

test('the pool: a refused connection marks the replica down; the probe asks /health once it listens again, and brings it up', async () => {
  const vllm = await FakeVllm.start();
  await vllm.close();
  const pool = new HttpEndpointPool({ urls: [vllm.url], retries: 1, backoffBaseMs: 1, probeBaseMs: 20, probeCapMs: 50 });
  try {
    const changes: HealthChange[] = [];
    pool.health.onChange((c) => changes.push(c));
    await assert.rejects(pool.request({ method: 'GET', path: '/v1/models', parse: (b) => b, what: 'list models' }), /gave up after 2 attempts/);
    const [state] = pool.health.states();
    assert.equal(state.up, false);
    assert.match(state.lastError ?? '', /ECONNREFUSED/);
    await waitFor('a failed probe', () => changes.some((c) => !c.flipped));
    await vllm.restart();
    await waitFor('the replica up again', () => pool.health.isUp(0));
    assert.ok(vllm.requestsTo('/health').length >= 1);
    assert.deepEqual(changes.map((c) => c.flipped && c.state.up).filter(Boolean), [true]);
  } finally {
    pool.close();
    await vllm.close();
  }
});

test('the pool: a 503 retried away leaves the replica up; a call that gives up on 503s marks it down until a probe answers', async () => {
  const vllm = await FakeVllm.start();
  const pool = new HttpEndpointPool({ urls: [vllm.url], retries: 1, backoffBaseMs: 1, probeBaseMs: 20, probeCapMs: 50 });
  const listModels = { method: 'GET' as const, path: '/v1/models', parse: (b: unknown) => b, what: 'list models' };
  try {
    vllm.inject('/v1/models', { kind: 'status', status: 503 }, 1);
    await pool.request(listModels);
    assert.equal(pool.health.isUp(0), true, 'one 503 that a retry got past is not an outage');
    vllm.inject('/v1/models', { kind: 'status', status: 503 }, 2);
    await assert.rejects(pool.request(listModels), /gave up after 2 attempts/);
    const [state] = pool.health.states();
    assert.equal(state.up, false);
    assert.match(state.lastError ?? '', /^HTTP 503: /);
    await waitFor('the probe to bring it up', () => pool.health.isUp(0));
    assert.ok(vllm.requestsTo('/health').length >= 1);
  } finally {
    pool.close();
    await vllm.close();
  }
});
