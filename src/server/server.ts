import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  CodeActionKind,
  ErrorCodes,
  ExecuteCommandRequest,
  LSPErrorCodes,
  MessageType,
  ShowMessageNotification,
  ResponseError,
  TextDocumentSyncKind,
  TextDocuments,
  type CodeAction,
  type Connection,
  type Hover,
  type InitializeParams,
  type InitializeResult,
  type InlayHint,
  type CancellationToken,
  type ProgressToken,
  type WorkDoneProgressReporter,
  type WorkDoneProgressServerReporter,
} from 'vscode-languageserver';
import { TextDocument } from 'vscode-languageserver-textdocument';
import type { LineRecord } from '../core/document/documentRecords';
import { packageRoot as defaultPackageRoot } from '../core/io/packageRoot';
import { METHOD_VERSION } from '../core/metrics';
import { computeRecordMetrics, type MetricSettings } from '../core/metrics/recordMetrics';
import type { MetricName } from '../core/metrics/types';
import { TeacherError } from '../core/reflect';
import { redactUrls } from '../core/net/redact';
import { toRecordScore } from '../core/scoring/recordScore';
import { lookupStored, scoreRecords, type RecordLossResult, type StoredLookup } from '../core/scoring/scoreRecords';
import { validSetMeanLoss } from '../core/scoring/validSet';
import type { ScoreStore } from '../core/store';
import {
  Commands,
  DEFAULT_REFLECTION_SETTINGS,
  DEFAULT_SETTINGS,
  LineScoresRequest,
  NO_TEACHER,
  ScoresChangedNotification,
  SettingsChangedNotification,
  StatusNotification,
  type FilterOptions,
  type InitializationOptions,
  type LineScore,
  type LineScoresParams,
  type LineScoresResult,
  type ReflectionBatchParams,
  type ReflectionSettings,
  type ScoresChangedParams,
  type SettingsChangedParams,
  type SiftSettings,
  type StatusParams,
} from '../protocol';
import { codeActions, dropEdit, onlyKinds } from './codeActions';
import { documentDiagnostics, tooLargeMessage } from './diagnostics';
import { fileUriToPath, SiftDocument } from './document';
import { FilterError, filterDocument } from './filter';
import { recordHover } from './hover';
import type { ReflectionMode, ReflectionView } from '../protocol/reflectionView';
import { NoTeacherError, ReflectionRequestError, Reflections, normalizeReflectionSettings, reflectionSettingsFromSection, type ReportProgress } from './reflection';
import { bucketOf, FAILED_LABEL, formatCount, PENDING_LABEL, primaryMetric, scoreLabel } from './presentation';
import { Stores, Scorers } from './resources';
import { Job, Scheduler, type JobItem } from './scheduler';
import { formatOf, normalizeSettings, resolveSettingPath, scorerIdentity, scorerSettings, scoringConfig, scoringIdentity } from './settings';

/** Scores, hints and diagnostics are pushed at most this often while a job streams results. */
const REFRESH_MS = 300;
/** Pushes wait at least this long after the change that caused them. */
const FLUSH_MIN_WAIT_MS = 50;
/** Edits are re-scored once typing pauses this long. */
const EDIT_DEBOUNCE_MS = 500;
/** Stored scores are looked up this many lines at a time between other messages. */
const SWEEP_SLICE = 500;
/** Lines whose stored scores one request looks up at once. */
const RANGE_LOOKUP_LINES = 5000;
/** A client that does not answer window/workDoneProgress/create in time gets no progress bar. */
const PROGRESS_CREATE_TIMEOUT_MS = 5000;
/** No DS valid set: DS has no value for any record, which is not worth a diagnostic per line. */
const NO_VALID_SET = 'no DS valid set configured';

interface ClientCaps {
  workDoneProgress: boolean;
  inlayHintRefresh: boolean;
  documentChanges: boolean;
  inlayHints: boolean;
  /** The client shows reflection results itself (VS Code's diff view). */
  reflectionView: boolean;
}

type CachedLookup = StoredLookup & { metricSettings: MetricSettings };

/** What a command handler gets besides its arguments: the request's cancellation and the client's progress token. */
interface CommandContext {
  token?: CancellationToken;
  workDoneToken?: ProgressToken;
}

interface ValidState {
  identity: string;
  value?: number;
  error?: string;
}

/**
 * Sift's language server: any LSP client gets diagnostics, inlay hints, hovers, code actions and
 * commands for JSONL datasets; the VS Code client also uses the custom messages in `../protocol`.
 * State per open document lives in SiftDocument; scoring runs through one Scheduler for the server.
 */
export class SiftServer {
  private settings: SiftSettings = DEFAULT_SETTINGS;
  private reflectionSettings: ReflectionSettings = DEFAULT_REFLECTION_SETTINGS;
  private apiKey: string | undefined;
  private root: string = defaultPackageRoot();
  private workspaceRoot: string | undefined;
  private caps: ClientCaps = { workDoneProgress: false, inlayHintRefresh: false, documentChanges: false, inlayHints: true, reflectionView: false };
  private reflections!: Reflections;
  private readonly documents = new TextDocuments(TextDocument);
  private readonly docs = new Map<string, SiftDocument>();
  private scorers!: Scorers;
  // A store that cannot be written (a read-only folder) keeps its scores in memory and retries on every flush.
  private readonly stores = new Stores((path, error) => {
    if (!error) return this.info(`score store ${path} written again`);
    this.error(`cannot write the score store ${path}: ${message(error)}`);
    this.warnOnce(`store:${path}`, `Sift: cannot write the score store ${path} (${message(error)}). Scores are kept for this session and saving is retried.`);
  });
  private readonly scheduler: Scheduler;
  private valid: ValidState | undefined;
  private readonly reporters = new Map<number, WorkDoneProgressServerReporter>();
  private readonly jobErrors = new Map<string, string>();
  private readonly editTimers = new Map<string, NodeJS.Timeout>();
  private readonly dirty = new Set<string>();
  private flushTimer: NodeJS.Timeout | undefined;
  private lastFlush = 0;
  private readonly shownErrors = new Set<string>();
  private readonly sweeps = new Map<SiftDocument, { epoch: number; promise: Promise<void> }>();
  private shuttingDown = false;

