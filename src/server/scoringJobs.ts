import { basename } from 'node:path';
import type { HealthChange } from '../core/net/health';
import { METHOD_VERSION } from '../core/metrics';
import type { MetricSettings } from '../core/metrics/recordMetrics';
import type { MetricName } from '../core/metrics/types';
import { toRecordScore } from '../core/scoring/recordScore';
import { RetriesExhaustedError } from '../core/scoring/types';
import { lookupStoredTurns, scoreRecords, type RecordLossResult, type RecordOutcomes } from '../core/scoring/scoreRecords';
import type { SiftSettings } from '../protocol';
import type { SiftDocument } from './document';
import { FilterError } from './filter';
import { healthChangeLine } from './endpointHealth';
import { errorMessage, type ServerLog } from './log';
import { formatCount } from './presentation';
import type { Progress } from './progress';
import type { Publisher } from './publisher';
import { ReflectionRequestError } from './reflection';
import type { Scorers, Stores } from './resources';
import { Job, Scheduler, type JobItem } from './scheduler';
import { screenFirst } from './screenFirst';
import { scoringConfig } from './settings';
import type { ValidSet } from './validSet';
import { chunksInFlight } from '../core/scoring/http/inFlightLimit';

/**
 * How long a new score job waits for the editor to say which lines are on screen (VS Code asks for
 * their labels within tens of milliseconds of opening a file). SIFT_SCREEN_WAIT_MS sets it for the
 * tests, which must not depend on timing.
 */
const SCREEN_WAIT_MS = Number(process.env.SIFT_SCREEN_WAIT_MS) || 300;

/** How often the progress count follows the records of a running batch. */
const PROGRESS_REPORT_MS = 250;

export interface ScoringJobsDeps {
  log: ServerLog;
  /** The client says which lines are on screen (see InitializationOptions.visibleLines). */
  reportsScreen(): boolean;
  docs: ReadonlyMap<string, SiftDocument>;
  /** Server-wide settings: the backend decides batch sizes and concurrency. */
  settings(): SiftSettings;
  settingsFor(doc: SiftDocument): SiftSettings;
  scorers(): Scorers;
  stores: Stores;
  publisher: Publisher;
  progress: Progress;
  validSet: ValidSet;
}

/**
 * Scoring on the queue: each document's `score` job (its results become the document's scores as
 * they stream in) and the Filter's and reflection's `filter` jobs (results collected for the
 * caller), run one batch at a time by the Scheduler.
 */
export class ScoringJobs {
  readonly scheduler: Scheduler;

  constructor(private readonly deps: ScoringJobsDeps) {
    this.scheduler = new Scheduler({
      batchLimits: (job) => {
        const limits = deps.settings().backend === 'local' ? { chars: 4000, items: 32 } : { chars: 256_000, items: 1024 };
        // A document's first batch is one record (the shortest on screen, see StoredScores): its
        // score shows as soon as that record is scored, not once a batch of long ones is.
        return job.kind === 'score' && job.batches === 0 ? { ...limits, items: 1 } : limits;
      },
      filterBatch: (job, batch) => this.filterBatch(job, batch),
      runBatch: (job, batch) => this.runBatch(job, batch),
      onStart: (job) => this.onJobStart(job),
      onProgress: (job) => this.onJobProgress(job),
      onEnd: (job, leftOver) => this.onJobEnd(job, leftOver),
    });
  }

  /** Adds records to the document's score job (made if there is none); `front` scores them first. */
  enqueue(doc: SiftDocument, items: JobItem[], front = false, evenIfEmpty = false): number {
    let job = this.scheduler.scoreJobOf(doc);
    const isNew = job === undefined;
    job ??= new Job(doc, 'score', doc.epoch, scoringConfig(this.deps.settingsFor(doc)).metrics);
    const fresh = items.filter((item) => !doc.pending.has(item.text) && !doc.scores.has(item.text));
    for (const item of fresh) {
      doc.failures.delete(item.text);
      doc.waiting.delete(item.text);
    }
    job.add(fresh, front);
    for (const item of fresh) doc.pending.set(item.text, job.id);
    // The records on screen go first, shortest first (unless these were asked for by line).
    if (!front && doc.onScreen && fresh.length > 0) job.prioritize(screenFirst(doc, doc.onScreen.from, doc.onScreen.to));
    if (isNew && (fresh.length > 0 || evenIfEmpty)) this.scheduler.submit(job);
    else if (!isNew) this.onJobProgress(job);
    this.deps.publisher.markDirty(doc);
    return fresh.length;
  }

