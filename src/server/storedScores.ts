import type { LineRecord } from '../core/document/documentRecords';
import { METHOD_VERSION } from '../core/metrics';
import type { MetricSettings } from '../core/metrics/recordMetrics';
import { toRecordScore } from '../core/scoring/recordScore';
import { lookupStoredTurns, type StoredLookup } from '../core/scoring/scoreRecords';
import { RetriesExhaustedError } from '../core/scoring/types';
import type { ScoreStore } from '../core/store';
import type { SiftSettings } from '../protocol';
import type { SiftDocument } from './document';
import { errorMessage, type ServerLog } from './log';
import { formatCount } from './presentation';
import type { Publisher } from './publisher';
import type { Scorers, Stores } from './resources';
import type { JobItem } from './scheduler';
import type { ScoringJobs } from './scoringJobs';
import { screenFirst } from './screenFirst';
import { scoringConfig } from './settings';

/**
 * How often the open stores are asked whether another process (a CLI run, another window) wrote to
 * them: the store's count of other processes' commits, one cheap query per store; a change re-sweeps
 * that store's documents.
 */
export const STORE_POLL_MS = 1000;
/** Stored scores are looked up this many lines at a time between other messages. */
const SWEEP_SLICE = 500;
/** Lines whose stored scores one request looks up at once. */
const RANGE_LOOKUP_LINES = 5000;

type CachedLookup = StoredLookup & { metricSettings: MetricSettings };

export interface StoredScoresDeps {
  log: ServerLog;
  docs: ReadonlyMap<string, SiftDocument>;
  settingsFor(doc: SiftDocument): SiftSettings;
  metricSettings(doc: SiftDocument): MetricSettings;
  /** DS is scored for this document and its valid set is not known yet. */
  needsValidSet(doc: SiftDocument): boolean;
  scorers(): Scorers;
  stores: Stores;
  jobs: () => ScoringJobs;
  publisher: Publisher;
  shuttingDown(): boolean;
}

/**
 * Scores from the store database `.sift/sift.db` (shared with the `sift` command line and other windows): looked up for the lines
 * on screen at once, and for the whole document a slice at a time after it opens (the sweep), so a
 * scored file shows its scores without the scorer doing any work.
 */
export class StoredScores {
  private readonly sweeps = new Map<SiftDocument, { epoch: number; promise: Promise<void> }>();
  private readonly versions = new WeakMap<ScoreStore, number>();
  private poll: NodeJS.Timeout | undefined;

  constructor(private readonly deps: StoredScoresDeps) {}

  /** Starts looking for scores other processes add to the open documents' stores (see STORE_POLL_MS). */
  watch(): void {
    this.poll ??= setInterval(() => this.pollStores(), STORE_POLL_MS).unref();
  }

  dispose(): void {
    clearInterval(this.poll);
    this.poll = undefined;
  }

  /** Re-sweeps each swept document whose store another connection has written to since the last poll. */
  pollStores(): void {
    if (this.deps.shuttingDown()) return;
    for (const doc of this.deps.docs.values()) {
      const store = this.deps.stores.loaded(doc.path);
      if (!store || doc.path === undefined) continue;
      let version: number | undefined;
      try {
        version = store.foreignCommits();
      } catch (error) {
        this.deps.log.error(`cannot read the score store for ${doc.uri}: ${errorMessage(error)}`);
        continue;
      }
      if (version === undefined) continue;
      const seen = this.versions.get(store);
      this.versions.set(store, version);
      if (seen === undefined || seen === version || !doc.swept) continue;
      this.deps.log.log(`${doc.uri}: the score store was written by another process; looking up stored scores again`);
      void this.sweep(doc);
    }
  }

  /** What a synchronous store look-up needs, when the model id and the store are known. */
  lookup(doc: SiftDocument, loaded?: { modelId: string; store: ScoreStore }): CachedLookup | undefined {
    const modelId = loaded?.modelId ?? this.deps.scorers().knownModelId;
    const store = loaded?.store ?? this.deps.stores.loaded(doc.path);
    if (modelId === undefined || !store) return undefined;
    return { store, config: scoringConfig(this.deps.settingsFor(doc)), modelId, methodVersion: METHOD_VERSION, metricSettings: this.deps.metricSettings(doc) };
  }

  /** The line's stored score, if it has one and no score yet; true when one was found. */
  resolveCached(doc: SiftDocument, line: LineRecord, lookup: CachedLookup): boolean {
    if (!line.scorable || doc.scores.has(line.text)) return false;
    const stored = lookupStoredTurns(line.pair!, lookup);
    if (!stored) return false;
    doc.scores.set(line.text, toRecordScore({ id: 0, ...stored }, lookup.config.metrics, lookup.metricSettings));
    doc.invalidateStats();
    return true;
  }