  constructor(private readonly connection: Connection) {
    this.scheduler = new Scheduler({
      batchLimits: () => (this.settings.backend === 'local' ? { chars: 4000, items: 32 } : { chars: 256_000, items: 1024 }),
      filterBatch: (job, batch) => this.filterBatch(job, batch),
      runBatch: (job, batch) => this.runBatch(job, batch),
      onStart: (job) => this.onJobStart(job),
      onProgress: (job) => this.onJobProgress(job),
      onEnd: (job, leftOver) => this.onJobEnd(job, leftOver),
    });
  }

  listen(): void {
    const c = this.connection;
    c.onInitialize((params) => this.initialize(params));
    c.onInitialized(() => {
      this.info(`Sift language server ready (package ${this.root})`);
      // The model's identity is part of every store key: read it now, and start loading the model,
      // so the first file shows its stored scores at once and starts scoring sooner. A failure is
      // reported when a file needs the scorer.
      this.scorers.modelId().catch(() => undefined);
      this.scorers.load().catch(() => undefined);
    });
    c.onShutdown(() => this.shutdown());
    c.onNotification(SettingsChangedNotification, (params: SettingsChangedParams) =>
      this.guard('settings', () => this.applySettings(params?.settings, params?.scorerApiKey, params?.reflection, params?.teacherApiKey)),
    );
    c.onDidChangeConfiguration((params) =>
      this.guard('configuration', () => {
        // Generic clients (Neovim's `settings`, Helix's `config`) send `{ sift: {...} }`; VS Code's client uses sift/settingsChanged.
        const section = (params?.settings as Record<string, unknown> | null | undefined)?.sift;
        if (section && typeof section === 'object') {
          const reflection = reflectionSettingsFromSection(section as Record<string, unknown>, this.reflectionSettings);
          this.applySettings({ ...this.settings, ...section }, undefined, reflection);
        }
      }),
    );
    this.documents.onDidOpen((e) => this.guard('open', () => this.open(e.document)));
    this.documents.onDidChangeContent((e) => this.guard('change', () => this.change(e.document)));
    this.documents.onDidClose((e) => this.guard('close', () => this.close(e.document.uri)));
    c.onHover((params) => this.guard('hover', () => this.hover(params.textDocument.uri, params.position.line), null));
    c.onCodeAction((params) =>
      this.guard('code actions', () => {
        const doc = this.docs.get(params.textDocument.uri);
        if (!doc) return [];
        const actions = codeActions(doc, params.range, params.context.diagnostics, this.caps.documentChanges, { apply: !this.caps.reflectionView });
        return onlyKinds(actions, params.context.only);
      }, [] as CodeAction[]),
    );
    c.languages.inlayHint.on((params) =>
      this.guard('inlay hints', () => this.inlayHints(params.textDocument.uri, params.range.start.line, params.range.end.line), [] as InlayHint[]),
    );
    c.onRequest(LineScoresRequest, (params: LineScoresParams) => this.guard('line scores', () => this.lineScores(params), { version: params?.version ?? 0, scores: [] }));
    // Registered as a plain request rather than with onExecuteCommand, which strips the client's
    // workDoneToken from the params before a handler sees it.
    c.onRequest(ExecuteCommandRequest.type, (params, token) => this.execute(params.command, params.arguments ?? [], { token, workDoneToken: params.workDoneToken }));
    this.documents.listen(c);
    c.listen();
  }

  // ---- lifecycle and settings ------------------------------------------------------------------

  private initialize(params: InitializeParams): InitializeResult {
    const options = (params.initializationOptions ?? {}) as Partial<InitializationOptions>;
    if (typeof options.packageRoot === 'string' && options.packageRoot) this.root = options.packageRoot;
    const caps = params.capabilities;
    this.caps = {
      workDoneProgress: caps.window?.workDoneProgress === true,
      inlayHintRefresh: caps.workspace?.inlayHint?.refreshSupport === true,
      documentChanges: caps.workspace?.workspaceEdit?.documentChanges === true,
      inlayHints: options.inlayHints !== false,
      reflectionView: options.reflectionView === true,
    };
    const folder = params.workspaceFolders?.[0]?.uri ?? params.rootUri ?? undefined;
    if (folder?.startsWith('file:')) {
      try {
        this.workspaceRoot = fileURLToPath(folder);
      } catch {
        this.workspaceRoot = undefined;
      }
    }
    this.scorers = new Scorers(this.root, (message) => this.info(message));
    this.reflections = new Reflections({
      scorers: this.scorers,
      stores: this.stores,
      settings: () => this.settings,
      workspaceRoot: () => this.workspaceRoot,
      ifdScores: (doc, items, signal) => this.ifdScores(doc, items, signal),
      info: (text) => this.info(text),
    });
    this.reflectionSettings = normalizeReflectionSettings(options.reflection);
    this.reflections.configure(this.reflectionSettings, typeof options.teacherApiKey === 'string' ? options.teacherApiKey : undefined);
    this.settings = normalizeSettings(options.settings);
    this.apiKey = typeof options.scorerApiKey === 'string' && options.scorerApiKey ? options.scorerApiKey : undefined;
    this.scorers.configure(scorerSettings(this.settings, this.apiKey), scorerIdentity(this.settings, this.apiKey));
    this.info(`settings: ${JSON.stringify(this.settings)}${this.apiKey ? ' (an API key is set)' : ''}; ${this.reflections.describe()}`);
    return {
      capabilities: {
        textDocumentSync: { openClose: true, change: TextDocumentSyncKind.Incremental },
        hoverProvider: true,
        codeActionProvider: { codeActionKinds: [CodeActionKind.QuickFix, CodeActionKind.RefactorRewrite] },
        inlayHintProvider: this.caps.inlayHints ? { resolveProvider: false } : undefined,
        executeCommandProvider: { commands: Object.values(Commands) },
      },
      serverInfo: { name: 'sift', version: packageVersion(this.root) },
    };
  }