  /** Queued records with these texts are scored next, in this order. */
  prioritize(doc: SiftDocument, texts: readonly string[]): void {
    this.scheduler.scoreJobOf(doc)?.prioritize(texts);
  }

  /** Scores for the Filter command: stored ones at once, the rest through the queue. */
  async scoreForFilter(doc: SiftDocument, items: JobItem[], metrics: MetricName[]): Promise<Map<string, RecordOutcomes>> {
    const modelId = await this.deps.scorers().modelId();
    const store = await this.deps.stores.get(doc.path);
    const config = { ...scoringConfig(this.deps.settingsFor(doc)), metrics };
    const results = new Map<string, RecordOutcomes>();
    const missing: JobItem[] = [];
    for (const item of items) {
      const stored = lookupStoredTurns(item.pair, { store, config, modelId, methodVersion: METHOD_VERSION });
      if (stored) results.set(item.text, stored);
      else missing.push(item);
    }
    if (missing.length > 0 || metrics.includes('ds')) {
      const job = new Job(doc, 'filter', doc.epoch, metrics);
      job.add(missing);
      this.scheduler.submit(job);
      const outcome = await job.finished;
      if (outcome === 'cancelled') throw new FilterError('the filter was cancelled');
      if (outcome === 'failed') throw new FilterError(`scoring failed: ${job.error}`);
      for (const [text, metricsOf] of job.results) results.set(text, metricsOf);
    }
    return results;
  }

  /** IFD by text for the "N lowest" selection: stored scores at once, the rest scored on the queue. */
  async ifdScores(doc: SiftDocument, items: JobItem[], signal: AbortSignal, metricSettings: MetricSettings): Promise<Map<string, number | null>> {
    const known = new Map<string, number | null>();
    const missing: JobItem[] = [];
    for (const item of items) {
      const score = doc.scores.get(item.text);
      const ifd = score?.metrics.ifd;
      if (ifd) known.set(item.text, ifd.value);
      else missing.push(item);
    }
    if (missing.length === 0) return known;
    const onAbort = (): void => void this.scheduler.cancel((job) => job.kind === 'filter' && job.doc === doc);
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      const scored = await this.scoreForFilter(doc, missing, ['ifd']);
      for (const [text, outcomes] of scored) known.set(text, toRecordScore({ id: 0, ...outcomes }, ['ifd'], metricSettings).metrics.ifd?.value ?? null);
    } catch (error) {
      if (signal.aborted) throw new DOMException('cancelled', 'AbortError');
      throw new ReflectionRequestError(`scoring the records to find the lowest IFD failed: ${errorMessage(error)}`);
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
    return known;
  }

  /**
   * An endpoint stopped or started answering (or a probe failed): a warning in the log when it
   * flips, every document's status again, and the records that waited for it queued again as soon
   * as one replica answers.
   */
  onHealthChange(change: HealthChange): void {
    const line = healthChangeLine(change);
    if (line) this.deps.log.warn(line);
    if (change.flipped && change.state.up) this.resumeWaiting();
    for (const doc of this.deps.docs.values()) this.deps.publisher.markDirty(doc);
  }

  /** Queues again every document's records that waited for the endpoint. */
  resumeWaiting(): void {
    for (const doc of this.deps.docs.values()) {
      if (doc.waiting.size === 0) continue;
      const items = [...doc.waiting].filter(([text]) => doc.records.hasText(text)).map(([text, pair]) => ({ text, pair }));
      doc.waiting.clear();
      const queued = this.enqueue(doc, items);
      if (queued > 0) this.deps.log.info(`${formatCount(queued)} record(s) of ${doc.uri} queued again: the endpoint answers`);
    }
  }

