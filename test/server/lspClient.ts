/**
 * A real LSP client for the server tests: spawns the bundled server (dist/server.js) over stdio and
 * talks to it with vscode-languageserver-protocol, keeping its own copy of every open document so
 * that edits (including the server's workspace/applyEdit) can be checked character for character.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { isAbsolute, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  ApplyWorkspaceEditRequest,
  CodeActionRequest,
  ConfigurationRequest,
  DidChangeConfigurationNotification,
  DidChangeTextDocumentNotification,
  DidCloseTextDocumentNotification,
  DidOpenTextDocumentNotification,
  ExecuteCommandRequest,
  ExitNotification,
  HoverRequest,
  InitializedNotification,
  InitializeRequest,
  InlayHintRefreshRequest,
  InlayHintRequest,
  LogMessageNotification,
  PublishDiagnosticsNotification,
  ShowDocumentRequest,
  ShowMessageNotification,
  ShutdownRequest,
  StreamMessageReader,
  StreamMessageWriter,
  WorkDoneProgress,
  WorkDoneProgressCancelNotification,
  WorkDoneProgressCreateRequest,
  createProtocolConnection,
  type ClientCapabilities,
  type CodeAction,
  type Command,
  type ConfigurationItem,
  type Diagnostic,
  type Hover,
  type InlayHint,
  type ProtocolConnection,
  type Range,
  type TextDocumentContentChangeEvent,
  type WorkDoneProgressBegin,
  type WorkDoneProgressEnd,
  type WorkDoneProgressReport,
  type WorkspaceEdit,
} from 'vscode-languageserver-protocol/node';
import { TextDocument } from 'vscode-languageserver-textdocument';
import {
  LineScoresRequest,
  ScoresChangedNotification,
  StatusNotification,
  type LineScoresResult,
  type SiftSettings,
  type StatusParams,
} from '../../src/protocol';
import { repoRoot } from '../helpers/paths';
import { waitFor } from '../helpers/waitFor';

export const serverPath = join(repoRoot, 'dist', 'server.js');

export type ProgressValue = WorkDoneProgressBegin | WorkDoneProgressReport | WorkDoneProgressEnd;

export interface StartOptions {
  settings?: Partial<SiftSettings>;
  /** Client capabilities to leave out (default: everything a modern editor has). */
  withoutProgress?: boolean;
  withoutRefresh?: boolean;
  rootDir?: string;
  /** Sent as initializationOptions.scorerApiKey, as the VS Code client does from SecretStorage. */
  apiKey?: string;
  /**
   * Workspace folders with settings of their own: the client then declares workspace/configuration
   * and answers it as VS Code does, `settings` for a request without a scope and, for a document in
   * one of these folders, that folder's settings over them. The folders go in workspaceFolders.
   */
  folders?: FolderSettings[];
  /**
   * What workspace/configuration answers without a folder, when it differs from `settings` (which
   * still go in initializationOptions); null: no `sift` section at all, as an editor configured
   * only through init_options answers.
   */
  pulledSettings?: Partial<SiftSettings> | null;
  /** initializationOptions.commandLinks: the client renders `command:` links in hovers (default true, as VS Code). */
  commandLinks?: boolean;
  /** initializationOptions.visibleLines: the client says which lines are on screen (default false; VS Code's does). */
  visibleLines?: boolean;
  /** initializationOptions.workspaceTrusted (default: not sent, i.e. trusted). */
  workspaceTrusted?: boolean;
}

export interface FolderSettings {
  path: string;
  settings: Partial<SiftSettings>;
}

/**
 * A diagnostic with a plain-text message. LSP 3.18 also allows markup (proposed); Sift's server
 * sends plain text, which every editor shows, and a markup message received here keeps a `(markup)`
 * prefix so that the tests matching message text fail.
 */
export type PlainDiagnostic = Diagnostic & { message: string };