  private applySettings(raw: unknown, apiKey?: string, reflection?: unknown, teacherApiKey?: string): void {
    if (reflection !== undefined || teacherApiKey !== undefined) {
      if (reflection !== undefined) this.reflectionSettings = normalizeReflectionSettings(reflection);
      if (this.reflections.configure(this.reflectionSettings, teacherApiKey)) this.info(`reflection settings changed: ${this.reflections.describe()}`);
    }
    const next = normalizeSettings(raw);
    const prev = this.settings;
    this.settings = next;
    if (apiKey !== undefined) this.apiKey = apiKey || undefined;
    const scorerChanged = this.scorers.configure(scorerSettings(next, this.apiKey), scorerIdentity(next, this.apiKey));
    const scoringChanged = scoringIdentity(prev) !== scoringIdentity(next);
    const formatChanged = prev.format !== next.format;
    this.info(`settings changed: ${JSON.stringify(next)}${this.apiKey ? ' (an API key is set)' : ''}`);
    if (scorerChanged || scoringChanged || formatChanged) {
      this.scheduler.cancel(() => true);
      this.valid = undefined;
      this.jobErrors.clear();
      for (const doc of this.docs.values()) {
        if (formatChanged) doc.setText(this.documents.get(doc.uri)?.getText() ?? '', formatOf(next));
        else doc.invalidateScores();
        doc.autoScore ||= next.autoScoreOnOpen;
        void this.sweep(doc);
      }
    }
    for (const doc of this.docs.values()) this.markDirty(doc);
  }

  private async shutdown(): Promise<void> {
    this.shuttingDown = true;
    this.scheduler.cancel(() => true);
    for (const timer of this.editTimers.values()) clearTimeout(timer);
    if (this.flushTimer) clearTimeout(this.flushTimer);
    await this.scheduler.idle();
    await this.stores.flushAll();
    await this.reflections.flush();
    await this.scorers.dispose();
  }

  // ---- documents -------------------------------------------------------------------------------

  private open(document: TextDocument): void {
    if (!isDataset(document)) return;
    // Read the store while the text is parsed; `sweep` picks it up (a failure is reported there).
    this.stores.get(fileUriToPath(document.uri)).catch(() => undefined);
    const doc = new SiftDocument(document.uri, document.version, document.getText(), formatOf(this.settings));
    doc.autoScore = this.settings.autoScoreOnOpen;
    this.docs.set(doc.uri, doc);
    this.info(`opened ${doc.uri}: ${formatCount(doc.records.lineCount)} lines, format ${doc.records.format.name} (${doc.records.formatSource})`);
    if (doc.tooLarge !== undefined) this.warnOnce(`too-large:${doc.uri}`, tooLargeMessage(doc.tooLarge));
    this.markDirty(doc);
    void this.sweep(doc);
  }

  private change(document: TextDocument): void {
    const doc = this.docs.get(document.uri);
    if (!doc || doc.version === document.version) return;
    doc.version = document.version;
    const change = doc.update(document.getText());
    if (!change || change.formatChanged) {
      if (change?.formatChanged) this.info(`${doc.uri}: the records now read as ${doc.records.format.name}`);
      this.markDirty(doc);
      void this.sweep(doc);
      return;
    }
    const lookup = this.lookup(doc);
    if (lookup) {
      for (let i = change.start; i < change.start + change.inserted; i++) this.resolveCached(doc, doc.records.line(i)!, lookup);
    }
    this.markDirty(doc);
    const timer = this.editTimers.get(doc.uri);
    if (timer) clearTimeout(timer);
    this.editTimers.set(doc.uri, setTimeout(() => this.guard('edit', () => this.scoreEdits(doc)), EDIT_DEBOUNCE_MS));
  }

  private close(uri: string): void {
    const doc = this.docs.get(uri);
    if (!doc) return;
    this.scheduler.cancel((job) => job.doc === doc);
    const timer = this.editTimers.get(uri);
    if (timer) clearTimeout(timer);
    this.editTimers.delete(uri);
    this.docs.delete(uri);
    this.dirty.delete(uri);
    void this.connection.sendDiagnostics({ uri, diagnostics: [] });
  }

  /** After typing pauses: the changed records that are not scored yet go to the queue (only those). */
  private scoreEdits(doc: SiftDocument): void {
    this.editTimers.delete(doc.uri);
    if (this.docs.get(doc.uri) !== doc || !doc.swept) return;
    const items: JobItem[] = [];
    for (const [text, pair] of doc.edited) {
      if (doc.records.hasText(text) && !doc.scores.has(text) && !doc.pending.has(text)) items.push({ text, pair });
    }
    doc.edited.clear();
    if (doc.autoScore && items.length > 0) this.enqueue(doc, items);
  }

  // ---- stored scores ----------------------------------------------------------------------------

  private metricSettings(): MetricSettings {
    return { ifdVariant: this.settings.ifdVariant, dsRule: this.settings.dsRule, validMeanLoss: this.valid?.value };
  }

  /** What a synchronous store look-up needs, when the model id and the store are known. */
  private lookup(doc: SiftDocument, loaded?: { modelId: string; store: ScoreStore }): CachedLookup | undefined {
    const modelId = loaded?.modelId ?? this.scorers.knownModelId;
    const store = loaded?.store ?? this.stores.loaded(doc.path);
    if (modelId === undefined || !store) return undefined;
    return { store, config: scoringConfig(this.settings), modelId, methodVersion: METHOD_VERSION, metricSettings: this.metricSettings() };
  }

  private resolveCached(doc: SiftDocument, line: LineRecord, lookup: CachedLookup): boolean {
    if (!line.scorable || doc.scores.has(line.text)) return false;
    const metrics = lookupStored(line.pair!, lookup);
    if (!metrics) return false;
    doc.scores.set(line.text, toRecordScore({ id: 0, metrics }, lookup.config.metrics, lookup.metricSettings));
    doc.invalidateStats();
    return true;
  }

