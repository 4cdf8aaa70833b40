/**
 * Whether each replica of an endpoint answers, and the probe that finds out when one that did not
 * answers again. Calls report what they saw ({@link EndpointHealth.reportFailure},
 * {@link EndpointHealth.reportSuccess}); a replica that failed for a transient reason is
 * "unreachable" and is probed on its own with exponential back-off until it answers. Listeners hear
 * every change, so a server can tell the user and resume the work that waited for it.
 *
 * The back-off level only goes back to the start after a real call succeeds, not after a probe:
 * a server whose health route answers while its scoring route keeps failing is then probed less
 * and less often instead of in a tight loop.
 */

export interface EndpointState {
  /** Display URL (no credentials). */
  url: string;
  up: boolean;
  /** When it stopped answering (ms since the epoch); set while down. */
  downSince?: number;
  /** Why the last call or probe failed (already redacted); set while down. */
  lastError?: string;
  /** When the next probe runs (ms since the epoch); set while down. */
  nextProbeAt?: number;
}

export interface HealthChange {
  index: number;
  state: EndpointState;
  /** The replica went up or down (false: a failed probe, the next one rescheduled). */
  flipped: boolean;
  /** Every replica's state after the change. */
  all: EndpointState[];
}

/** One probe: resolves with undefined when the replica answered, else with why not. */
export type Probe = (index: number, signal: AbortSignal) => Promise<string | undefined>;

export interface HealthClock {
  now(): number;
  setTimeout(run: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface HealthOptions {
  /** First probe delay (default 1 s); doubled after each failed probe up to `capMs`. */
  baseMs?: number;
  /** Longest probe delay (default 15 s: a restarting GPU server is noticed within that). */
  capMs?: number;
  clock?: HealthClock;
}

export const HEALTH_DEFAULTS = { baseMs: 1000, capMs: 15_000 };

const systemClock: HealthClock = {
  now: () => Date.now(),
  setTimeout: (run, ms) => {
    const timer = setTimeout(run, ms);
    // A probe must not keep a CLI process alive once its work is done.
    timer.unref?.();
    return timer;
  },
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

interface Replica {
  state: EndpointState;
  /** Probes that failed since the last real success: the back-off exponent. */
  level: number;
  timer: unknown;
  probing: boolean;
}

export class EndpointHealth {
  private readonly replicas: Replica[];
  private readonly listeners = new Set<(change: HealthChange) => void>();
  private readonly baseMs: number;
  private readonly capMs: number;
  private readonly clock: HealthClock;
  private readonly closer = new AbortController();

  constructor(
    urls: readonly string[],
    private readonly probe: Probe,
    options: HealthOptions = {},
  ) {
    this.baseMs = options.baseMs ?? HEALTH_DEFAULTS.baseMs;
    this.capMs = options.capMs ?? HEALTH_DEFAULTS.capMs;
    this.clock = options.clock ?? systemClock;
    this.replicas = urls.map((url) => ({ state: { url, up: true }, level: 0, timer: undefined, probing: false }));
  }

  states(): EndpointState[] {
    return this.replicas.map((r) => ({ ...r.state }));
  }

  get upCount(): number {
    return this.replicas.filter((r) => r.state.up).length;
  }

  isUp(index: number): boolean {
    return this.replicas[index]?.state.up ?? false;
  }

  /** Hear every change of a replica's state; returns the way to stop listening. */
  onChange(listener: (change: HealthChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** A call to replica `index` failed for a transient reason: it is unreachable until a probe or a call succeeds. */
  reportFailure(index: number, message: string): void {
    const replica = this.replicas[index];
    if (!replica || this.closer.signal.aborted) return;
    if (!replica.state.up) {
      replica.state.lastError = message;
      return;
    }
    replica.state = { url: replica.state.url, up: false, downSince: this.clock.now(), lastError: message };
    this.schedule(index);
    this.emit(index, true);
  }

  /** A call to replica `index` succeeded: it is up and the back-off starts afresh. */
  reportSuccess(index: number): void {
    const replica = this.replicas[index];
    if (!replica) return;
    replica.level = 0;
    this.markUp(index);
  }

  /** Stop probing; no more changes are reported. */
  close(): void {
    this.closer.abort();
    for (const r of this.replicas) {
      if (r.timer !== undefined) this.clock.clearTimeout(r.timer);
      r.timer = undefined;
    }
    this.listeners.clear();
  }

  private markUp(index: number): void {
    const replica = this.replicas[index] as Replica;
    if (replica.timer !== undefined) this.clock.clearTimeout(replica.timer);
    replica.timer = undefined;
    if (replica.state.up) return;
    replica.state = { url: replica.state.url, up: true };
    this.emit(index, true);
  }

  private schedule(index: number): void {
    const replica = this.replicas[index] as Replica;
    const delay = Math.min(this.capMs, this.baseMs * 2 ** Math.min(replica.level, 30));
    replica.state.nextProbeAt = this.clock.now() + delay;
    replica.timer = this.clock.setTimeout(() => void this.runProbe(index), delay);
  }

  private async runProbe(index: number): Promise<void> {
    const replica = this.replicas[index] as Replica;
    replica.timer = undefined;
    if (replica.state.up || replica.probing || this.closer.signal.aborted) return;
    replica.probing = true;
    let error: string | undefined;
    try {
      error = await this.probe(index, this.closer.signal);
    } catch (e) {
      error = e instanceof Error ? e.message : String(e);
    } finally {
      replica.probing = false;
    }
    if (this.closer.signal.aborted || replica.state.up) return;
    if (error === undefined) {
      this.markUp(index);
      return;
    }
    replica.level++;
    replica.state.lastError = error;
    this.schedule(index);
    this.emit(index, false);
  }

  private emit(index: number, flipped: boolean): void {
    const change = { index, state: { ...(this.replicas[index] as Replica).state }, flipped, all: this.states() };
    for (const listener of [...this.listeners]) {
      try {
        listener(change);
      } catch {
        // a listener must never break the calls that report to it
      }
    }
  }
}
