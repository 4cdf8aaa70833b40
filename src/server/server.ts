/*
 * A little over 400 lines on purpose: this is the one place where every LSP message meets the part
 * that answers it (see the list of files in ../../README.md, Architecture); each handler here is a
 * line or two of wiring, and splitting them would hide which message goes where.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CodeActionKind,
  type DocumentSymbol,
  ExecuteCommandRequest,
  TextDocumentSyncKind,
  TextDocuments,
  type CodeAction,
  type Connection,
  type InitializeParams,
  type InitializeResult,
  type InlayHint,
} from 'vscode-languageserver';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { packageRoot as defaultPackageRoot } from '../core/io/packageRoot';
import {
  LineScoresRequest,
  OverviewRequest,
  RecordByScoreRequest,
  RecordRequest,
  SettingsChangedNotification,
  type InitializationOptions,
  type LineScoresParams,
  type OverviewParams,
  type SettingsChangedParams,
  type SiftSettings,
} from '../protocol';
import { codeActions, onlyKinds } from './codeActions';
import { ServerCommands } from './commands';
import { Configuration } from './configuration';
import type { SiftDocument } from './document';
import { errorMessage, ServerLog } from './log';
import { OpenDocuments } from './openDocuments';
import { overviewRequest } from './overview';
import { Progress } from './progress';
import { Publisher } from './publisher';
import { RecordQueries } from './records';
import { Reflections, normalizeReflectionSettings, reflectionSettingsFromSection } from './reflection';
import { Requests } from './requests';
import { Stores, Scorers } from './resources';
import { ScoringJobs } from './scoringJobs';
import { formatOf, normalizeSettings, scorerIdentity, scorerSettings, scoringIdentity } from './settings';
import { StoredScores } from './storedScores';
import { ValidSet } from './validSet';

interface ClientCaps {
  workDoneProgress: boolean;
  inlayHintRefresh: boolean;
  documentChanges: boolean;
  inlayHints: boolean;
  /** The client shows reflection results itself (VS Code's diff view). */
  reflectionView: boolean;
  /** The client tells the server when workspace folders come and go. */
  workspaceFolders: boolean;
  /** The client renders `command:` links in hover markdown. */
  commandLinks: boolean;
  /** Advertise textDocument/documentSymbol (the VS Code client registers its own provider, to refresh it as scores land). */
  documentSymbols: boolean;
  /** The client reports the lines on screen (InitializationOptions.visibleLines). */
  visibleLines: boolean;
}

/**
 * Sift's language server: any LSP client gets diagnostics, inlay hints, hovers, code actions and
 * commands for JSONL datasets; the VS Code client also uses the custom messages in `../protocol`.
 * This file wires the LSP messages to the parts that do the work and holds the settings; state per
 * open document lives in SiftDocument, and scoring runs through one queue for the server.
 */
export class SiftServer {
  private apiKey: string | undefined;
  /** See InitializationOptions.workspaceTrusted. */
  private trusted = true;
  private root: string = defaultPackageRoot();
  private caps: ClientCaps = { workDoneProgress: false, inlayHintRefresh: false, documentChanges: false, inlayHints: true, reflectionView: false, workspaceFolders: false, commandLinks: false, documentSymbols: true, visibleLines: false };
  private scorers!: Scorers;
  private reflections!: Reflections;
  private shuttingDown = false;
  /** A settings pull in flight, and whether another was asked for meanwhile. */
  private refreshing: Promise<void> | undefined;
  private refreshAgain = false;
  private readonly texts = new TextDocuments(TextDocument);
  private readonly docs = new Map<string, SiftDocument>();
  private readonly log: ServerLog;
  private readonly config: Configuration;
  // A store that cannot be written (a read-only folder) keeps its scores in memory and retries on every flush.
  private readonly stores = new Stores((path, error) => {
    if (!error) return this.log.info(`score store ${path} written again`);
    this.log.error(`cannot write the score store ${path}: ${errorMessage(error)}`);
    this.log.warnOnce(`store:${path}`, `Sift: cannot write the score store ${path} (${errorMessage(error)}). Scores are kept for this session and saving is retried.`);
  });
  private readonly progress: Progress;
  private readonly publisher: Publisher;
  private readonly validSet: ValidSet;
  private readonly jobs: ScoringJobs;
  private readonly stored: StoredScores;
  private readonly documents: OpenDocuments;
  private readonly requests: Requests;
  private readonly records: RecordQueries;
  private readonly commands: ServerCommands;