  /**
   * Stored scores for lines [from, to] (the visible ones, asked for by the editor); queued ones
   * among them move to the front of the queue. A client asking for a whole huge file at once (some
   * do) gets the first RANGE_LOOKUP_LINES looked up now and the rest from the sweep.
   */
  private resolveRange(doc: SiftDocument, from: number, to: number): void {
    const lookup = this.lookup(doc);
    const wanted = new Set<string>();
    const last = Math.min(to, doc.records.lineCount - 1, from + RANGE_LOOKUP_LINES);
    for (let i = Math.max(0, from); i <= last; i++) {
      const line = doc.records.line(i)!;
      if (lookup) this.resolveCached(doc, line, lookup);
      if (doc.pending.has(line.text)) wanted.add(line.text);
    }
    if (wanted.size > 0) this.scheduler.scoreJobOf(doc)?.prioritize(wanted);
  }

  /**
   * After open or a change of settings: gets the model id (part of every store key) and the store,
   * looks up every line's stored score a slice at a time (requests are answered in between), then
   * queues what is missing when the document is scored automatically.
   */
  private sweep(doc: SiftDocument): Promise<void> {
    const running = this.sweeps.get(doc);
    if (running && running.epoch === doc.epoch) return running.promise;
    const epoch = doc.epoch;
    const promise = this.sweepOnce(doc).finally(() => {
      if (this.sweeps.get(doc)?.promise === promise) this.sweeps.delete(doc);
    });
    this.sweeps.set(doc, { epoch, promise });
    return promise;
  }

  private async sweepOnce(doc: SiftDocument): Promise<void> {
    if (doc.tooLarge !== undefined) return;
    const epoch = doc.epoch;
    const current = (): boolean => this.docs.get(doc.uri) === doc && doc.epoch === epoch && !this.shuttingDown;
    let modelId: string;
    try {
      modelId = await this.scorers.modelId();
    } catch (error) {
      this.reportScorerError(doc, error);
      return;
    }
    let store: ScoreStore;
    try {
      store = await this.stores.get(doc.path);
    } catch (error) {
      this.error(`cannot read the score store for ${doc.uri}: ${message(error)}`);
      return;
    }
    if (!current()) return;
    for (let start = 0; start < doc.records.lineCount; start += SWEEP_SLICE) {
      const end = Math.min(doc.records.lineCount, start + SWEEP_SLICE);
      const lookup = this.lookup(doc, { modelId, store })!;
      let found = 0;
      for (let i = start; i < end; i++) if (this.resolveCached(doc, doc.records.line(i)!, lookup)) found++;
      if (found > 0) this.markDirty(doc);
      await new Promise((resolve) => setImmediate(resolve));
      if (!current()) return;
    }
    doc.swept = true;
    doc.edited.clear();
    this.markDirty(doc);
    const needsValidSet = scoringConfig(this.settings).metrics.includes('ds') && this.valid?.value === undefined && this.valid?.error === undefined;
    if (doc.autoScore || needsValidSet) this.enqueue(doc, doc.autoScore ? this.unscored(doc, 0, doc.records.lineCount - 1) : [], false, needsValidSet);
  }

