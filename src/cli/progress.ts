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

  constructor(private readonly total: number, private readonly label: string, private readonly quiet = false) {
    if (!quiet && process.stderr.isTTY) {
      this.bar = new SingleBar({
        format: `${label} {bar} {value}/{total} records | {rate} tok/s | ETA {eta_formatted}`,
        stream: process.stderr,
        hideCursor: true,
        clearOnComplete: false,
        etaBuffer: 50,
      });
      this.bar.start(total, 0, { rate: '0' });
    }
  }

  update(done: number, tokens: number): void {
    this.done = done;
    const rate = Math.round(tokens / Math.max(0.001, (Date.now() - this.started) / 1000)).toLocaleString('en-US');
    if (this.bar) {
      this.bar.update(done, { rate });
      return;
    }
    if (this.quiet) return;
    const now = Date.now();
    if (now - this.lastLine >= 5000 || done === this.total) {
      this.lastLine = now;
      const percent = this.total > 0 ? Math.floor((100 * done) / this.total) : 100;
      process.stderr.write(`${this.label}: ${done}/${this.total} records (${percent}%), ${rate} tok/s\n`);
    }
  }

  stop(): void {
    if (this.bar) {
      this.bar.update(this.done);
      this.bar.stop();
    }
  }
}