  /** Every replica of the current HTTP scorer is unreachable: sending more would only fail. */
  private endpointDown(): boolean {
    const health = this.deps.scorers().health;
    return health !== undefined && health.length > 0 && health.every((state) => !state.up);
  }

  /** Sets records of a score job aside until the endpoint answers again. */
  private setAside(job: Job, items: readonly JobItem[]): void {
    const doc = job.doc;
    if (job.epoch !== doc.epoch || this.deps.docs.get(doc.uri) !== doc) return;
    for (const item of items) {
      if (doc.pending.get(item.text) === job.id) doc.pending.delete(item.text);
      if (!doc.records.hasText(item.text) || doc.scores.has(item.text)) continue;
      doc.waiting.set(item.text, item.pair);
      job.setAside.add(item.text);
    }
    this.deps.publisher.markDirty(doc);
  }

  private filterBatch(job: Job, batch: JobItem[]): JobItem[] {
    if (job.kind === 'filter') return batch;
    const doc = job.doc;
    return batch.filter((item) => {
      const keep = job.epoch === doc.epoch && doc.records.hasText(item.text) && !doc.scores.has(item.text);
      if (!keep && doc.pending.get(item.text) === job.id) doc.pending.delete(item.text);
      return keep;
    });
  }

  private async runBatch(job: Job, batch: JobItem[]): Promise<void> {
    const doc = job.doc;
    const settings = this.deps.settings();
    const config = { ...scoringConfig(this.deps.settingsFor(doc)), metrics: job.metrics };
    const local = settings.backend === 'local';
    if (this.endpointDown()) {
      if (job.kind === 'filter') throw new Error(`the scoring endpoint is unreachable (${this.deps.scorers().endpoint})`);
      this.setAside(job, batch);
      return;
    }
    let delivered = 0;
    let reportedAt = 0;
    try {
      await this.deps.scorers().with(async (scorer) => {
        const store = await this.deps.stores.get(doc.path);
        await scoreRecords(
          batch.map((item, id) => ({ id, pair: item.pair })),
          {
            scorer,
            store,
            config,
            methodVersion: METHOD_VERSION,
            signal: job.signal,
            // Small chunks on a CPU so results stream in every second or so; big ones keep GPUs busy.
            chunkTokens: local ? 1024 : 8192,
            concurrency: local ? 2 : chunksInFlight(settings.concurrency, settings.endpointUrls.length, scorer.inFlightLimits?.bind(scorer)),
            onResult: (result) => {
              this.deliver(job, batch[result.id], result);
              // How long a document waits for its first label (bench/firstScore.mjs reads this line).
              if (job.kind === 'score' && job.delivered++ === 0) {
                const took = Date.now() - (job.startedAt ?? Date.now());
                this.deps.log.info(`job ${job.id}: first record scored (line ${lineOf(doc, batch[result.id].text)}, in a batch of ${batch.length}), ${took} ms after the job started`);
              }
              delivered++;
              // At most a few reports a second: a GPU delivers thousands of records in one.
              if (Date.now() - reportedAt >= PROGRESS_REPORT_MS) {
                reportedAt = Date.now();
                this.deps.progress.reportJob(job, delivered);
              }
            },
          },
        );
        await store.flush();
      });
    } catch (error) {
      // The scorer could not connect because no endpoint answered: wait for one, like a record would.
      if (!(error instanceof RetriesExhaustedError) || job.kind !== 'score') throw error;
      this.setAside(job, batch);
    } finally {
      if (job.kind === 'score' && job.epoch === doc.epoch) {
        for (const item of batch) if (doc.pending.get(item.text) === job.id) doc.pending.delete(item.text);
      }
    }
  }

