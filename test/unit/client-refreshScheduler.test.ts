import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RefreshScheduler, type CancellationSourceLike, type Timers } from '../../src/client/refreshScheduler';

class FakeTimers implements Timers {
  private time = 0;
  private nextId = 1;
  private readonly pending = new Map<number, { at: number; callback: () => void }>();

  now(): number {
    return this.time;
  }
  setTimeout(callback: () => void, ms: number): unknown {
    const id = this.nextId++;
    this.pending.set(id, { at: this.time + ms, callback });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.pending.delete(handle as number);
  }
  /** Moves the clock, running due timers in order and letting promise callbacks settle. */
  async advance(ms: number): Promise<void> {
    const end = this.time + ms;
    for (;;) {
      const due = [...this.pending.entries()].filter(([, t]) => t.at <= end).sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      this.pending.delete(due[0]);
      this.time = due[1].at;
      due[1].callback();
      await settle();
    }
    this.time = end;
    await settle();
  }
}

async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}

interface Token {
  cancelled: boolean;
}

function source(): CancellationSourceLike<Token> {
  const token = { cancelled: false };
  return { token, cancel: () => (token.cancelled = true), dispose: () => undefined };
}

/** A run that records its calls and finishes when told to. */
function controllableRun() {
  const calls: { key: string; token: Token; finish: () => void }[] = [];
  const run = (key: string, token: Token) =>
    new Promise<void>((resolve) => {
      calls.push({ key, token, finish: resolve });
    });
  return { calls, run };
}

describe('RefreshScheduler', () => {
  it('runs a request with its own quiet delay (new scores: none), within the burst that is pending', async () => {
    const timers = new FakeTimers();
    const { calls, run } = controllableRun();
    const scheduler = new RefreshScheduler(run, source, { delayMs: 100, maxWaitMs: 400, timers });
    scheduler.schedule('a');
    await timers.advance(10);
    assert.equal(calls.length, 0);
    scheduler.schedule('a', { cancelRunning: false, delayMs: 0 });
    await timers.advance(0);
    assert.equal(calls.length, 1, 'the pending refresh ran at once');
    calls[0].finish();
    await timers.advance(200);
    assert.equal(calls.length, 1, 'and once only');
  });

  it('coalesces a burst into one run after the quiet delay', async () => {
    const timers = new FakeTimers();
    const { calls, run } = controllableRun();
    const scheduler = new RefreshScheduler(run, source, { delayMs: 100, maxWaitMs: 400, timers });
    scheduler.schedule('a');
    await timers.advance(50);
    scheduler.schedule('a');
    await timers.advance(50);
    scheduler.schedule('a');
    await timers.advance(99);
    assert.equal(calls.length, 0);
    await timers.advance(1);
    assert.equal(calls.length, 1);
  });

  it('runs at the latest maxWait after the first request of a steady stream', async () => {
    const timers = new FakeTimers();
    const { calls, run } = controllableRun();
    const scheduler = new RefreshScheduler(run, source, { delayMs: 100, maxWaitMs: 400, timers });
    for (let t = 0; t < 600; t += 50) {
      scheduler.schedule('a', { cancelRunning: false });
      await timers.advance(50);
    }
    assert.ok(calls.length >= 1, 'ran despite requests every 50 ms');
    assert.ok(calls.length <= 2);
  });

  it('keeps keys independent', async () => {
    const timers = new FakeTimers();
    const { calls, run } = controllableRun();
    const scheduler = new RefreshScheduler(run, source, { delayMs: 100, timers });
    scheduler.schedule('a');
    scheduler.schedule('b');
    await timers.advance(100);
    assert.deepEqual(calls.map((c) => c.key).sort(), ['a', 'b']);
  });

  it('cancels the running refresh on a scroll or edit and runs a fresh one', async () => {
    const timers = new FakeTimers();
    const { calls, run } = controllableRun();
    const scheduler = new RefreshScheduler(run, source, { delayMs: 100, timers });
    scheduler.schedule('a');
    await timers.advance(100);
    assert.equal(calls.length, 1);
    scheduler.schedule('a', { cancelRunning: true });
    assert.equal(calls[0].token.cancelled, true);
    await timers.advance(100);
    assert.equal(calls.length, 2);
    assert.equal(calls[1].token.cancelled, false);
  });

  it('lets a running refresh finish when new scores land, then runs once more', async () => {
    const timers = new FakeTimers();
    const { calls, run } = controllableRun();
    const scheduler = new RefreshScheduler(run, source, { delayMs: 100, timers });
    scheduler.schedule('a');
    await timers.advance(100);
    scheduler.schedule('a', { cancelRunning: false });
    scheduler.schedule('a', { cancelRunning: false });
    await timers.advance(300);
    assert.equal(calls.length, 1, 'no second run while the first is in flight');
    assert.equal(calls[0].token.cancelled, false);
    calls[0].finish();
    await settle();
    assert.equal(calls.length, 2, 'the requested refresh follows the first');
    calls[1].finish();
    await timers.advance(1000);
    assert.equal(calls.length, 2);
  });

  it('forget and dispose cancel pending and running work', async () => {
    const timers = new FakeTimers();
    const { calls, run } = controllableRun();
    const scheduler = new RefreshScheduler(run, source, { delayMs: 100, timers });
    scheduler.schedule('a');
    await timers.advance(100);
    scheduler.schedule('b');
    scheduler.forget('b');
    scheduler.dispose();
    assert.equal(calls[0].token.cancelled, true);
    scheduler.schedule('a');
    await timers.advance(1000);
    assert.equal(calls.length, 1);
    assert.deepEqual(scheduler.keys(), []);
  });

  it('reports a failing run and keeps working', async () => {
    const timers = new FakeTimers();
    const errors: unknown[] = [];
    let runs = 0;
    const scheduler = new RefreshScheduler<string, Token>(
      async () => {
        runs++;
        throw new Error('boom');
      },
      source,
      { delayMs: 10, timers, onError: (error) => errors.push(error) },
    );
    scheduler.schedule('a');
    await timers.advance(10);
    scheduler.schedule('a');
    await timers.advance(10);
    assert.equal(runs, 2);
    assert.equal(errors.length, 2);
  });
});
