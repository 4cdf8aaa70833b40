import { SingleBar } from 'cli-progress';

/**
 * Progress on stderr: a live bar on a terminal, and on anything else (CI logs, pipes) a plain line
 * at most every few seconds, so logs stay readable.
 */
export class Progress {
  private readonly bar: SingleBar | undefined;
  private done = 0;
  private lastLine = 0;
  private readonly started = Date.now();
  private readonly eta: EtaEstimator;

  constructor(
    private readonly total: number,
    private readonly label: string,
    private readonly quiet = false,
    /** What is counted: `records`, or `samples` for `sift sample`. */
    private readonly unit = 'records',
  ) {
    this.eta = new EtaEstimator(total);
    if (!quiet && process.stderr.isTTY) {
      // Our own ETA: cli-progress's jumps with bursty chunks and prints durations like 23m60s.
      this.bar = new SingleBar({
        format: `${label} {bar} {value}/{total} ${unit} | {rate} tok/s | ETA {eta}`,
        stream: process.stderr,
        hideCursor: true,
        clearOnComplete: false,
      });
      this.bar.start(total, 0, { rate: '0', eta: '-' });
    }
  }

  /**
   * Called once per record: a million-record run calls it a million times, so the rate and the
   * estimate are formatted only when a line or the bar is actually drawn.
   */
  update(done: number, tokens: number): void {
    this.done = done;
    this.eta.observe(done);
    if (!this.bar && this.quiet) return;
    const now = Date.now();
    const interval = this.bar ? BAR_REDRAW_MS : LINE_INTERVAL_MS;
    if (now - this.lastLine < interval && done !== this.total) return;
    this.lastLine = now;
    const rate = Math.round(tokens / Math.max(0.001, (now - this.started) / 1000)).toLocaleString('en-US');
    const eta = this.eta.remainingText();
    if (this.bar) {
      this.bar.update(done, { rate, eta });
      return;
    }
    const percent = this.total > 0 ? Math.floor((100 * done) / this.total) : 100;
    const etaPart = done < this.total && eta !== '-' ? `, ETA ${eta}` : '';
    process.stderr.write(`${this.label}: ${done}/${this.total} ${this.unit} (${percent}%), ${rate} tok/s${etaPart}\n`);
  }

  stop(): void {
    if (this.bar) {
      this.bar.update(this.done, { eta: formatDuration(0) });
      this.bar.stop();
    }
  }
}

/** cli-progress draws at most 10 times a second (its default fps); a plain line every 5 s. */
const BAR_REDRAW_MS = 100;
const LINE_INTERVAL_MS = 5000;

/** How fast the rate estimate forgets: records arrive in chunks, seconds apart. */
const RATE_TIME_CONSTANT_S = 60;
/** No estimate before this much time has passed: the first chunk says little about the rest. */
const WARM_UP_S = 5;

/**
 * Time left from an exponentially weighted records-per-second rate. Each observation counts in
 * proportion to the time it covers, so a chunk of records arriving at once moves the rate by its
 * records over the time constant instead of making it jump.
 */
export class EtaEstimator {
  private rate: number | undefined;
  private done = 0;
  private lastAt: number;
  private readonly startedAt: number;

  constructor(private readonly total: number, private readonly now: () => number = Date.now) {
    this.startedAt = this.now();
    this.lastAt = this.startedAt;
  }

  observe(done: number): void {
    const records = done - this.done;
    if (records <= 0) return;
    const at = this.now();
    if (this.rate === undefined) {
      // The first estimate is the average since the start; weighting starts from it.
      const elapsed = (at - this.startedAt) / 1000;
      if (elapsed < WARM_UP_S) return;
      this.rate = done / elapsed;
    } else {
      const seconds = (at - this.lastAt) / 1000;
      // In the limit of no time passing, an observation adds records / time constant.
      this.rate = seconds > 0
        ? this.rate + (1 - Math.exp(-seconds / RATE_TIME_CONSTANT_S)) * (records / seconds - this.rate)
        : this.rate + records / RATE_TIME_CONSTANT_S;
    }
    this.done = done;
    this.lastAt = at;
  }

  /** Seconds left, or undefined while there is no estimate yet. */
  remainingSeconds(): number | undefined {
    if (this.rate === undefined || this.rate <= 0) return undefined;
    return Math.max(0, this.total - this.done) / this.rate;
  }

  remainingText(): string {
    const seconds = this.remainingSeconds();
    return seconds === undefined ? '-' : formatDuration(seconds);
  }
}

/**
 * A duration for people: `45s`, `4m05s`, `23m`, `1h30m`. It is rounded before it is split, so it
 * never shows 60s or 60m; above ten minutes seconds are noise and are left out.
 */
export function formatDuration(seconds: number): string {
  const whole = Math.max(0, Math.round(seconds));
  if (whole < 60) return `${whole}s`;
  if (whole < 600) return `${Math.floor(whole / 60)}m${String(whole % 60).padStart(2, '0')}s`;
  const minutes = Math.round(whole / 60);
  if (minutes < 60) return `${minutes}m`;
  return `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, '0')}m`;
}
