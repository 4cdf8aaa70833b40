import type { TrainingPair } from '../core/dataset/types';
import type { MetricName } from '../core/metrics/types';
import type { RecordOutcomes } from '../core/scoring/scoreRecords';
import type { SiftDocument } from './document';

export interface JobItem {
  text: string;
  pair: TrainingPair;
}

export type JobKind = 'score' | 'filter';
export type JobOutcome = 'done' | 'cancelled' | 'failed';

/**
 * Records of one document waiting to be scored. A `score` job feeds the document's scores (its
 * items are the document's `pending` texts); a `filter` job collects scores for the Filter command.
 * Items are scored in order, except that `prioritize` moves visible or requested lines to the front.
 */
export class Job {
  private static nextId = 1;
  readonly id = Job.nextId++;
  readonly controller = new AbortController();
  private queue: JobItem[] = [];
  private readonly queued = new Set<string>();
  total = 0;
  done = 0;
  /** Batches sent to the scorer so far. */
  batches = 0;
  /** When the job started running (Date.now()), once it has. */
  startedAt: number | undefined;
  /** Records delivered to the document so far (a `score` job). */
  delivered = 0;
  /** Items skipped because their text left the document before their turn. */
  skipped = 0;
  outcome: JobOutcome | undefined;
  error: string | undefined;
  /** A `filter` job's results by text, every assistant turn's (a `score` job's go to the document). */
  readonly results = new Map<string, RecordOutcomes>();
  /** Results that arrived for a text no line has any more, and were dropped. */
  discarded = 0;
  /** Texts set aside because the endpoint was down (they wait for it in the document's `waiting`). */
  readonly setAside = new Set<string>();
  readonly finished: Promise<JobOutcome>;
  private resolveFinished!: (outcome: JobOutcome) => void;

  constructor(
    readonly doc: SiftDocument,
    readonly kind: JobKind,
    /** The document epoch the job was made in: results for another epoch are dropped. */
    readonly epoch: number,
    readonly metrics: MetricName[],
  ) {
    this.finished = new Promise((resolve) => (this.resolveFinished = resolve));
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get remaining(): number {
    return this.queue.length;
  }

  /** Adds items not already queued; `front` puts them before everything else. Returns how many were new. */
  add(items: Iterable<JobItem>, front = false): number {
    const fresh: JobItem[] = [];
    for (const item of items) {
      if (this.queued.has(item.text)) continue;
      this.queued.add(item.text);
      fresh.push(item);
    }
    this.queue = front ? [...fresh, ...this.queue] : this.queue.concat(fresh);
    this.total += fresh.length;
    return fresh.length;
  }

  /** Moves the queued items with these texts to the front, in the order given. */
  prioritize(texts: readonly string[]): void {
    if (texts.length === 0 || this.queue.length === 0) return;
    const rank = new Map(texts.map((text, i) => [text, i]));
    const first: JobItem[] = [];
    const rest: JobItem[] = [];
    for (const item of this.queue) (rank.has(item.text) ? first : rest).push(item);
    if (first.length === 0) return;
    first.sort((a, b) => rank.get(a.text)! - rank.get(b.text)!);
    this.queue = first.concat(rest);
  }

  /** The next items, up to `maxChars` of text (at least one item) and `maxItems`. */
  take(maxChars: number, maxItems: number): JobItem[] {
    const batch: JobItem[] = [];
    let chars = 0;
    while (this.queue.length > 0 && batch.length < maxItems) {
      const item = this.queue[0];
      if (batch.length > 0 && chars + item.text.length > maxChars) break;
      this.queue.shift();
      this.queued.delete(item.text);
      batch.push(item);
      chars += item.text.length;
    }
    return batch;
  }

  /** Everything still queued (on cancel, to clear the document's pending marks). */
  drain(): JobItem[] {
    const items = this.queue;
    this.queue = [];
    this.queued.clear();
    return items;
  }

  finish(outcome: JobOutcome, error?: string): void {
    if (this.outcome) return;
    this.outcome = outcome;
    this.error = error;
    this.resolveFinished(outcome);
  }
}

export interface SchedulerHooks {
  /** Scores one batch; resolves when its results have been delivered. */
  runBatch(job: Job, batch: JobItem[]): Promise<void>;
  /** The items a batch should really contain (texts still in the document, not yet scored). */
  filterBatch(job: Job, batch: JobItem[]): JobItem[];
  onStart(job: Job): Promise<void> | void;
  onProgress(job: Job): void;
  onEnd(job: Job, leftOver: JobItem[]): void;
  /** Size of the job's next batch: characters and records. */
  batchLimits(job: Job): { chars: number; items: number };
}

/**
 * One queue for the whole server: the scorer is one CPU- or endpoint-bound resource, so two open
 * documents take turns instead of fighting over it. Jobs run in order; each runs in small batches
 * so cancellation, priorities and edits take effect within one batch.
 */
export class Scheduler {
  private readonly jobs: Job[] = [];
  private running: Job | undefined;
  private loop: Promise<void> | undefined;

