/**
 * Replica choice and admission for {@link HttpEndpointPool}: which replica a call goes to, and
 * when it may go.
 *
 * - Each call goes to the replica with the smallest share of its in-flight limit in use (ties
 *   rotate), never past that limit; callers beyond every replica's limit wait in a FIFO queue. A
 *   limit is fixed or adapts to the replica's latency ({@link InFlightLimit}), so a fast replica
 *   takes more requests at once than a slow one and both stay full.
 * - A replica that failed with a connection error is marked down for a back-off period and avoided
 *   while another replica is up.
 *
 * Cancellation deliberately avoids one listener per queued call: a call of 100k texts registers one
 * listener on the caller's signal (a registry of its waiters), so aborting or finishing a huge call
 * stays linear.
 */
import { abortReason, throwIfAborted } from '../../net/retry';
import type { InFlightLimit, LatencySample } from './inFlightLimit';

interface Waiter {
  avoid: number | undefined;
  pinned: number | undefined;
  /** Granted, aborted or closed: skipped when met in a queue. */
  done: boolean;
  grant: (index: number) => void;
  fail: (reason: unknown) => void;
}

export class ReplicaAdmission {
  private readonly inFlight: number[];
  private readonly downUntil: number[];
  private readonly consecutiveDown: number[];
  private rr = 0;
  /** Callers waiting for a slot on any replica (FIFO from `head`), and those pinned to one. */
  private queue: Waiter[] = [];
  private head = 0;
  private pinnedQueue: Waiter[] = [];
  private waiting = 0;
  /** Waiters per caller signal, so that each signal gets one abort listener, not one per waiter. */
  private readonly waitersBySignal = new WeakMap<AbortSignal, Set<Waiter>>();
  private pumpTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly count: number,
    /** One per replica. */
    private readonly limits: readonly InFlightLimit[],
    /** Down periods: `baseMs * 2^(failures - 1)`, at most `capMs`. */
    private readonly backoff: { baseMs: number; capMs: number },
    private readonly closer: AbortSignal,
  ) {
    this.inFlight = new Array<number>(count).fill(0);
    this.downUntil = new Array<number>(count).fill(0);
    this.consecutiveDown = new Array<number>(count).fill(0);
  }

  /** Requests in flight on replica `i`, its limit, and whether it is marked down. */
  state(i: number, now = Date.now()): { inFlight: number; limit: number; down: boolean } {
    return { inFlight: this.inFlight[i] ?? 0, limit: this.limitOf(i), down: (this.downUntil[i] ?? 0) > now };
  }

  /** Requests in flight on replica `i` (the cheap form of {@link state}, read once per call). */
  inFlightOf(i: number): number {
    return this.inFlight[i] ?? 0;
  }

  /** A request to replica `i` succeeded: its limit may move (a higher one lets queued callers go). */
  observe(i: number, sample: LatencySample): void {
    const before = this.limitOf(i);
    this.limits[i]?.observe(sample);
    if (this.limitOf(i) > before) this.pump();
  }

  /** Replica `i` answered that it is overloaded. */
  overloaded(i: number): void {
    this.limits[i]?.overloaded();
  }

  private limitOf(i: number): number {
    return this.limits[i]?.current ?? 1;
  }

  /** Fail every queued caller with the close reason. */
  close(): void {
    if (this.pumpTimer !== undefined) clearTimeout(this.pumpTimer);
    this.pumpTimer = undefined;
    const reason = abortReason(this.closer);
    for (const w of [...this.queue.slice(this.head), ...this.pinnedQueue]) w.fail(reason);
    this.queue = [];
    this.head = 0;
    this.pinnedQueue = [];
  }

  /** A replica slot: resolves with the replica's index, to be given back with {@link release}. */
  acquire(signal: AbortSignal | undefined, avoid: number | undefined, pinned: number | undefined): Promise<number> {
    throwIfAborted(signal);
    throwIfAborted(this.closer);
    if (this.waiting === 0) {
      const i = this.pick(avoid, pinned);
      if (i >= 0) {
        this.inFlight[i] = (this.inFlight[i] ?? 0) + 1;
        return Promise.resolve(i);
      }
    }
    return new Promise<number>((resolve, reject) => {
      let set: Set<Waiter> | undefined;
      const finish = (): boolean => {
        if (waiter.done) return false;
        waiter.done = true;
        this.waiting--;
        set?.delete(waiter);
        return true;
      };
      const waiter: Waiter = {
        avoid,
        pinned,
        done: false,
        grant: (i) => {
          if (finish()) resolve(i);
        },
        fail: (reason) => {
          if (finish()) reject(reason);
        },
      };
      if (signal) set = this.trackWaiter(signal, waiter);
      this.waiting++;
      if (pinned !== undefined) this.pinnedQueue.push(waiter);
      else this.queue.push(waiter);
      this.pump();
    });
  }

  release(i: number): void {
    this.inFlight[i] = Math.max(0, (this.inFlight[i] ?? 0) - 1);
    this.pump();
  }

  /** Whether a replica other than `idx` is up (a connection failure can then be retried there at once). */
  someOtherUp(idx: number): boolean {
    const now = Date.now();
    return this.downUntil.some((t, i) => i !== idx && t <= now);
  }

  /** Mark replica `i` down after a connection failure; returns how long it is avoided. */
  markDown(i: number): number {
    const failures = (this.consecutiveDown[i] ?? 0) + 1;
    this.consecutiveDown[i] = failures;
    const avoidForMs = Math.min(this.backoff.capMs, this.backoff.baseMs * 2 ** Math.min(failures - 1, 30));
    this.downUntil[i] = Date.now() + avoidForMs;
    return avoidForMs;
  }

  /** Mark replica `i` up after a success; returns whether it was down. */
  markUp(i: number): boolean {
    if ((this.consecutiveDown[i] ?? 0) === 0) return false;
    this.consecutiveDown[i] = 0;
    this.downUntil[i] = 0;
    return true;
  }

  private trackWaiter(signal: AbortSignal, w: Waiter): Set<Waiter> {
    let set = this.waitersBySignal.get(signal);
    if (set === undefined) {
      const created = new Set<Waiter>();
      set = created;
      this.waitersBySignal.set(signal, created);
      signal.addEventListener(
        'abort',
        () => {
          const reason = abortReason(signal);
          for (const x of [...created]) x.fail(reason);
          this.waitersBySignal.delete(signal);
        },
        { once: true },
      );
    }
    set.add(w);
    return set;
  }

  private pump(): void {
    if (this.pinnedQueue.length > 0) {
      const still: Waiter[] = [];
      for (const w of this.pinnedQueue) {
        if (w.done) continue;
        const i = this.pick(undefined, w.pinned);
        if (i < 0) {
          still.push(w);
          continue;
        }
        this.inFlight[i] = (this.inFlight[i] ?? 0) + 1;
        w.grant(i);
      }
      this.pinnedQueue = still;
    }
    // Every unpinned waiter may use the same replicas, so the first one that cannot be served
    // means none can: stop there (this keeps a queue of 100k callers cheap).
    while (this.head < this.queue.length) {
      const w = this.queue[this.head] as Waiter;
      if (w.done) {
        this.head++;
        continue;
      }
      const i = this.pick(w.avoid, undefined);
      if (i < 0) break;
      this.head++;
      this.inFlight[i] = (this.inFlight[i] ?? 0) + 1;
      w.grant(i);
    }
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    this.scheduleCooldownPump();
  }

  /** While callers wait only because replicas are down, wake up when the first one comes back. */
  private scheduleCooldownPump(): void {
    if (this.waiting === 0 || this.pumpTimer !== undefined || this.closer.aborted) return;
    const now = Date.now();
    let next = Infinity;
    for (const t of this.downUntil) if (t > now && t < next) next = t;
    if (next === Infinity) return;
    this.pumpTimer = setTimeout(() => {
      this.pumpTimer = undefined;
      this.pump();
    }, next - now + 1);
  }

  /** Index of the replica to use, or -1 to wait. */
  private pick(avoid: number | undefined, pinned: number | undefined): number {
    if (pinned !== undefined) return (this.inFlight[pinned] ?? 0) < this.limitOf(pinned) ? pinned : -1;
    const n = this.count;
    const now = Date.now();
    const anyUp = this.downUntil.some((t) => t <= now);
    let best = -1;
    let bestScore = Infinity;
    for (let k = 0; k < n; k++) {
      const i = (this.rr + k) % n;
      const load = this.inFlight[i] ?? 0;
      const limit = this.limitOf(i);
      if (load >= limit) continue;
      if (anyUp && (this.downUntil[i] ?? 0) > now) continue; // avoid down replicas while one is up
      // The share of its limit in use; a replica to avoid (it just failed this call) comes last.
      const score = load / limit + (i === avoid ? 1 : 0);
      if (score < bestScore) {
        best = i;
        bestScore = score;
      }
    }
    if (best >= 0) this.rr = (best + 1) % n;
    return best;
  }
}
