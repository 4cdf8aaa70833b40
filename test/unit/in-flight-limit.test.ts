/**
 * The per-replica in-flight limit (core/scoring/http/inFlightLimit.ts) against a simulated replica:
 * a FIFO prefill engine of a given speed behind a network round trip, simulated in virtual time
 * (no clock, no sleep), with a client that always has more work. What a replica can do at most is
 * known in closed form (busy all the time), so the fraction of its capacity used is checked, as is
 * what a fixed limit of 4 would get on the same replica (the case the adaptive limit exists for).
 * Then the admission: a replica takes calls by the share of its own limit in use.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FixedLimit, VegasLimit, ADAPTIVE_IN_FLIGHT, CHUNKS_AHEAD_PER_REPLICA, chunksInFlight, inFlightLimits, type InFlightLimit } from '../../src/core/scoring/http/inFlightLimit';
import { ReplicaAdmission } from '../../src/core/scoring/http/replicas';

interface Replica {
  /** Tokens the engine works through per ms. */
  tokensPerMs: number;
  /** Network round trip. */
  rttMs: number;
}

/**
 * `requests` requests of `cost` tokens each through one replica under `limit`; returns the fraction
 * of the second half's time the engine was busy, and the limit at the end.
 */
function simulate(replica: Replica, limit: InFlightLimit, { requests = 2000, cost = 1000, appLimit = Infinity } = {}): { utilisation: number; limit: number } {
  const work = cost / replica.tokensPerMs;
  let now = 0;
  let engineFreeAt = 0;
  const inFlight: { sentAt: number; doneAt: number; inFlight: number; work: number }[] = [];
  let sent = 0;
  let busyFrom = Infinity;
  let busy = 0;
  let finished = 0;
  while (finished < requests) {
    while (sent < requests && inFlight.length < Math.min(limit.current, appLimit)) {
      const start = Math.max(now + replica.rttMs / 2, engineFreeAt);
      engineFreeAt = start + work;
      inFlight.push({ sentAt: now, doneAt: engineFreeAt + replica.rttMs / 2, inFlight: inFlight.length + 1, work });
      sent++;
    }
    inFlight.sort((a, b) => a.doneAt - b.doneAt);
    const done = inFlight.shift()!;
    now = done.doneAt;
    finished++;
    if (finished === requests / 2) busyFrom = now;
    else if (finished > requests / 2) busy += done.work;
    limit.observe({ ms: now - done.sentAt, cost, inFlight: done.inFlight });
  }
  return { utilisation: busy / (now - busyFrom), limit: limit.current };
}