  constructor(private readonly connection: Connection) {
    const log = (this.log = new ServerLog(connection));
    this.config = new Configuration(connection, log);
    const docs = this.docs;
    const stores = this.stores;
    const settingsFor = (doc: SiftDocument): SiftSettings => this.settingsFor(doc);
    const scorers = (): Scorers => this.scorers;
    this.progress = new Progress(connection, () => this.caps.workDoneProgress, log);
    this.publisher = new Publisher({
      connection,
      log,
      docs,
      settingsFor,
      scorers,
      refreshHints: () => this.caps.inlayHints && this.caps.inlayHintRefresh,
      isRunning: (doc) => this.jobs.scheduler.isRunning(doc),
      unavailable: (doc) => this.validSet.unavailable(doc),
      validSetError: (doc) => this.validSet.error(doc),
    });
    const markDirty = (doc: SiftDocument): void => this.publisher.markDirty(doc);
    this.validSet = new ValidSet({
      log,
      docs,
      settingsFor,
      folderOf: (doc) => this.config.folderOf(doc.path),
      apiKey: () => this.apiKey,
      scorers,
      stores,
      progress: this.progress,
      markDirty,
    });
    const metricSettings = (doc: SiftDocument) => this.validSet.metricSettings(doc);
    this.jobs = new ScoringJobs({ log, reportsScreen: () => this.caps.visibleLines, docs, settings: () => this.config.wide, settingsFor, scorers, stores, publisher: this.publisher, progress: this.progress, validSet: this.validSet });
    this.stored = new StoredScores({
      log,
      docs,
      settingsFor,
      metricSettings,
      needsValidSet: (doc) => this.validSet.needsScoring(doc),
      scorers,
      stores,
      jobs: () => this.jobs,
      publisher: this.publisher,
      shuttingDown: () => this.shuttingDown,
    });
    this.documents = new OpenDocuments({
      log,
      docs,
      texts: this.texts,
      config: this.config,
      shuttingDown: () => this.shuttingDown,
      stores,
      stored: this.stored,
      jobs: this.jobs,
      publisher: this.publisher,
      prepareScorer: () => this.prepareScorer(),
    });
    this.requests = new Requests({ docs, settingsFor, scorers, stored: this.stored, validSet: this.validSet, commandLinks: () => this.caps.commandLinks, trusted: () => this.trusted });
    this.records = new RecordQueries({ docs, settingsFor, scorers, stored: this.stored, trusted: () => this.trusted });
    this.commands = new ServerCommands({
      connection,
      log,
      docs,
      text: (uri) => this.documents.text(uri),
      settingsFor,
      metricSettings,
      documentChanges: () => this.caps.documentChanges,
      scorers,
      stores,
      reflections: () => this.reflections,
      jobs: this.jobs,
      stored: this.stored,
      publisher: this.publisher,
      progress: this.progress,
      apiKey: () => this.apiKey,
      packageRoot: () => this.root,
    });
  }

