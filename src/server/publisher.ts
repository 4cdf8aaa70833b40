import type { Connection } from 'vscode-languageserver';
import type { MetricName } from '../core/metrics/types';
import { ScoresChangedNotification, StatusNotification, type SiftSettings, type StatusParams } from '../protocol';
import { documentDiagnostics, tooLargeMessage } from './diagnostics';
import { endpointParams } from './endpointHealth';
import type { SiftDocument } from './document';
import { errorMessage, type ServerLog } from './log';
import type { Scorers } from './resources';
import { scoringConfig } from './settings';

/** Scores, hints and diagnostics are pushed at most this often while a job streams results. */
const REFRESH_MS = 300;
/** Pushes wait at least this long after the change that caused them. */
const FLUSH_MIN_WAIT_MS = 50;

export interface PublisherDeps {
  connection: Connection;
  log: ServerLog;
  docs: ReadonlyMap<string, SiftDocument>;
  settingsFor(doc: SiftDocument): SiftSettings;
  scorers(): Scorers;
  /** The client shows the server's inlay hints and lets the server ask it to refresh them. */
  refreshHints(): boolean;
  isRunning(doc: SiftDocument): boolean;
  /** Metrics no record of this document has a value for, for a reason of the whole run (DS without its valid set): not repeated per line. */
  unavailable(doc: SiftDocument): ReadonlySet<MetricName>;
  /** Why the DS weight cannot be computed, when its valid set failed. */
  validSetError(doc: SiftDocument): string | undefined;
}

/**
 * What the client shows of each document (diagnostics, the colours' "scores changed", the status
 * item, inlay hints), pushed for the documents marked dirty, at most every REFRESH_MS.
 */
export class Publisher {
  /** The last scoring failure of each document, shown in its status until it is scored again. */
  readonly jobErrors = new Map<string, string>();
  private readonly dirty = new Set<string>();
  private flushTimer: NodeJS.Timeout | undefined;
  private lastFlush = 0;

  constructor(private readonly deps: PublisherDeps) {}

  /**
   * Schedules hints, colours, diagnostics and status of a document (throttled to REFRESH_MS).
   * `firstScore`: the document's first score arrived, which a curator is waiting for: no minimum wait.
   */
  markDirty(doc: SiftDocument, firstScore = false): void {
    this.dirty.add(doc.uri);
    if (this.flushTimer) return;
    // A short minimum wait lets the requests that usually follow an edit (hints for the screen) be
    // answered before diagnostics of the whole file are rebuilt, and coalesces fast typing.
    const wait = Math.max(firstScore ? 0 : FLUSH_MIN_WAIT_MS, this.lastFlush + REFRESH_MS - Date.now());
    this.flushTimer = setTimeout(() => this.deps.log.guard('refresh', () => this.flush()), wait);
  }

  /** A closed document: nothing more is pushed for it, and its diagnostics are cleared. */
  forget(uri: string): void {
    this.dirty.delete(uri);
    void this.deps.connection.sendDiagnostics({ uri, diagnostics: [] });
  }

  dispose(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
  }

  reportScorerError(doc: SiftDocument, error: unknown): void {
    const text = `the scorer could not be started: ${errorMessage(error)}`;
    this.deps.log.error(text);
    this.deps.log.warnOnce(`scorer:${errorMessage(error)}`, `Sift: ${text}`);
    this.markDirty(doc);
  }

  private flush(): void {
    const { connection, docs } = this.deps;
    this.flushTimer = undefined;
    this.lastFlush = Date.now();
    const uris = [...this.dirty];
    this.dirty.clear();
    let any = false;
    for (const uri of uris) {
      const doc = docs.get(uri);
      if (!doc) continue;
      any = true;
      const settings = this.deps.settingsFor(doc);
      void connection.sendDiagnostics({
        uri,
        version: doc.version,
        diagnostics: documentDiagnostics(doc, { settings, scored: scoringConfig(settings).metrics, unavailable: this.deps.unavailable(doc) }),
      });
      void connection.sendNotification(ScoresChangedNotification, { uri });
      void connection.sendNotification(StatusNotification, this.status(doc));
    }
    if (any && this.deps.refreshHints()) {
      connection.languages.inlayHint.refresh().catch((error: unknown) => this.deps.log.log(`inlay hint refresh failed: ${errorMessage(error)}`));
    }
  }

  private status(doc: SiftDocument): StatusParams {
    const scorers = this.deps.scorers();
    const scorer = scorers.ready;
    const error = scorers.lastError;
    const model = scorers.knownModelId ?? '';
    const { scored, total } = doc.tooLarge === undefined ? doc.counts() : { scored: 0, total: 0 };
    const validError = this.deps.validSetError(doc);
    const health = scorers.health;
    const allDown = health !== undefined && health.length > 0 && health.every((s) => !s.up);
    const notes = [
      doc.tooLarge !== undefined ? tooLargeMessage(doc.tooLarge) : '',
      error ? `the scorer is unavailable: ${error}` : '',
      this.jobErrors.get(doc.uri) ?? '',
      validError ? `DS weight unavailable: ${validError}` : '',
    ].filter(Boolean);
    return {
      uri: doc.uri,
      scored,
      total,
      running: this.deps.isRunning(doc),
      endpoint: scorers.endpoint,
      model,
      reachable: scorer ? !allDown : error ? false : undefined,
      message: notes.length > 0 ? notes.join('; ') : undefined,
      ...(health ? { endpoints: endpointParams(health) } : {}),
      ...(doc.waiting.size > 0 ? { waiting: doc.waiting.size } : {}),
    };
  }
}