describe('in-flight limit per replica', () => {
  it('fills a replica whose round trip a fixed limit of 4 cannot cover, and stops growing once requests only queue', () => {
    // One request: 1 ms of engine time, 10 ms of network: 11 in flight keep the engine busy.
    const far: Replica = { tokensPerMs: 1000, rttMs: 10 };
    const fixed = simulate(far, new FixedLimit(4));
    assert.ok(Math.abs(fixed.utilisation - 4 / 11) < 0.02, `a fixed 4 uses ${fixed.utilisation} (4/11 expected)`);
    const adaptive = simulate(far, new VegasLimit());
    assert.ok(adaptive.utilisation > 0.97, `adaptive: utilisation ${adaptive.utilisation}`);
    assert.ok(adaptive.limit >= 11 && adaptive.limit <= 11 + 10, `adaptive: limit ${adaptive.limit} (11 needed, a few queued at most)`);
  });

  it('keeps replicas of different speeds each full, the faster with the higher limit', () => {
    const slow = simulate({ tokensPerMs: 500, rttMs: 10 }, new VegasLimit());
    const fast = simulate({ tokensPerMs: 1500, rttMs: 10 }, new VegasLimit());
    assert.ok(slow.utilisation > 0.97 && fast.utilisation > 0.97, `utilisation ${slow.utilisation} and ${fast.utilisation}`);
    assert.ok(fast.limit > slow.limit, `limits ${slow.limit} (slow) and ${fast.limit} (fast)`);
  });

  it('stays low on a replica with no round trip to cover: one request at work, a few waiting', () => {
    const near = simulate({ tokensPerMs: 1000, rttMs: 0 }, new VegasLimit());
    assert.ok(near.utilisation > 0.99, `utilisation ${near.utilisation}`);
    assert.ok(near.limit <= 6, `limit ${near.limit}`);
  });

  it('does not grow while the client, not the limit, holds requests back', () => {
    const limit = new VegasLimit();
    simulate({ tokensPerMs: 1000, rttMs: 10 }, limit, { appLimit: 2 });
    assert.equal(limit.current, ADAPTIVE_IN_FLIGHT.initial);
  });

  it('halves on an overload answer, never below its floor; a fixed limit never moves', () => {
    const limit = new VegasLimit();
    simulate({ tokensPerMs: 1000, rttMs: 10 }, limit, { requests: 400 });
    const before = limit.current;
    limit.overloaded();
    assert.equal(limit.current, Math.max(ADAPTIVE_IN_FLIGHT.min, Math.floor(before / 2)));
    for (let i = 0; i < 10; i++) limit.overloaded();
    assert.equal(limit.current, ADAPTIVE_IN_FLIGHT.min);
    const fixed: InFlightLimit = new FixedLimit(3);
    fixed.overloaded();
    fixed.observe({ ms: 1, cost: 1, inFlight: 3 });
    assert.equal(fixed.current, 3);
    assert.deepEqual(
      inFlightLimits(2, 0).map((l) => l instanceof VegasLimit),
      [true, true],
    );
    assert.deepEqual(
      inFlightLimits(2, 5).map((l) => l.current),
      [5, 5],
    );
  });

  it('a scoring run keeps chunks in flight for the limit of each replica now, or the fixed one', () => {
    // With concurrency 0 (adaptive) the run once kept max(1, 0 * urls) = 1 chunk in flight (the
    // fleet bench's single replica reached 0.86 of its capacity); then 64 per replica, which doubled
    // the client's memory while the limits stayed at 4.
    assert.equal(chunksInFlight(3, 2, undefined), 6);
    assert.equal(chunksInFlight(5, 0, undefined), 5);
    assert.equal(chunksInFlight(0, 2, undefined), 2 * (ADAPTIVE_IN_FLIGHT.initial + CHUNKS_AHEAD_PER_REPLICA));
    let limits = [{ limit: 4 }, { limit: 4 }];
    const chunks = chunksInFlight(0, 2, () => limits);
    assert.equal(typeof chunks, 'function');
    const now = chunks as () => number;
    assert.equal(now(), 8 + 2 * CHUNKS_AHEAD_PER_REPLICA);
    limits = [{ limit: 10 }, { limit: 3 }];
    assert.equal(now(), 13 + 2 * CHUNKS_AHEAD_PER_REPLICA, 'read again: the limits moved');
    assert.equal(chunksInFlight(4, 2, () => limits), 8, 'a fixed limit ignores the adaptive ones');
  });

  it('admission: each replica takes calls up to its own limit, by the share of it in use', async () => {
    const closer = new AbortController();
    const admission = new ReplicaAdmission(2, [new FixedLimit(2), new FixedLimit(6)], { baseMs: 1000, capMs: 1000 }, closer.signal);
    const granted: number[] = [];
    for (let k = 0; k < 8; k++) granted.push(await admission.acquire(undefined, undefined, undefined));
    assert.deepEqual(
      [0, 1].map((i) => granted.filter((g) => g === i).length),
      [2, 6],
    );
    let ninth: number | undefined;
    const waiting = admission.acquire(undefined, undefined, undefined).then((i) => (ninth = i));
    await Promise.resolve();
    assert.equal(ninth, undefined, 'a ninth call waits: both replicas are at their limits');
    admission.release(1);
    assert.equal(await waiting, 1);
    admission.close();
  });
});