  listen(): void {
    const c = this.connection;
    const { log } = this;
    c.onInitialize((params) => this.initialize(params));
    c.onInitialized(() => this.initialized());
    c.onShutdown(() => this.shutdown());
    c.onNotification(SettingsChangedNotification, (params: SettingsChangedParams) =>
      log.guard('settings', () => {
        if (typeof params?.workspaceTrusted === 'boolean' && params.workspaceTrusted !== this.trusted) {
          this.trusted = params.workspaceTrusted;
          this.reflections.setTrusted(this.trusted);
          log.info(`workspace ${this.trusted ? 'trusted' : 'restricted'}: scores and reflections that came with the folder are ${this.trusted ? 'used as they are' : 'marked unverified / asked again'}`);
        }
        // A client that answers workspace/configuration is asked again (its settings here are for one folder only); the keys apply either way.
        if (!this.config.pulled) return this.applySettings({ wide: normalizeSettings(params?.settings), apiKey: params?.scorerApiKey, reflection: params?.reflection, teacherApiKey: params?.teacherApiKey });
        if (params?.settings) this.config.push(normalizeSettings(params.settings));
        this.applySettings({ wide: this.config.wide, documents: new Map(), apiKey: params?.scorerApiKey, teacherApiKey: params?.teacherApiKey });
        this.refresh();
      }),
    );
    c.onDidChangeConfiguration((params) =>
      log.guard('configuration', () => {
        // Generic clients (Neovim's `settings`, Helix's `config`) send `{ sift: {...} }`; a client
        // that answers workspace/configuration is asked again whatever it sent (VS Code sends null).
        const section = (params?.settings as Record<string, unknown> | null | undefined)?.sift;
        const pushed = section && typeof section === 'object' ? (section as Record<string, unknown>) : undefined;
        const reflection = pushed && reflectionSettingsFromSection(pushed, this.config.reflection);
        if (this.config.pulled) {
          if (pushed) this.config.push(normalizeSettings({ ...this.config.base, ...pushed }));
          if (reflection) this.config.reflection = reflection;
          return this.refresh();
        }
        if (pushed) this.applySettings({ wide: normalizeSettings({ ...this.config.wide, ...pushed }), reflection });
      }),
    );
    this.texts.onDidOpen((e) => log.guard('open', () => this.documents.open(e.document)));
    this.texts.onDidChangeContent((e) => log.guard('change', () => this.documents.change(e.document)));
    this.texts.onDidClose((e) => log.guard('close', () => this.documents.close(e.document.uri)));
    c.onHover((params) => this.documents.afterOpen(params.textDocument.uri, () => log.guard('hover', () => this.requests.hover(params.textDocument.uri, params.position.line), null)));
    c.onCodeAction((params) =>
      this.documents.afterOpen(params.textDocument.uri, () =>
        log.guard('code actions', () => {
          const doc = this.docs.get(params.textDocument.uri);
          if (!doc) return [];
          const actions = codeActions(doc, params.range, params.context.diagnostics, this.caps.documentChanges, { apply: !this.caps.reflectionView });
          return onlyKinds(actions, params.context.only);
        }, [] as CodeAction[]),
      ),
    );
    c.languages.inlayHint.on((params) =>
      this.documents.afterOpen(params.textDocument.uri, () =>
        log.guard('inlay hints', () => this.requests.inlayHints(params.textDocument.uri, params.range.start.line, params.range.end.line), [] as InlayHint[]),
      ),
    );
    c.onRequest(LineScoresRequest, (params: LineScoresParams) =>
      this.documents.afterOpen(params?.uri, () => log.guard('line scores', () => this.requests.lineScores(params), { version: params?.version ?? 0, scores: [] })),
    );
    c.onRequest(OverviewRequest, (params: OverviewParams) =>
      this.documents.afterOpen(params?.uri, () => overviewRequest(params, { docs: this.docs, settingsFor: (doc) => this.settingsFor(doc), stored: this.stored, isScoring: (doc) => this.jobs.scheduler.isRunning(doc) })),
    );
    c.onDocumentSymbol((params) => this.documents.afterOpen(params.textDocument.uri, () => log.guard('document symbols', () => this.records.symbols(params.textDocument.uri), [] as DocumentSymbol[])));
    c.onRequest(RecordRequest, (params) => this.documents.afterOpen(params?.uri, () => log.guard('record', () => this.records.details(params), null)));
    c.onRequest(RecordByScoreRequest, (params) => this.documents.afterOpen(params?.uri, () => log.guard('record by score', () => this.records.byScore(params), null)));
    // Registered as a plain request rather than with onExecuteCommand, which strips the client's
    // workDoneToken from the params before a handler sees it.
    c.onRequest(ExecuteCommandRequest.type, (params, token) => {
      const args = params.arguments ?? [];
      return this.documents.afterOpen(typeof args[0] === 'string' ? args[0] : undefined, () =>
        this.commands.execute(params.command, args, { token, workDoneToken: params.workDoneToken }),
      );
    });
    this.texts.listen(c);
    c.listen();
  }