  constructor(private readonly hooks: SchedulerHooks) {}

  get active(): readonly Job[] {
    return this.jobs;
  }

  submit(job: Job): void {
    this.jobs.push(job);
    this.loop ??= this.run().finally(() => (this.loop = undefined));
  }

  /** The queued or running score job of a document, to add records to. */
  scoreJobOf(doc: SiftDocument): Job | undefined {
    for (let i = this.jobs.length - 1; i >= 0; i--) {
      const job = this.jobs[i];
      if (job.doc === doc && job.kind === 'score' && job.epoch === doc.epoch && !job.signal.aborted) return job;
    }
    return undefined;
  }

  isRunning(doc: SiftDocument): boolean {
    return this.jobs.some((job) => job.doc === doc && !job.signal.aborted);
  }

  /** Cancels the matching jobs (returned); the running one stops within its current scorer call. */
  cancel(match: (job: Job) => boolean): Job[] {
    const cancelled: Job[] = [];
    for (const job of [...this.jobs]) {
      if (!match(job) || job.signal.aborted) continue;
      job.controller.abort();
      cancelled.push(job);
      if (job !== this.running) {
        this.jobs.splice(this.jobs.indexOf(job), 1);
        this.end(job, 'cancelled');
      }
    }
    return cancelled;
  }

  /** Resolves when no job is left (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.loop) await this.loop;
  }

  private async run(): Promise<void> {
    while (this.jobs.length > 0) {
      const job = this.jobs[0];
      this.running = job;
      let outcome: JobOutcome = 'done';
      let error: string | undefined;
      try {
        job.startedAt = Date.now();
        await this.hooks.onStart(job);
        for (;;) {
          if (job.signal.aborted) {
            outcome = 'cancelled';
            break;
          }
          const limits = this.hooks.batchLimits(job);
          const taken = job.take(limits.chars, limits.items);
          if (taken.length === 0) break;
          const batch = this.hooks.filterBatch(job, taken);
          job.skipped += taken.length - batch.length;
          job.done += taken.length - batch.length;
          if (batch.length > 0) {
            job.batches++;
            await this.hooks.runBatch(job, batch);
            job.done += batch.length;
          }
          this.hooks.onProgress(job);
        }
      } catch (caught) {
        if (job.signal.aborted || isAbort(caught)) outcome = 'cancelled';
        else {
          outcome = 'failed';
          error = caught instanceof Error ? caught.message : String(caught);
        }
      }
      this.running = undefined;
      const index = this.jobs.indexOf(job);
      if (index >= 0) this.jobs.splice(index, 1);
      this.end(job, outcome, error);
    }
  }

  private end(job: Job, outcome: JobOutcome, error?: string): void {
    const leftOver = job.drain();
    job.finish(outcome, error);
    this.hooks.onEnd(job, leftOver);
  }
}

function isAbort(error: unknown): boolean {
  return error instanceof Error && error.name === 'AbortError';
}