  private deliver(job: Job, item: JobItem, result: RecordLossResult): void {
    if (job.kind === 'filter') {
      job.results.set(item.text, { metrics: result.metrics, ...(result.turns ? { turns: result.turns } : {}) });
      return;
    }
    const doc = job.doc;
    if (job.epoch !== doc.epoch || this.deps.docs.get(doc.uri) !== doc) return;
    if (doc.pending.get(item.text) === job.id) doc.pending.delete(item.text);
    if (!doc.records.hasText(item.text)) {
      // The line was edited while its record was being scored: the score (now in the store) belongs
      // to a text no line has, so it is not shown anywhere.
      job.discarded++;
      this.deps.log.log(`discarded a result for ${doc.uri}: the record's text changed while it was being scored`);
      return;
    }
    const failed = Object.values(result.metrics).find((outcome) => outcome && !outcome.ok);
    if (failed && !failed.ok && failed.transient) return this.setAside(job, [item]);
    if (failed && !failed.ok) doc.failures.set(item.text, failed.error);
    else doc.scores.set(item.text, toRecordScore(result, job.metrics, this.deps.validSet.metricSettings(doc)));
    doc.invalidateStats();
    // The job's first result is pushed without delay: it is the first label a curator waits for.
    this.deps.publisher.markDirty(doc, job.delivered === 0);
  }

  private async onJobStart(job: Job): Promise<void> {
    const { log, publisher } = this.deps;
    const doc = job.doc;
    publisher.jobErrors.delete(doc.uri);
    const what = job.kind === 'filter' ? 'scoring for the filter' : 'scoring';
    await this.deps.progress.beginJob(job, `Sift: ${what} ${displayName(doc)}`, () => {
      log.info(`job ${job.id} cancelled from the progress indicator`);
      this.scheduler.cancel((j) => j === job);
    });
    log.info(`job ${job.id} (${job.kind}) started for ${doc.uri}: ${formatCount(job.total)} records to score`);
    publisher.markDirty(doc);
    // The first batch is taken once the scorer can score it and the editor has said which lines are
    // on screen (it asks for their labels just after opening), so the shortest of them goes first.
    // Taken at once, it was line 1 of a dataset just opened: 1.3-1.7 s on the bundled model, where
    // the shortest record on screen took 0.4-1 s. A scorer that fails to load fails the batch,
    // which reports it.
    const screen = job.kind === 'score' && this.deps.reportsScreen() ? doc.screenKnown(SCREEN_WAIT_MS) : undefined;
    await Promise.all([this.deps.scorers().load().catch(() => undefined), screen]);
    if (job.metrics.includes('ds')) await this.deps.validSet.ensure(job);
  }

  private onJobProgress(job: Job): void {
    this.deps.progress.reportJob(job);
    this.deps.publisher.markDirty(job.doc);
  }

  private onJobEnd(job: Job, leftOver: JobItem[]): void {
    const { log, publisher } = this.deps;
    const doc = job.doc;
    if (job.kind === 'score' && job.epoch === doc.epoch) {
      for (const item of leftOver) if (doc.pending.get(item.text) === job.id) doc.pending.delete(item.text);
    }
    this.deps.progress.endJob(job);
    const summary = `job ${job.id} ${job.outcome}: ${formatCount(job.done)} of ${formatCount(job.total)} records`;
    const waiting = [...job.setAside].filter((text) => doc.waiting.has(text)).length;
    if (job.outcome === 'failed') {
      publisher.jobErrors.set(doc.uri, `scoring failed: ${job.error}`);
      log.error(`${summary}: ${job.error}`);
      log.warnOnce(`job:${job.error}`, `Sift: scoring failed: ${job.error}`);
    } else if (waiting > 0) {
      // Not "done": these records were not scored, and are scored when the endpoint answers again.
      log.warn(`job ${job.id} stopped: the endpoint is unreachable; ${formatCount(waiting)} of ${formatCount(job.total)} records wait for it to answer again`);
      // The endpoint answered again before the job ended: nothing else would queue them.
      if (!this.endpointDown()) this.resumeWaiting();
    } else {
      log.info(`${summary}${job.discarded > 0 ? ` (${job.discarded} result(s) for edited text discarded)` : ''}`);
    }
    publisher.markDirty(doc);
  }
}

/** The first line (0-based) with this text; -1 when none has it. */
function lineOf(doc: SiftDocument, text: string): number {
  for (let i = 0; i < doc.records.lineCount; i++) if (doc.records.line(i)!.text === text) return i;
  return -1;
}

/** The document's file name in progress titles. */
export function displayName(doc: SiftDocument): string {
  return doc.path ? basename(doc.path) : doc.uri;
}