export class TestClient {
  readonly connection: ProtocolConnection;
  private readonly child: ChildProcess;
  readonly docs = new Map<string, TextDocument>();
  readonly diagnostics = new Map<string, { version?: number; diagnostics: PlainDiagnostic[] }>();
  readonly statuses: StatusParams[] = [];
  readonly progress: { token: string | number; value: ProgressValue; at: number }[] = [];
  readonly progressTokens: (string | number)[] = [];
  readonly logs: string[] = [];
  /** The log lines with their level (MessageType: 1 error, 2 warning, 3 info, 4 log). */
  readonly logEntries: { type: number; message: string }[] = [];
  readonly messages: string[] = [];
  refreshes = 0;
  scoresChanged = 0;
  /** Every workspace/configuration request's items, in order. */
  readonly configurationRequests: ConfigurationItem[][] = [];
  /** URIs the server asked the editor to open (window/showDocument). */
  readonly shownDocuments: string[] = [];
  /** What workspace/configuration answers (StartOptions.settings and .folders). */
  configuration: { settings: Partial<SiftSettings> | null; folders: FolderSettings[] } = { settings: {}, folders: [] };
  stderr = '';
  private waiters: (() => void)[] = [];

  private constructor(child: ChildProcess) {
    this.child = child;
    child.stderr!.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()));
    this.connection = createProtocolConnection(new StreamMessageReader(child.stdout!), new StreamMessageWriter(child.stdin!));
    const c = this.connection;
    c.onNotification(PublishDiagnosticsNotification.type, (p) => {
      const diagnostics = p.diagnostics.map((d) => ({ ...d, message: typeof d.message === 'string' ? d.message : `(markup) ${d.message.value}` }));
      this.diagnostics.set(p.uri, { version: p.version, diagnostics });
      this.wake();
    });
    c.onNotification(StatusNotification, (p: StatusParams) => {
      this.statuses.push(p);
      this.wake();
    });
    c.onNotification(ScoresChangedNotification, () => {
      this.scoresChanged++;
      this.wake();
    });
    c.onNotification(LogMessageNotification.type, (p) => {
      this.logs.push(p.message);
      this.logEntries.push({ type: p.type, message: p.message });
      this.wake();
    });
    c.onNotification(ShowMessageNotification.type, (p) => {
      this.messages.push(p.message);
      this.wake();
    });
    c.onRequest(WorkDoneProgressCreateRequest.type, (p) => {
      this.progressTokens.push(p.token);
      c.onProgress(WorkDoneProgress.type, p.token, (value) => {
        this.progress.push({ token: p.token, value, at: Date.now() });
        this.wake();
      });
    });

    c.onRequest(ShowDocumentRequest.type, (p) => {
      this.shownDocuments.push(p.uri);
      this.wake();
      return { success: true };
    });

    c.onRequest(InlayHintRefreshRequest.type, () => {
      this.refreshes++;
      this.wake();
    });
    c.onRequest(ConfigurationRequest.type, (p) => {
      this.configurationRequests.push(p.items);
      this.wake();
      return p.items.map((item) => (item.section === 'sift' ? this.sectionFor(item.scopeUri) : null));
    });
    c.onRequest(ApplyWorkspaceEditRequest.type, (p) => {
      this.applyEdit(p.edit);
      return { applied: true };
    });
    c.listen();
  }

  static async start(options: StartOptions = {}): Promise<TestClient> {
    if (!existsSync(serverPath)) throw new Error(`${serverPath} is missing: run \`node esbuild.mjs\` first`);
    const child = spawn(process.execPath, [serverPath, '--stdio'], { stdio: ['pipe', 'pipe', 'pipe'] });
    const client = new TestClient(child);
    const pull = options.folders !== undefined;
    client.configuration = { settings: options.pulledSettings === undefined ? { ...options.settings } : options.pulledSettings, folders: options.folders ?? [] };
    const capabilities: ClientCapabilities = {
      window: { workDoneProgress: !options.withoutProgress },
      workspace: {
        ...(pull ? { configuration: true, workspaceFolders: true } : {}),
        inlayHint: { refreshSupport: !options.withoutRefresh },
        workspaceEdit: { documentChanges: true },
        applyEdit: true,
      },
      textDocument: {
        publishDiagnostics: { versionSupport: true },
        hover: { contentFormat: ['markdown', 'plaintext'] },
        inlayHint: {},
        codeAction: { codeActionLiteralSupport: { codeActionKind: { valueSet: ['quickfix', 'refactor', 'refactor.rewrite'] } } },
      },
    };
    const settings = { ...options.settings } as SiftSettings;
    await client.connection.sendRequest(InitializeRequest.type, {
      processId: process.pid,
      rootUri: options.rootDir ? pathToFileURL(options.rootDir).href : null,
      ...(pull ? { workspaceFolders: options.folders!.map((f) => ({ uri: pathToFileURL(f.path).href, name: f.path })) } : {}),
      capabilities,
      initializationOptions: { settings, packageRoot: repoRoot, commandLinks: options.commandLinks !== false, ...(options.visibleLines ? { visibleLines: true } : {}), ...(options.apiKey ? { scorerApiKey: options.apiKey } : {}), ...(options.workspaceTrusted !== undefined ? { workspaceTrusted: options.workspaceTrusted } : {}) },
    });
    await client.connection.sendNotification(InitializedNotification.type, {});
    return client;
  }

  /** New settings for a folder (or, with no path, the default ones), and the didChangeConfiguration an editor sends. */
  async changeConfiguration(settings: Partial<SiftSettings>, folderPath?: string): Promise<void> {
    if (folderPath === undefined) this.configuration.settings = settings;
    else this.configuration.folders = this.configuration.folders.map((f) => (f.path === folderPath ? { path: f.path, settings } : f));
    await this.connection.sendNotification(DidChangeConfigurationNotification.type, { settings: null });
  }

  /** The `sift` section for a scope: the default settings, with those of the folder holding it on top. */
  private sectionFor(scopeUri: string | undefined): Partial<SiftSettings> | null {
    const path = scopeUri?.startsWith('file:') ? fileURLToPath(scopeUri) : undefined;
    const folder = path === undefined ? undefined : this.configuration.folders.find((f) => {
      const rel = relative(f.path, path);
      return !rel.startsWith('..') && !isAbsolute(rel);
    });
    if (this.configuration.settings === null && !folder) return null;
    return { ...this.configuration.settings, ...folder?.settings };
  }

  get pid(): number {
    return this.child.pid!;
  }

  get exited(): boolean {
    return this.child.exitCode !== null || this.child.signalCode !== null;
  }

  async stop(): Promise<void> {
    if (this.exited) return;
    const gone = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    try {
      await withTimeout(this.connection.sendRequest(ShutdownRequest.type), 10_000, 'shutdown');
      await this.connection.sendNotification(ExitNotification.type);
    } catch {
      this.child.kill();
    }
    await withTimeout(gone, 5_000, 'exit').catch(() => this.child.kill());
    this.connection.dispose();
  }

  async open(path: string, text: string, languageId = 'jsonl'): Promise<string> {
    const uri = pathToFileURL(path).href;
    const doc = TextDocument.create(uri, languageId, 1, text);
    this.docs.set(uri, doc);
    await this.connection.sendNotification(DidOpenTextDocumentNotification.type, { textDocument: { uri, languageId, version: 1, text } });
    return uri;
  }

  async close(uri: string): Promise<void> {
    this.docs.delete(uri);
    await this.connection.sendNotification(DidCloseTextDocumentNotification.type, { textDocument: { uri } });
  }

  text(uri: string): string {
    return this.doc(uri).getText();
  }

  version(uri: string): number {
    return this.doc(uri).version;
  }

  /** Applies incremental changes to our copy and sends them, as an editor does. */
  async edit(uri: string, changes: TextDocumentContentChangeEvent[]): Promise<void> {
    const doc = this.doc(uri);
    const next = TextDocument.update(doc, changes, doc.version + 1);
    this.docs.set(uri, next);
    await this.connection.sendNotification(DidChangeTextDocumentNotification.type, {
      textDocument: { uri, version: next.version },
      contentChanges: changes,
    });
  }

  /** Replaces line `line` (0-based) with `text`, keeping its terminator. */
  async replaceLine(uri: string, line: number, text: string): Promise<void> {
    const doc = this.doc(uri);
    const end = doc.positionAt(doc.offsetAt({ line: line + 1, character: 0 }));
    const lineText = doc.getText({ start: { line, character: 0 }, end });
    const body = lineText.replace(/\r?\n$|\r$/, '');
    await this.edit(uri, [{ range: { start: { line, character: 0 }, end: { line, character: body.length } }, text }]);
  }

  applyEdit(edit: WorkspaceEdit): void {
    const all: [string, { range: Range; newText: string }[]][] = [];
    for (const change of edit.documentChanges ?? []) {
      if ('textDocument' in change) all.push([change.textDocument.uri, change.edits as { range: Range; newText: string }[]]);
    }
    for (const [uri, edits] of Object.entries(edit.changes ?? {})) all.push([uri, edits]);
    for (const [uri, edits] of all) {
      const doc = this.doc(uri);
      const text = TextDocument.applyEdits(doc, edits);
      void this.edit(uri, [{ text }]);
    }
  }

  inlayHints(uri: string, startLine: number, endLine: number): Promise<InlayHint[] | null> {
    return this.connection.sendRequest(InlayHintRequest.type, {
      textDocument: { uri },
      range: { start: { line: startLine, character: 0 }, end: { line: endLine, character: 0 } },
    });
  }

  /** `visible`: the lines of the range on screen, as the VS Code client sends them. */
  lineScores(uri: string, startLine: number, endLine: number, visible?: { startLine: number; endLine: number }): Promise<LineScoresResult> {
    return this.connection.sendRequest(LineScoresRequest, { uri, version: this.version(uri), startLine, endLine, ...(visible ? { visible } : {}) });
  }

  hover(uri: string, line: number, character = 1): Promise<Hover | null> {
    return this.connection.sendRequest(HoverRequest.type, { textDocument: { uri }, position: { line, character } });
  }

  /** The hover text of lines 0 to count - 1: what each record shows, scored or not. */
  recordStates(uri: string, count: number): Promise<string[]> {
    return Promise.all(
      Array.from({ length: count }, async (_, line) => {
        const contents = (await this.hover(uri, line))?.contents;
        const value = contents && typeof contents === 'object' && 'value' in contents ? contents.value : '';
        // The record's own state, without the legend: it names every state ("grey = not scored yet").
        return value.split('\n\n**Legend**')[0];
      }),
    );
  }

  codeActions(uri: string, range: Range): Promise<(Command | CodeAction)[] | null> {
    const diagnostics = (this.diagnostics.get(uri)?.diagnostics ?? []).filter((d) => d.range.start.line <= range.end.line && d.range.end.line >= range.start.line);
    return this.connection.sendRequest(CodeActionRequest.type, { textDocument: { uri }, range, context: { diagnostics } });
  }

  execute<T = unknown>(command: string, args: unknown[]): Promise<T> {
    return this.connection.sendRequest(ExecuteCommandRequest.type, { command, arguments: args }) as Promise<T>;
  }

  cancelProgress(token: string | number): Promise<void> {
    return this.connection.sendNotification(WorkDoneProgressCancelNotification.type, { token });
  }

  /** Resolves once `check` returns a value other than undefined/null/false, re-checking on every message. */
  waitFor<T>(what: string, check: () => T | undefined | null | false, timeoutMs = 30_000): Promise<T> {
    return waitFor(what, check, {
      timeoutMs,
      intervalMs: 200,
      changed: () => new Promise<void>((resolve) => this.waiters.push(resolve)),
      gone: () => (this.exited ? 'the server exited' : undefined),
      detail: () => `last logs:\n${this.logs.slice(-15).join('\n')}\nstderr:\n${this.stderr.slice(-2000)}`,
    });
  }

  /** The latest status of a document once every record is scored and no job runs. */
  waitScored(uri: string, timeoutMs = 60_000): Promise<StatusParams> {
    return this.waitFor(`all records of ${uri} scored`, () => {
      const last = this.lastStatus(uri);
      return last && !last.running && last.total > 0 && last.scored === last.total ? last : undefined;
    }, timeoutMs);
  }

  lastStatus(uri: string): StatusParams | undefined {
    for (let i = this.statuses.length - 1; i >= 0; i--) if (this.statuses[i].uri === uri) return this.statuses[i];
    return undefined;
  }

  private doc(uri: string): TextDocument {
    const doc = this.docs.get(uri);
    if (!doc) throw new Error(`not open: ${uri}`);
    return doc;
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}

async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} timed out`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