  private settingsFor(doc: SiftDocument): SiftSettings {
    return this.config.forDocument(doc.uri);
  }

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
      workspaceFolders: caps.workspace?.workspaceFolders === true,
      commandLinks: options.commandLinks === true,
      documentSymbols: options.documentSymbols !== false,
      visibleLines: options.visibleLines === true,
    };
    this.scorers = new Scorers(this.root, (message) => this.log.info(message));
    this.scorers.onHealthChange((change) => {
      this.jobs.onHealthChange(change);
      // Documents opened while no endpoint answered have not looked up their stored scores yet.
      if (change.flipped && change.state.up) for (const doc of this.docs.values()) if (!doc.swept) void this.stored.sweep(doc);
    });
    this.reflections = new Reflections({
      scorers: this.scorers,
      stores: this.stores,
      settings: () => this.config.wide,
      folderOf: (doc) => this.config.folderOf(doc.path),
      ifdScores: (doc, items, signal) => this.jobs.ifdScores(doc, items, signal, this.validSet.metricSettings(doc)),
      info: (text) => this.log.info(text),
    });
    const reflection = normalizeReflectionSettings(options.reflection);
    this.trusted = options.workspaceTrusted !== false;
    this.reflections.setTrusted(this.trusted);
    this.config.initialize(params, options.settings, reflection);
    this.reflections.configure(reflection, typeof options.teacherApiKey === 'string' ? options.teacherApiKey : undefined);
    const settings = this.config.wide;
    this.apiKey = typeof options.scorerApiKey === 'string' && options.scorerApiKey ? options.scorerApiKey : undefined;
    this.scorers.configure(scorerSettings(settings, this.apiKey), scorerIdentity(settings, this.apiKey));
    this.log.info(`settings: ${JSON.stringify(settings)}${this.apiKey ? ' (an API key is set)' : ''}; ${this.reflections.describe()}${this.config.pulled ? '; settings are pulled per document' : ''}`);
    return {
      capabilities: {
        textDocumentSync: { openClose: true, change: TextDocumentSyncKind.Incremental },
        hoverProvider: true,
        codeActionProvider: { codeActionKinds: [CodeActionKind.QuickFix, CodeActionKind.RefactorRewrite] },
        inlayHintProvider: this.caps.inlayHints ? { resolveProvider: false } : undefined,
        documentSymbolProvider: this.caps.documentSymbols ? { label: 'Sift records' } : undefined,
        executeCommandProvider: { commands: this.commands.ids },
        workspace: this.caps.workspaceFolders ? { workspaceFolders: { supported: true, changeNotifications: true } } : undefined,
      },
      serverInfo: { name: 'sift', version: packageVersion(this.root) },
    };
  }

  private initialized(): void {
    this.log.info(`Sift language server ready (package ${this.root})`);
    // The VS Code client starts the server with a workspace that holds a dataset, before one is
    // opened: start llama.cpp now (a second or so) and load the local model the settings name, so
    // that opening a dataset waits for neither (bench/firstScore.mjs: the model was ready 0.2-0.9 s
    // after the dataset opened when it was loaded then). An endpoint is connected only for a dataset:
    // its probes and errors would be noise in a workspace where none is opened.
    void this.scorers.warmUp();
    if (this.config.wide.backend === 'local') this.prepareScorer();
    this.stored.watch();
    if (this.caps.workspaceFolders) {
      this.connection.workspace.onDidChangeWorkspaceFolders(() =>
        this.connection.workspace.getWorkspaceFolders().then(
          (folders) => {
            this.config.setFolders(folders?.map((f) => f.uri) ?? []);
            this.refresh();
          },
          (error: unknown) => this.log.error(`workspace/workspaceFolders failed: ${errorMessage(error)}`),
        ),
      );
    }
    if (this.config.pulled) this.refresh();
  }

  /**
   * A dataset opened: the model's identity (part of every store key) is read now, and the model
   * loaded (or the endpoint connected) while the document's settings are pulled and its stored
   * scores looked up, so it shows them at once and starts scoring sooner. A failure is reported
   * when a file needs the scorer. Settings being pulled are waited for: they name the model.
   */
  private prepareScorer(): void {
    const prepare = (): void => {
      this.scorers.modelId().catch(() => undefined);
      this.scorers.load().catch(() => undefined);
    };
    if (this.refreshing) void this.refreshing.finally(prepare);
    else prepare();
  }

  /** Pulls every open document's settings (and the server-wide ones) again; one pull at a time. */
  private refresh(): void {
    if (this.refreshing) {
      this.refreshAgain = true;
      return;
    }
    this.refreshing = this.refreshOnce().finally(() => {
      this.refreshing = undefined;
      if (!this.refreshAgain) return;
      this.refreshAgain = false;
      this.refresh();
    });
  }

  private async refreshOnce(): Promise<void> {
    const pulled = await this.config.fetch([...this.docs.keys()]);
    if (!pulled || this.shuttingDown) return;
    for (const uri of pulled.documents.keys()) if (!this.docs.has(uri)) pulled.documents.delete(uri);
    this.log.guard('settings', () => this.applySettings({ wide: pulled.wide.settings, documents: pulled.documents, reflection: pulled.wide.reflection }));
  }

  /**
   * New settings (and keys): the scorer is configured again, and each document whose scoring
   * settings or format changed loses its scores and is looked up and queued again. Pushed settings
   * (no `documents`) are every document's.
   */
  private applySettings(change: { wide: SiftSettings; documents?: ReadonlyMap<string, SiftSettings>; apiKey?: string; reflection?: unknown; teacherApiKey?: string }): void {
    const { reflection, teacherApiKey } = change;
    if (reflection !== undefined || teacherApiKey !== undefined) {
      if (reflection !== undefined) this.config.reflection = normalizeReflectionSettings(reflection);
      if (this.reflections.configure(this.config.reflection, teacherApiKey)) this.log.info(`reflection settings changed: ${this.reflections.describe()}`);
    }
    const docs = [...this.docs.values()];
    const before = new Map(docs.map((doc) => [doc, this.settingsFor(doc)]));
    const prevWide = this.config.wide;
    const prevKey = this.apiKey;
    const next = change.wide;
    this.config.set(next, change.documents);
    if (change.apiKey !== undefined) this.apiKey = change.apiKey || undefined;
    const edited = docs.filter((doc) => JSON.stringify(this.settingsFor(doc)) !== JSON.stringify(before.get(doc)));
    // A pull that finds what is in use already (VS Code asks after every notification) changes nothing.
    if (this.config.pulled && edited.length === 0 && this.apiKey === prevKey && JSON.stringify(next) === JSON.stringify(prevWide)) return;
    const scorerChanged = this.scorers.configure(scorerSettings(next, this.apiKey), scorerIdentity(next, this.apiKey));
    const wideChanged = scorerChanged || scoringIdentity(prevWide) !== scoringIdentity(next) || prevWide.format !== next.format;
    this.log.info(`settings changed: ${JSON.stringify(next)}${this.apiKey ? ' (an API key is set)' : ''}`);
    for (const doc of edited) if (this.settingsFor(doc) !== next) this.log.info(`settings of ${doc.uri}: ${JSON.stringify(this.settingsFor(doc))}`);
    const changed = docs.filter((doc) => {
      const prev = before.get(doc)!;
      const now = this.settingsFor(doc);
      return scorerChanged || scoringIdentity(prev) !== scoringIdentity(now) || prev.format !== now.format;
    });
    if (wideChanged || changed.length > 0) {
      this.jobs.scheduler.cancel((job) => wideChanged || changed.includes(job.doc));
      // Valid-set results are kept per set and settings; a new scorer or new server-wide settings start afresh.
      if (wideChanged) {
        this.validSet.reset();
        this.publisher.jobErrors.clear();
      }
      for (const doc of changed) {
        const now = this.settingsFor(doc);
        this.publisher.jobErrors.delete(doc.uri);
        if (before.get(doc)!.format !== now.format) doc.setText(this.documents.text(doc.uri), formatOf(now));
        else doc.invalidateScores();
        doc.autoScore ||= now.autoScoreOnOpen;
        void this.stored.sweep(doc);
      }
    }
    for (const doc of docs) this.publisher.markDirty(doc);
  }

  private async shutdown(): Promise<void> {
    this.shuttingDown = true;
    this.jobs.scheduler.cancel(() => true);
    this.documents.dispose();
    this.publisher.dispose();
    await this.jobs.scheduler.idle();
    this.stored.dispose();
    await this.stores.flushAll();
    await this.reflections.flush();
    await this.scorers.dispose();
  }
}

function packageVersion(root: string): string {
  try {
    return (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version?: string }).version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}