  private unscored(doc: SiftDocument, from: number, to: number): JobItem[] {
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

  // ---- scoring jobs ----------------------------------------------------------------------------

  /** Adds records to the document's score job (made if there is none); `front` scores them first. */
  private enqueue(doc: SiftDocument, items: JobItem[], front = false, evenIfEmpty = false): number {
    let job = this.scheduler.scoreJobOf(doc);
    const isNew = job === undefined;
    job ??= new Job(doc, 'score', doc.epoch, scoringConfig(this.settings).metrics);
    const fresh = items.filter((item) => !doc.pending.has(item.text) && !doc.scores.has(item.text));
    for (const item of fresh) doc.failures.delete(item.text);
    job.add(fresh, front);
    for (const item of fresh) doc.pending.set(item.text, job.id);
    if (isNew && (fresh.length > 0 || evenIfEmpty)) this.scheduler.submit(job);
    else if (!isNew) this.onJobProgress(job);
    this.markDirty(doc);
    return fresh.length;
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
    const config = { ...scoringConfig(this.settings), metrics: job.metrics };
    const local = this.settings.backend === 'local';
    try {
      await this.scorers.with(async (scorer) => {
        const store = await this.stores.get(doc.path);
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
            concurrency: local ? 2 : this.settings.concurrency * Math.max(1, this.settings.endpointUrls.length),
            onResult: (result) => this.deliver(job, batch[result.id], result),
          },
        );
        await store.flush();
      });
    } finally {
      if (job.kind === 'score' && job.epoch === doc.epoch) {
        for (const item of batch) if (doc.pending.get(item.text) === job.id) doc.pending.delete(item.text);
      }
    }
  }

  private deliver(job: Job, item: JobItem, result: RecordLossResult): void {
    if (job.kind === 'filter') {
      job.results.set(item.text, result.metrics);
      return;
    }
    const doc = job.doc;
    if (job.epoch !== doc.epoch || this.docs.get(doc.uri) !== doc) return;
    if (doc.pending.get(item.text) === job.id) doc.pending.delete(item.text);
    if (!doc.records.hasText(item.text)) {
      // The line was edited while its record was being scored: the score (now in the store) belongs
      // to a text no line has, so it is not shown anywhere.
      job.discarded++;
      this.log(`discarded a result for ${doc.uri}: the record's text changed while it was being scored`);
      return;
    }
    const failed = Object.values(result.metrics).find((outcome) => outcome && !outcome.ok);
    if (failed && !failed.ok) doc.failures.set(item.text, failed.error);
    else doc.scores.set(item.text, toRecordScore(result, job.metrics, this.metricSettings()));
    doc.invalidateStats();
    this.markDirty(doc);
  }

  private async onJobStart(job: Job): Promise<void> {
    const doc = job.doc;
    this.jobErrors.delete(doc.uri);
    const reporter = this.caps.workDoneProgress ? await this.createProgress() : undefined;
    if (reporter) {
      this.reporters.set(job.id, reporter);
      reporter.token.onCancellationRequested(() => {
        this.info(`job ${job.id} cancelled from the progress indicator`);
        this.scheduler.cancel((j) => j === job);
      });
      const what = job.kind === 'filter' ? 'scoring for the filter' : 'scoring';
      reporter.begin(`Sift: ${what} ${displayName(doc)}`, 0, progressMessage(job), true);
    }
    this.info(`job ${job.id} (${job.kind}) started for ${doc.uri}: ${formatCount(job.total)} records to score`);
    this.markDirty(doc);
    if (job.metrics.includes('ds')) await this.ensureValidMean(job);
  }

  private async createProgress(): Promise<WorkDoneProgressServerReporter | undefined> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), PROGRESS_CREATE_TIMEOUT_MS)));
    try {
      return await Promise.race([this.connection.window.createWorkDoneProgress(), late]);
    } catch (error) {
      this.log(`no progress indicator: ${message(error)}`);
      return undefined;
    } finally {
      clearTimeout(timer);
    }
  }

  private onJobProgress(job: Job): void {
    const reporter = this.reporters.get(job.id);
    if (reporter) reporter.report(job.total > 0 ? Math.floor((100 * job.done) / job.total) : 100, progressMessage(job));
    this.markDirty(job.doc);
  }

  private onJobEnd(job: Job, leftOver: JobItem[]): void {
    const doc = job.doc;
    if (job.kind === 'score' && job.epoch === doc.epoch) {
      for (const item of leftOver) if (doc.pending.get(item.text) === job.id) doc.pending.delete(item.text);
    }
    const reporter = this.reporters.get(job.id);
    this.reporters.delete(job.id);
    reporter?.done();
    const summary = `job ${job.id} ${job.outcome}: ${formatCount(job.done)} of ${formatCount(job.total)} records`;
    if (job.outcome === 'failed') {
      this.jobErrors.set(doc.uri, `scoring failed: ${job.error}`);
      this.error(`${summary}: ${job.error}`);
      this.warnOnce(`job:${job.error}`, `Sift: scoring failed: ${job.error}`);
    } else {
      this.info(`${summary}${job.discarded > 0 ? ` (${job.discarded} result(s) for edited text discarded)` : ''}`);
    }
    this.markDirty(doc);
  }

  /** DS weight needs the valid set's mean loss: computed once per settings, on the queue. */
  private async ensureValidMean(job: Job): Promise<void> {
    const identity = scoringIdentity(this.settings) + scorerIdentity(this.settings, this.apiKey);
    if (this.valid?.identity === identity) return;
    const path = resolveSettingPath(this.settings.dsValidSet, this.workspaceRoot);
    this.reporters.get(job.id)?.report(0, 'scoring the DS valid set');
    try {
      const value = await this.scorers.with(async (scorer) => {
        const store = await this.stores.get(job.doc.path);
        const mean = await validSetMeanLoss(path, {
          scorer,
          store,
          config: scoringConfig(this.settings),
          dsRule: this.settings.dsRule,
          methodVersion: METHOD_VERSION,
          signal: job.signal,
        });
        await store.flush();
        return mean;
      });
      this.valid = { identity, value };
      this.info(`DS valid set ${path}: mean loss ${value}`);
    } catch (error) {
      // A cancelled job, or a scorer that cannot start (the job fails with that): nothing is known about the valid set.
      if (job.signal.aborted || this.scorers.lastError !== undefined) throw error;
      this.valid = { identity, error: message(error) };
      this.error(`DS valid set: ${message(error)}`);
      this.warnOnce(`valid:${message(error)}`, `Sift: DS weight is unavailable: ${message(error)}`);
    }
    const config = scoringConfig(this.settings);
    for (const doc of this.docs.values()) {
      for (const score of doc.scores.values()) {
        if (!score.error) score.metrics = computeRecordMetrics(score.losses, config.metrics, this.metricSettings());
      }
      doc.invalidateStats();
      this.markDirty(doc);
    }
  }

  /** Scores for the Filter command: stored ones at once, the rest through the queue. */
  private async scoreForFilter(doc: SiftDocument, items: JobItem[], metrics: MetricName[]): Promise<Map<string, RecordLossResult['metrics']>> {
    const modelId = await this.scorers.modelId();
    const store = await this.stores.get(doc.path);
    const config = { ...scoringConfig(this.settings), metrics };
    const results = new Map<string, RecordLossResult['metrics']>();
    const missing: JobItem[] = [];
    for (const item of items) {
      const stored = lookupStored(item.pair, { store, config, modelId, methodVersion: METHOD_VERSION });
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

  // ---- requests --------------------------------------------------------------------------------

  private inlayHints(uri: string, from: number, to: number): InlayHint[] {
    const doc = this.docs.get(uri);
    if (!doc || doc.tooLarge !== undefined) return [];
    this.resolveRange(doc, from, to);
    const hints: InlayHint[] = [];
    for (let i = Math.max(0, from); i <= to && i < doc.records.lineCount; i++) {
      const label = this.lineLabel(doc, doc.records.line(i)!);
      if (label) hints.push({ position: { line: i, character: doc.lineEnd(i) }, label: label.text, paddingLeft: true });
    }
    return hints;
  }

  private lineLabel(doc: SiftDocument, line: LineRecord): { text: string; score?: ReturnType<SiftDocument['scoreOf']>; pending?: boolean } | undefined {
    if (!line.scorable) return undefined;
    const score = doc.scores.get(line.text);
    if (score) return { text: scoreLabel(score, this.settings.metrics), score };
    // Before stored scores are known, every record of an auto-scored file is as good as queued.
    const queued = doc.autoScore && !doc.swept && this.scorers.lastError === undefined;
    if (doc.pending.has(line.text) || queued) return { text: PENDING_LABEL, pending: true };
    if (doc.failures.has(line.text)) return { text: FAILED_LABEL };
    return undefined;
  }

  private lineScores(params: LineScoresParams): LineScoresResult {
    const doc = this.docs.get(params.uri);
    if (!doc || doc.tooLarge !== undefined) return { version: doc?.version ?? params.version, scores: [] };
    const from = Math.max(0, Math.floor(params.startLine));
    const to = Math.min(doc.records.lineCount - 1, Math.floor(params.endLine));
    this.resolveRange(doc, from, to);
    const metric = primaryMetric(this.settings.metrics);
    const scores: LineScore[] = [];
    for (let i = from; i <= to; i++) {
      const label = this.lineLabel(doc, doc.records.line(i)!);
      if (!label) continue;
      let bucket: LineScore['bucket'] = label.pending ? -1 : -2;
      if (label.score) {
        const value = label.score.metrics[metric]?.value;
        bucket = bucketOf(value, metric, this.settings, this.settings.colorBy === 'percentile' ? doc.values(metric) : undefined);
      }
      scores.push({ line: i, label: label.text, bucket });
    }
    return { version: doc.version, scores };
  }

  private hover(uri: string, line: number): Hover | null {
    const doc = this.docs.get(uri);
    if (!doc || doc.tooLarge !== undefined) return null;
    this.resolveRange(doc, line, line);
    const value = recordHover(doc, line, {
      settings: this.settings,
      scored: scoringConfig(this.settings).metrics,
      modelId: this.scorers.knownModelId,
      endpoint: this.scorers.endpoint,
      dsNote: this.valid?.error ?? (this.settings.dsValidSet && this.valid?.value === undefined ? 'the DS valid set is not scored yet' : undefined),
    });
    if (!value) return null;
    return {
      contents: { kind: 'markdown', value },
      range: { start: { line, character: doc.column(line, 0) }, end: { line, character: doc.lineEnd(line) } },
    };
  }

  // ---- commands --------------------------------------------------------------------------------

  private async execute(command: string, args: unknown[], ctx: CommandContext = {}): Promise<unknown> {
    try {
      switch (command) {
        case Commands.reflect:
          return await this.commandReflect(args, ctx);
        case Commands.estimateReflection: {
          const doc = this.requireDoc(args[0]);
          const progress = await this.commandProgress(`Sift: estimating reflection of ${displayName(doc)}`, ctx);
          try {
            return await this.reflections.estimate(doc, (args[1] ?? {}) as ReflectionBatchParams, progress.signal);
          } finally {
            progress.done();
          }
        }
        case Commands.reflectBatch: {
          const doc = this.requireDoc(args[0]);
          const params = (args[1] ?? {}) as ReflectionBatchParams;
          const progress = await this.commandProgress(`Sift: reflecting records of ${displayName(doc)}`, ctx);
          try {
            const result = await this.reflections.reflectBatch(doc, params, progress.signal, progress.report);
            const s = result.summary;
            this.info(
              `reflect batch ${doc.uri} (${params.mode}): ${s.records} record(s), ${s.changed} changed, ${s.failed} failed, ${s.calls} teacher call(s), ${s.cachedReflections} from the cache${result.cancelled ? ' (cancelled)' : ''}${result.error ? `; stopped: ${result.error}` : ''}`,
            );
            return result;
          } finally {
            progress.done();
          }
        }
        case Commands.scoreFile: {
          // Without a URI (Helix's :lsp-workspace-command sends none): every open dataset.
          if (args[0] === undefined) {
            const docs = [...this.docs.values()].filter((d) => d.tooLarge === undefined);
            const queued = await Promise.all(docs.map((d) => this.commandScore(d, undefined)));
            return { queued: queued.reduce((sum, q) => sum + q.queued, 0) };
          }
          return this.commandScore(this.requireDoc(args[0]), undefined);
        }
        case Commands.scoreLines:
          return this.commandScore(this.requireDoc(args[0]), [toLine(args[1]), toLine(args[2] ?? args[1])]);
        case Commands.cancel: {
          const uri = typeof args[0] === 'string' ? args[0] : undefined;
          const n = this.scheduler.cancel((job) => uri === undefined || job.doc.uri === uri).length;
          this.info(`cancel: ${n} job(s) stopped`);
          return { cancelled: n };
        }
        case Commands.filterFile: {
          const doc = this.requireDoc(args[0]);
          const text = this.documents.get(doc.uri)?.getText() ?? '';
          const result = await filterDocument(doc, text, args[1] as FilterOptions, {
            settings: this.settings,
            metricSettings: async () => this.metricSettings(),
            scoreAll: (items, metrics) => this.scoreForFilter(doc, items, metrics),
          });
          this.info(`filter ${doc.uri}: kept ${result.kept} of ${result.total} -> ${result.outPath}`);
          return result;
        }
        case Commands.clearScores:
          return await this.commandClear(typeof args[0] === 'string' ? args[0] : undefined);
        case Commands.dropRecord: {
          const doc = this.requireDoc(args[0]);
          const line = toLine(args[1]);
          if (typeof args[2] === 'number' && args[2] !== doc.version) return { applied: false, reason: 'the document changed' };
          if (line >= doc.records.lineCount) throw new ResponseError(ErrorCodes.InvalidParams, `no line ${line}`);
          const result = await this.connection.workspace.applyEdit({ label: 'Drop record', edit: dropEdit(doc, line, this.caps.documentChanges) });
          return { applied: result.applied };
        }
        default:
          throw new ResponseError(ErrorCodes.MethodNotFound, `unknown command ${command}`);
      }
    } catch (error) {
      if (error instanceof ResponseError) throw error;
      if (error instanceof FilterError) throw new ResponseError(ErrorCodes.InvalidParams, error.message);
      if (error instanceof NoTeacherError) throw new ResponseError(ErrorCodes.InvalidRequest, error.message, { reason: NO_TEACHER });
      if (error instanceof ReflectionRequestError) throw new ResponseError(ErrorCodes.InvalidParams, error.message);
      if (ctx.token?.isCancellationRequested || (error instanceof Error && error.name === 'AbortError')) {
        throw new ResponseError(LSPErrorCodes.RequestCancelled, `${command} was cancelled`);
      }
      if (error instanceof TeacherError) {
        this.error(`${command}: ${error.message}`);
        throw new ResponseError(LSPErrorCodes.RequestFailed, `the teacher call failed: ${error.message}`);
      }
      this.error(`${command} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      throw new ResponseError(ErrorCodes.InternalError, `${command} failed: ${message(error)}`);
    }
  }

  /**
   * [uri, line, mode, version?, { apply? }]: one record through the pipeline. A version that is no
   * longer the document's is refused (the line may hold another record now).
   */
  private async commandReflect(args: unknown[], ctx: CommandContext): Promise<ReflectionView> {
    const doc = this.requireDoc(args[0]);
    const line = toLine(args[1]);
    const mode = (args[2] ?? 'selective') as ReflectionMode;
    if (typeof args[3] === 'number' && args[3] !== doc.version) {
      throw new ReflectionRequestError('the document changed since this action was offered: ask for it again on the record');
    }
    const apply = (args[4] as { apply?: unknown } | undefined)?.apply === true;
    const progress = await this.commandProgress(`Sift: reflecting line ${line + 1} (${mode})`, ctx);
    let view: ReflectionView;
    try {
      view = await this.reflections.reflectOne(doc, line, mode, progress.signal, progress.report);
    } finally {
      progress.done();
    }
    this.info(`reflect ${doc.uri}:${line + 1} (${mode}): ${view.reason}${view.error ? `; ${view.error}` : ''}`);
    if (apply) await this.applyReflection(doc, view);
    return view;
  }

  /** For editors without Sift's diff view: writes the kept record back (an ordinary, undoable edit) and says what happened. */
  private async applyReflection(doc: SiftDocument, view: ReflectionView): Promise<void> {
    const where = `Sift: line ${view.line + 1}`;
    const kept = view.candidates.find((c) => c.id === view.kept);
    if (!view.changed || !kept || kept.id === 'original') {
      this.notify(MessageType.Info, `${where}: ${view.reason}${view.error ? ` (${view.error})` : ''}`);
      return;
    }
    if (kept.line === undefined) {
      this.notify(MessageType.Warning, `${where}: ${kept.lineError ?? 'the kept pair cannot be written back'}`);
      return;
    }
    if (this.docs.get(doc.uri) !== doc || doc.records.line(view.line)?.text !== view.originalText) {
      this.notify(MessageType.Warning, `${where}: the record changed while it was being reflected; nothing was written`);
      return;
    }
    const range = { start: { line: view.line, character: doc.column(view.line, 0) }, end: { line: view.line, character: doc.lineEnd(view.line) } };
    const edit = this.caps.documentChanges
      ? { documentChanges: [{ textDocument: { uri: doc.uri, version: doc.version }, edits: [{ range, newText: kept.line }] }] }
      : { changes: { [doc.uri]: [{ range, newText: kept.line }] } };
    const result = await this.connection.workspace.applyEdit({ label: 'Sift: reflection', edit });
    this.notify(MessageType.Info, `${where}: ${result.applied ? '' : 'not applied: '}${view.reason}`);
  }

  /** A message with no actions: the window/showMessage notification (nothing to answer). */
  private notify(type: MessageType, text: string): void {
    void this.connection.sendNotification(ShowMessageNotification.type, { type, message: text });
  }

  /**
   * Progress for a long command: on the client's own token when it sent one (it cancels the
   * request), else a server-created, cancellable indicator when the client supports one.
   */
  private async commandProgress(title: string, ctx: CommandContext): Promise<{ signal: AbortSignal; report: ReportProgress; done: () => void }> {
    const controller = new AbortController();
    const subscription = ctx.token?.onCancellationRequested(() => controller.abort());
    let reporter: WorkDoneProgressReporter | undefined;
    if (ctx.workDoneToken !== undefined) {
      reporter = this.connection.window.attachWorkDoneProgress(ctx.workDoneToken);
    } else if (this.caps.workDoneProgress) {
      const created = await this.createProgress();
      created?.token.onCancellationRequested(() => controller.abort());
      reporter = created;
    }
    reporter?.begin(title, 0, undefined, true);
    return {
      signal: controller.signal,
      report: (message, percentage) => (percentage === undefined ? reporter?.report(message) : reporter?.report(percentage, message)),
      done: () => {
        subscription?.dispose();
        reporter?.done();
      },
    };
  }

  /** IFD by text for the "N lowest" selection: stored scores at once, the rest scored on the queue. */
  private async ifdScores(doc: SiftDocument, items: JobItem[], signal: AbortSignal): Promise<Map<string, number | null>> {
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
      for (const [text, metrics] of scored) known.set(text, toRecordScore({ id: 0, metrics }, ['ifd'], this.metricSettings()).metrics.ifd?.value ?? null);
    } catch (error) {
      if (signal.aborted) throw new DOMException('cancelled', 'AbortError');
      throw new ReflectionRequestError(`scoring the records to find the lowest IFD failed: ${message(error)}`);
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
    return known;
  }

  private requireDoc(uri: unknown): SiftDocument {
    const doc = typeof uri === 'string' ? this.docs.get(uri) : undefined;
    if (!doc) throw new ResponseError(ErrorCodes.InvalidParams, `not an open dataset: ${String(uri)}`);
    if (doc.tooLarge !== undefined) throw new ResponseError(ErrorCodes.InvalidParams, tooLargeMessage(doc.tooLarge));
    return doc;
  }

  private async commandScore(doc: SiftDocument, lines: [number, number] | undefined): Promise<{ queued: number }> {
    this.scorers.retry();
    this.jobErrors.delete(doc.uri);
    if (!lines) doc.autoScore = true;
    for (const text of doc.failures.keys()) doc.failures.delete(text);
    if (!doc.swept) {
      // The sweep queues everything once stored scores are known; lines asked for go first.
      if (lines) {
        await this.sweep(doc);
        return { queued: this.enqueue(doc, this.unscored(doc, lines[0], lines[1]), true) };
      }
      void this.sweep(doc);
      return { queued: 0 };
    }
    const [from, to] = lines ?? [0, doc.records.lineCount - 1];
    this.resolveRange(doc, from, to);
    return { queued: this.enqueue(doc, this.unscored(doc, from, to), lines !== undefined) };
  }

  private async commandClear(uri: string | undefined): Promise<{ cleared: number }> {
    const targets = [...this.docs.values()].filter((d) => uri === undefined || d.uri === uri);
    await Promise.all(this.scheduler.cancel((job) => targets.includes(job.doc)).map((job) => job.finished));
    const stores = new Set<ScoreStore>();
    for (const doc of targets) stores.add(await this.stores.get(doc.path));
    for (const store of stores) await store.clear();
    // Every open document whose store was cleared loses its scores, not only the one asked for.
    for (const doc of this.docs.values()) {
      if (!stores.has(await this.stores.get(doc.path))) continue;
      doc.invalidateScores();
      this.markDirty(doc);
      void this.sweep(doc);
    }
    this.info(`cleared ${stores.size} score store(s)`);
    return { cleared: stores.size };
  }

  // ---- pushing to the client -------------------------------------------------------------------

  /** Schedules hints, colours, diagnostics and status of a document (throttled to REFRESH_MS). */
  private markDirty(doc: SiftDocument): void {
    this.dirty.add(doc.uri);
    if (this.flushTimer) return;
    // A short minimum wait lets the requests that usually follow an edit (hints for the screen) be
    // answered before diagnostics of the whole file are rebuilt, and coalesces fast typing.
    const wait = Math.max(FLUSH_MIN_WAIT_MS, this.lastFlush + REFRESH_MS - Date.now());
    this.flushTimer = setTimeout(() => this.guard('refresh', () => this.flush()), wait);
  }

  private flush(): void {
    this.flushTimer = undefined;
    this.lastFlush = Date.now();
    const uris = [...this.dirty];
    this.dirty.clear();
    let any = false;
    for (const uri of uris) {
      const doc = this.docs.get(uri);
      if (!doc) continue;
      any = true;
      const config = scoringConfig(this.settings);
      void this.connection.sendDiagnostics({
        uri,
        version: doc.version,
        diagnostics: documentDiagnostics(doc, { settings: this.settings, scored: config.metrics, globalReasons: new Set([NO_VALID_SET]) }),
      });
      void this.connection.sendNotification(ScoresChangedNotification, { uri } satisfies ScoresChangedParams);
      void this.connection.sendNotification(StatusNotification, this.status(doc));
    }
    if (any && this.caps.inlayHints && this.caps.inlayHintRefresh) {
      this.connection.languages.inlayHint.refresh().catch((error: unknown) => this.log(`inlay hint refresh failed: ${message(error)}`));
    }
  }

  private status(doc: SiftDocument): StatusParams {
    const scorer = this.scorers.ready;
    const error = this.scorers.lastError;
    const model = this.scorers.knownModelId ?? '';
    const { scored, total } = doc.tooLarge === undefined ? doc.counts() : { scored: 0, total: 0 };
    const notes = [
      doc.tooLarge !== undefined ? tooLargeMessage(doc.tooLarge) : '',
      error ? `the scorer is unavailable: ${error}` : '',
      this.jobErrors.get(doc.uri) ?? '',
      this.valid?.error ? `DS weight unavailable: ${this.valid.error}` : '',
    ].filter(Boolean);
    return {
      uri: doc.uri,
      scored,
      total,
      running: this.scheduler.isRunning(doc),
      endpoint: this.scorers.endpoint,
      model,
      reachable: scorer ? true : error ? false : undefined,
      message: notes.length > 0 ? notes.join('; ') : undefined,
    };
  }

  private reportScorerError(doc: SiftDocument, error: unknown): void {
    const text = `the scorer could not be started: ${message(error)}`;
    this.error(text);
    this.warnOnce(`scorer:${message(error)}`, `Sift: ${text}`);
    this.markDirty(doc);
  }

  private warnOnce(key: string, text: string): void {
    if (this.shownErrors.has(key)) return;
    this.shownErrors.add(key);
    void this.connection.window.showWarningMessage(text);
  }

  // Every log line leaves without URL credentials or query strings (settings and errors name
  // endpoints, and a key may hide in either); VS Code's channel redacts too, other editors do not.
  private info(text: string): void {
    this.connection.console.info(redactUrls(text));
  }

  private log(text: string): void {
    this.connection.console.log(redactUrls(text));
  }

  private error(text: string): void {
    this.connection.console.error(redactUrls(text));
  }

  /** Runs a handler so that a bug or bad input is logged, never fatal. */
  private guard<T>(what: string, run: () => T, fallback?: T): T {
    try {
      return run();
    } catch (error) {
      this.error(`${what} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      return fallback as T;
    }
  }
}

function isDataset(document: TextDocument): boolean {
  return ['jsonl', 'ndjson', 'jsonlines'].includes(document.languageId) || /\.(jsonl|ndjson)$/i.test(document.uri);
}

function displayName(doc: SiftDocument): string {
  return doc.path ? basename(doc.path) : doc.uri;
}

function progressMessage(job: Job): string {
  return `${formatCount(job.done)} / ${formatCount(job.total)} scored`;
}

function toLine(value: unknown): number {
  const n = typeof value === 'number' ? value : Number(value);
  if (!Number.isInteger(n) || n < 0) throw new ResponseError(ErrorCodes.InvalidParams, `expected a 0-based line number, got ${String(value)}`);
  return n;
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function packageVersion(root: string): string {
  try {
    return (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version?: string }).version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

