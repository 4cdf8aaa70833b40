export interface RestartDecision {
  restart: boolean;
  /** Wait before restarting (back-off). */
  delayMs: number;
  /** Crashes counted in the current window, this one included. */
  crashes: number;
}

export interface RestartPolicyOptions {
  /** Restarts allowed within `windowMs` before giving up. */
  maxRestarts?: number;
  windowMs?: number;
  /** Delay before the first restart; doubled for each further crash in the window. */
  initialDelayMs?: number;
  maxDelayMs?: number;
}

/**
 * When the server dies: restart it after a growing delay (1 s, 2 s, 4 s, ...) unless it has crashed
 * `maxRestarts` times within `windowMs`; then stop and let the user decide. Crashes older than the
 * window are forgotten, so a server that crashes once a day is always restarted.
 */
export class RestartPolicy {
  private crashes: number[] = [];
  private readonly maxRestarts: number;
  private readonly windowMs: number;
  private readonly initialDelayMs: number;
  private readonly maxDelayMs: number;

  constructor(options: RestartPolicyOptions = {}) {
    this.maxRestarts = options.maxRestarts ?? 5;
    this.windowMs = options.windowMs ?? 3 * 60_000;
    this.initialDelayMs = options.initialDelayMs ?? 1000;
    this.maxDelayMs = options.maxDelayMs ?? 30_000;
  }

  onCrash(now: number): RestartDecision {
    this.crashes = this.crashes.filter((t) => now - t < this.windowMs);
    this.crashes.push(now);
    const crashes = this.crashes.length;
    if (crashes > this.maxRestarts) return { restart: false, delayMs: 0, crashes };
    const delayMs = Math.min(this.maxDelayMs, this.initialDelayMs * 2 ** (crashes - 1));
    return { restart: true, delayMs, crashes };
  }

  /** A restart asked for by the user starts a fresh count. */
  reset(): void {
    this.crashes = [];
  }
}
