import type { TextDocuments } from 'vscode-languageserver';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import { isDatasetDocument, type SiftSettings } from '../protocol';
import type { Configuration } from './configuration';
import { tooLargeMessage } from './diagnostics';
import { fileUriToPath, SiftDocument } from './document';
import type { ServerLog } from './log';
import { formatCount } from './presentation';
import type { Publisher } from './publisher';
import type { Stores } from './resources';
import type { JobItem } from './scheduler';
import type { ScoringJobs } from './scoringJobs';
import { formatOf } from './settings';
import type { StoredScores } from './storedScores';

/** Edits are re-scored once typing pauses this long. */
const EDIT_DEBOUNCE_MS = 500;

export interface OpenDocumentsDeps {
  log: ServerLog;
  /** The open datasets by URI: filled here, read by the rest of the server. */
  docs: Map<string, SiftDocument>;
  /** The editor's text of each open document (kept by the LSP library). */
  texts: TextDocuments<TextDocument>;
  config: Configuration;
  shuttingDown(): boolean;
  stores: Stores;
  stored: StoredScores;
  jobs: ScoringJobs;
  publisher: Publisher;
  /** A dataset is opening: get the scorer ready while its settings and stored scores are read. */
  prepareScorer(): void;
}

/**
 * The open datasets, kept in step with the editor: each open (once its settings are known), edit
 * and close, and the debounce that queues edited records for scoring once typing pauses.
 */
export class OpenDocuments {
  private readonly editTimers = new Map<string, NodeJS.Timeout>();
  /** Datasets whose settings are being pulled before they open: requests about them wait for it. */
  private readonly opening = new Map<string, Promise<void>>();

  constructor(private readonly deps: OpenDocumentsDeps) {}

  /** The editor's current text of a document. */
  text(uri: string): string {
    return this.deps.texts.get(uri)?.getText() ?? '';
  }

  /**
   * A document opened. With pulled settings a dataset opens once its folder's settings are known;
   * edits meanwhile are in the text it is then read from.
   */
  open(document: TextDocument): void {
    if (!isDatasetDocument(document)) return;
    this.deps.prepareScorer();
    const { config } = this.deps;
    if (!config.pulled) return this.openWith(document, config.wide);
    const uri = document.uri;
    const opened = config.fetch([uri]).then((pulled) =>
      this.deps.log.guard('open', () => {
        const current = this.deps.texts.get(uri);
        if (!current || this.deps.docs.has(uri) || this.deps.shuttingDown()) return;
        const settings = pulled?.documents.get(uri);
        if (settings) config.set(config.wide, new Map([[uri, settings]]));
        this.openWith(current, config.forDocument(uri));
      }),
    );
    this.opening.set(uri, opened);
    void opened.finally(() => {
      if (this.opening.get(uri) === opened) this.opening.delete(uri);
    });
  }

  /** Runs a request about a document once it has opened (or, without a URI, once every dataset being opened has); at once when none is pending. */
  afterOpen<T>(uri: string | undefined, run: () => T): T | Promise<T> {
    if (this.opening.size === 0) return run();
    const pending = uri !== undefined ? this.opening.get(uri) : Promise.all(this.opening.values());
    return pending ? pending.then(run) : run();
  }

  private openWith(document: TextDocument, settings: SiftSettings): void {
    const { log, stores, stored, publisher } = this.deps;
    // Read the store while the text is parsed; `sweep` picks it up (a failure is reported there).
    stores.get(fileUriToPath(document.uri)).catch(() => undefined);
    const doc = new SiftDocument(document.uri, document.version, document.getText(), formatOf(settings));
    doc.autoScore = settings.autoScoreOnOpen;
    this.deps.docs.set(doc.uri, doc);
    log.info(`opened ${doc.uri}: ${formatCount(doc.records.lineCount)} lines, format ${doc.records.format.name} (${doc.records.formatSource})`);
    if (doc.tooLarge !== undefined) log.warnOnce(`too-large:${doc.uri}`, tooLargeMessage(doc.tooLarge));
    publisher.markDirty(doc);
    void stored.sweep(doc);
  }

  change(document: TextDocument): void {
    const { log, stored, publisher } = this.deps;
    const doc = this.deps.docs.get(document.uri);
    if (!doc || doc.version === document.version) return;
    doc.version = document.version;
    const change = doc.update(document.getText());
    if (!change || change.formatChanged) {
      if (change?.formatChanged) log.info(`${doc.uri}: the records now read as ${doc.records.format.name}`);
      publisher.markDirty(doc);
      void stored.sweep(doc);
      return;
    }
    const lookup = stored.lookup(doc);
    if (lookup) {
      for (let i = change.start; i < change.start + change.inserted; i++) stored.resolveCached(doc, doc.records.line(i)!, lookup);
    }
    publisher.markDirty(doc);
    const timer = this.editTimers.get(doc.uri);
    if (timer) clearTimeout(timer);
    this.editTimers.set(doc.uri, setTimeout(() => log.guard('edit', () => this.scoreEdits(doc)), EDIT_DEBOUNCE_MS));
  }

  close(uri: string): void {
    const doc = this.deps.docs.get(uri);
    if (!doc) return;
    this.deps.jobs.scheduler.cancel((job) => job.doc === doc);
    const timer = this.editTimers.get(uri);
    if (timer) clearTimeout(timer);
    this.editTimers.delete(uri);
    this.deps.docs.delete(uri);
    this.deps.config.forget(uri);
    this.deps.publisher.forget(uri);
  }

  dispose(): void {
    for (const timer of this.editTimers.values()) clearTimeout(timer);
  }

  /** After typing pauses: the changed records that are not scored yet go to the queue (only those). */
  private scoreEdits(doc: SiftDocument): void {
    this.editTimers.delete(doc.uri);
    if (this.deps.docs.get(doc.uri) !== doc || !doc.swept) return;
    const items: JobItem[] = [];
    for (const [text, pair] of doc.edited) {
      if (doc.records.hasText(text) && !doc.scores.has(text) && !doc.pending.has(text)) items.push({ text, pair });
    }
    doc.edited.clear();
    if (doc.autoScore && items.length > 0) this.deps.jobs.enqueue(doc, items);
  }
}