  /**
   * Stored scores for lines [from, to] (the visible ones, asked for by the editor); queued ones
   * among them move to the front of the queue (see screenFirst). A client asking for a whole huge
   * file at once (some do) gets the first RANGE_LOOKUP_LINES looked up now and the rest from the
   * sweep.
   */
  resolveRange(doc: SiftDocument, from: number, to: number): void {
    const lookup = this.lookup(doc);
    const last = Math.min(to, doc.records.lineCount - 1, from + RANGE_LOOKUP_LINES);
    let found = 0;
    for (let i = Math.max(0, from); i <= last; i++) {
      if (lookup && this.resolveCached(doc, doc.records.line(i)!, lookup)) found++;
    }
    // The lines asked about show these scores at once: the status count must follow, not lag until the sweep gets there.
    if (found > 0) this.deps.publisher.markDirty(doc);
    this.deps.jobs().prioritize(doc, screenFirst(doc, Math.max(0, from), last));
  }

  /**
   * After open or a change of settings: gets the model id (part of every store key) and the store,
   * looks up every line's stored score a slice at a time (requests are answered in between), then
   * queues what is missing when the document is scored automatically.
   */
  sweep(doc: SiftDocument): Promise<void> {
    const running = this.sweeps.get(doc);
    if (running && running.epoch === doc.epoch) return running.promise;
    const epoch = doc.epoch;
    const promise = this.sweepOnce(doc).finally(() => {
      if (this.sweeps.get(doc)?.promise === promise) this.sweeps.delete(doc);
    });
    this.sweeps.set(doc, { epoch, promise });
    return promise;
  }

  /** Scorable lines in [from, to] with no score, not queued, each text once. */
  unscored(doc: SiftDocument, from: number, to: number): JobItem[] {
    const items: JobItem[] = [];
    const seen = new Set<string>();
    for (let i = Math.max(0, from); i <= to && i < doc.records.lineCount; i++) {
      const line = doc.records.line(i)!;
      if (!line.scorable || doc.scores.has(line.text) || doc.pending.has(line.text) || seen.has(line.text)) continue;
      seen.add(line.text);
      items.push({ text: line.text, pair: line.pair! });
    }
    return items;
  }

  private async sweepOnce(doc: SiftDocument): Promise<void> {
    if (doc.tooLarge !== undefined) return;
    const { docs, publisher } = this.deps;
    const epoch = doc.epoch;
    const current = (): boolean => docs.get(doc.uri) === doc && doc.epoch === epoch && !this.deps.shuttingDown();
    let modelId: string;
    try {
      modelId = await this.deps.scorers().modelId();
    } catch (error) {
      publisher.reportScorerError(doc, error);
      // No endpoint answered: the records wait for one, and are queued when it does (ScoringJobs.resumeWaiting).
      if (error instanceof RetriesExhaustedError && doc.autoScore && current()) {
        for (const item of this.unscored(doc, 0, doc.records.lineCount - 1)) doc.waiting.set(item.text, item.pair);
        publisher.markDirty(doc);
      }
      return;
    }
    let store: ScoreStore;
    try {
      store = await this.deps.stores.get(doc.path);
    } catch (error) {
      this.deps.log.error(`cannot read the score store for ${doc.uri}: ${errorMessage(error)}`);
      return;
    }
    if (!current()) return;
    // What this sweep sees: a later write by another process is found by the next poll.
    const version = store.foreignCommits();
    if (version !== undefined) this.versions.set(store, version);
    let foundAll = 0;
    for (let start = 0; start < doc.records.lineCount; start += SWEEP_SLICE) {
      const end = Math.min(doc.records.lineCount, start + SWEEP_SLICE);
      const lookup = this.lookup(doc, { modelId, store })!;
      let found = 0;
      for (let i = start; i < end; i++) if (this.resolveCached(doc, doc.records.line(i)!, lookup)) found++;
      if (found > 0) publisher.markDirty(doc);
      foundAll += found;
      await new Promise((resolve) => setImmediate(resolve));
      if (!current()) return;
    }
    this.deps.log.log(`${doc.uri}: stored scores looked up for every line, ${formatCount(foundAll)} found here (the lines on screen may have found theirs before)`);
    doc.swept = true;
    doc.edited.clear();
    publisher.markDirty(doc);
    const needsValidSet = this.deps.needsValidSet(doc);
    if (doc.autoScore || needsValidSet) this.deps.jobs().enqueue(doc, doc.autoScore ? this.unscored(doc, 0, doc.records.lineCount - 1) : [], false, needsValidSet);
  }
}
