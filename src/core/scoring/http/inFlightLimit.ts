/**
 * How many requests one replica may have in flight: fixed (the user said how many), or adapted to
 * the replica's latency.
 *
 * The adaptive limit is TCP Vegas applied to requests, the rule of Netflix's concurrency-limits
 * library (`VegasLimit`): the lowest latency seen is the replica's latency without a queue; the
 * ratio of that to the current latency estimates how many of the requests in flight are waiting
 * rather than being worked on (`queued = limit × (1 − noLoad / latency)`). While fewer than `alpha`
 * wait, the replica could take more (it batches them, or the network hides its idle time) and the
 * limit grows by one; past `beta`, requests only queue and the limit shrinks by one. So each
 * replica settles where it always has a little work waiting and no more: a fast replica gets a high
 * limit and a slow one a low limit, and both stay full. An overload answer (429, 503) halves it.
 *
 * Latency is measured per unit of work (`cost`, e.g. the tokens of a scoring request), since
 * requests differ in size, and smoothed; the lowest smoothed value is the no-queue latency. The
 * limit grows only when it was what held requests back (the request was sent with the replica at
 * its limit): a client that cannot keep up must not raise it without bound.
 */

export interface LatencySample {
  /** Time from sending the request to reading its whole answer. */
  ms: number;
  /** Units of work the request carried (tokens of a scoring request; 1 when unknown). */
  cost: number;
  /** Requests in flight on the replica when this one was sent, itself included. */
  inFlight: number;
}

export interface InFlightLimit {
  readonly current: number;
  /** A successful request's latency. */
  observe(sample: LatencySample): void;
  /** The replica said it is overloaded (429, 503). */
  overloaded(): void;
}

/** The user's number: never changes. */
export class FixedLimit implements InFlightLimit {
  constructor(readonly current: number) {}
  observe(): void {}
  overloaded(): void {}
}

/** The adaptive limit's bounds and start; the start is the old fixed default. */
export const ADAPTIVE_IN_FLIGHT = {
  initial: 4,
  /** Two, not one: with one request in flight a replica idles while each answer travels back. */
  min: 2,
  max: 64,
  /** Weight of a new sample in the smoothed latency. */
  smoothing: 0.3,
} as const;

export class VegasLimit implements InFlightLimit {
  current: number = ADAPTIVE_IN_FLIGHT.initial;
  private noLoad = Infinity;
  private smoothed: number | undefined;

  observe(sample: LatencySample): void {
    const perUnit = sample.ms / Math.max(1, sample.cost);
    if (!Number.isFinite(perUnit) || perUnit < 0) return;
    this.smoothed = this.smoothed === undefined ? perUnit : this.smoothed + ADAPTIVE_IN_FLIGHT.smoothing * (perUnit - this.smoothed);
    if (this.smoothed < this.noLoad) this.noLoad = this.smoothed;
    if (this.smoothed <= 0) return;
    const queued = this.current * (1 - this.noLoad / this.smoothed);
    const scale = Math.log10(this.current);
    const alpha = Math.max(1, 3 * scale);
    const beta = Math.max(2, 6 * scale);
    if (queued <= alpha) {
      if (sample.inFlight >= this.current) this.current = Math.min(ADAPTIVE_IN_FLIGHT.max, this.current + 1);
    } else if (queued >= beta) {
      this.current = Math.max(ADAPTIVE_IN_FLIGHT.min, this.current - 1);
    }
  }

  overloaded(): void {
    this.current = Math.max(ADAPTIVE_IN_FLIGHT.min, Math.floor(this.current / 2));
  }
}

/** One limit per replica: fixed at `fixed` when it is a positive number, else adaptive. */
export function inFlightLimits(replicas: number, fixed: number | undefined): InFlightLimit[] {
  return Array.from({ length: replicas }, () => (fixed !== undefined && fixed > 0 ? new FixedLimit(fixed) : new VegasLimit()));
}

/** Chunks a run prepares per replica beyond its limit: tokenized and waiting when a request ends. */
export const CHUNKS_AHEAD_PER_REPLICA = 2;

/**
 * Chunks of records a scoring run keeps in flight against `urls` HTTP replicas (a chunk is about one
 * scoring request). A fixed limit: one chunk per request each replica may hold. An adaptive one:
 * read on every dispatch, each replica's limit now plus {@link CHUNKS_AHEAD_PER_REPLICA}. A run
 * kept at the starting limit's worth could never let a limit grow past it; one kept at the highest
 * limit's worth (64 per replica) held twice the memory for nothing while the limits stayed at 4.
 */
export function chunksInFlight(
  concurrency: number | undefined,
  urls: number,
  currentLimits: (() => readonly { limit: number }[]) | undefined,
): number | (() => number) {
  const replicas = Math.max(1, urls);
  if (concurrency !== undefined && concurrency > 0) return concurrency * replicas;
  if (currentLimits === undefined) return (ADAPTIVE_IN_FLIGHT.initial + CHUNKS_AHEAD_PER_REPLICA) * replicas;
  return () => currentLimits().reduce((sum, replica) => sum + replica.limit + CHUNKS_AHEAD_PER_REPLICA, 0);
}
