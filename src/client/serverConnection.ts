import * as vscode from 'vscode';
import {
  CloseAction,
  DidChangeConfigurationNotification,
  ErrorAction,
  ExecuteCommandRequest,
  LanguageClient,
  ResponseError,
  RevealOutputChannelOn,
  State,
  TransportKind,
  WorkDoneProgress,
  type LanguageClientOptions,
  type RequestParam,
  type RequestType,
  type ServerOptions,
} from 'vscode-languageclient/node';
import {
  Commands,
  DATASET_EXTENSIONS,
  DATASET_LANGUAGE_IDS,
  LineScoresRequest,
  OVERVIEW_COMMAND,
  ScoresChangedNotification,
  SettingsChangedNotification,
  StatusNotification,
  type CommandArgs,
  type CommandResult,
  type InitializationOptions,
  type LineScoresParams,
  type LineScoresResult,
  type ServerCommand,
  type SettingsChangedParams,
  type StatusParams,
} from '../protocol';
import { SECTION } from '../protocol/settings';
import { redact } from '../core/net/redact';
import { RestartPolicy } from './restartPolicy';
import type { ServerState } from './statusModel';

/** The URI string the server sees for a document (the language client's default converter). */
export function protocolUri(uri: vscode.Uri): string {
  return uri.toString();
}

/** The documents the server gets (the protocol's dataset rule, as a document selector). */
export const DOCUMENT_SELECTOR = [...DATASET_LANGUAGE_IDS.map((language) => ({ language })), { pattern: `**/*.{${DATASET_EXTENSIONS.join(',')}}` }];

export interface ServerConnectionOptions {
  /** The extension's install folder: dist/server.js and the bundled models/ live there. */
  extensionPath: string;
  log: vscode.LogOutputChannel;
  /** Settings and key to start the server with (called on every start and restart). */
  currentSettings(): SettingsChangedParams;
  /**
   * The `sift` section the server pulls for a document (workspace/configuration with its URI as
   * scopeUri; undefined: the server-wide settings), with workspace trust applied. Never holds a key.
   */
  configurationFor(scope: vscode.Uri | undefined): unknown;
  /** Secrets to keep out of the log (the API key). */
  secrets(): (string | undefined)[];
  onStatus(params: StatusParams): void;
  onScoresChanged(uri: string): void;
  onState(state: ServerState): void;
  /**
   * Runs `sift.reflect` when a code action or hover link asks for it: the client shows the result
   * in its diff view instead of dropping the server's reply.
   */
  onReflect?(args: unknown[]): Promise<unknown>;
}

/** A progress update from the server for a command run with `executeWithProgress`. */
export interface CommandProgress {
  message?: string;
  percentage?: number;
}

/**
 * The language server process and the client talking to it: started on demand, restarted with
 * back-off when it dies (RestartPolicy), and stopped with a notification offering Restart and Show
 * Log when it keeps dying.
 */
export class ServerConnection implements vscode.Disposable {
  private client: LanguageClient | undefined;
  private starting: Promise<LanguageClient | undefined> | undefined;
  private readonly policy = new RestartPolicy();
  private restartPending = false;
  private disposed = false;

  constructor(private readonly options: ServerConnectionOptions) {}

  /** The running client, or undefined while the server is starting, restarting or stopped. */
  get running(): LanguageClient | undefined {
    return this.client?.state === State.Running ? this.client : undefined;
  }

  /** Starts the server unless it runs or is starting; resolves to undefined if it cannot start. */
  ensureStarted(): Promise<LanguageClient | undefined> {
    if (this.disposed) return Promise.resolve(undefined);
    if (this.client && this.client.state !== State.Stopped) return this.starting ?? Promise.resolve(this.client);
    this.starting ??= this.start().finally(() => {
      this.starting = undefined;
    });
    return this.starting;
  }

  /** Restart Server: a fresh client and process, and a fresh crash count. */
  async restart(): Promise<void> {
    this.policy.reset();
    await this.stopClient();
    await this.ensureStarted();
  }

  async sendSettings(params: SettingsChangedParams): Promise<void> {
    const client = this.running;
    if (!client) return; // a (re)starting server gets the current settings in initializationOptions
    await client.sendNotification(SettingsChangedNotification, params);
  }

  /** Runs a server command with the arguments its declaration takes. */
  run<C extends ServerCommand<unknown[], unknown>>(command: C, args: CommandArgs<C>, token?: vscode.CancellationToken): Promise<CommandResult<C> | undefined> {
    return this.executeCommand<CommandResult<C>>(command.id, args, token);
  }

  /** `run` with `$/progress` on a token of the client's own (see executeWithProgress). */
  runWithProgress<C extends ServerCommand<unknown[], unknown>>(
    command: C,
    args: CommandArgs<C>,
    token: vscode.CancellationToken,
    onProgress: (progress: CommandProgress) => void,
  ): Promise<CommandResult<C> | undefined> {
    return this.executeWithProgress<CommandResult<C>>(command.id, args, token, onProgress);
  }

  /** Settings changed somewhere (any folder): the server pulls every document's again. */
  async configurationChanged(): Promise<void> {
    const client = this.running;
    if (!client) return; // a (re)starting server pulls them once it runs
    await client.sendNotification(DidChangeConfigurationNotification.type, { settings: null });
  }

  /** A server command by id, untyped: callers go through `run`, which takes the arguments its declaration names. */
  private async executeCommand<T>(command: string, args: unknown[], token?: vscode.CancellationToken): Promise<T | undefined> {
    const client = await this.ensureStarted();
    if (!client) throw new Error('The Sift language server is not running (see Sift: Show Log).');
    return (await client.sendRequest(ExecuteCommandRequest.type, { command, arguments: args }, token)) as T | undefined;
  }

  /**
   * Runs a server command with a progress token of the client's own: the server reports `$/progress`
   * on it (`onProgress`), and cancelling `token` cancels the request, which stops the work.
   */
  private async executeWithProgress<T>(command: string, args: unknown[], token: vscode.CancellationToken, onProgress: (progress: CommandProgress) => void): Promise<T | undefined> {
    const client = await this.ensureStarted();
    if (!client) throw new Error('The Sift language server is not running (see Sift: Show Log).');
    const workDoneToken = `sift-${command}-${Date.now()}-${Math.random().toString(36).slice(2)}`;
    const subscription = client.onProgress(WorkDoneProgress.type, workDoneToken, (value) => {
      if (value.kind === 'end') return;
      onProgress({ message: value.message, percentage: value.percentage });
    });
    try {
      return (await client.sendRequest(ExecuteCommandRequest.type, { command, arguments: args, workDoneToken }, token)) as T | undefined;
    } finally {
      subscription.dispose();
    }
  }

  /** One of the protocol's custom requests (starting the server if it is not running). */
  async request<P, R>(type: RequestType<P, R, void>, params: RequestParam<P>, token?: vscode.CancellationToken): Promise<R> {
    const client = await this.ensureStarted();
    if (!client) throw new Error('The Sift language server is not running (see Sift: Show Log).');
    return client.sendRequest(type, params, token);
  }

  async lineScores(params: LineScoresParams, token: vscode.CancellationToken): Promise<LineScoresResult | undefined> {
    const client = this.running;
    if (!client) return undefined;
    try {
      return await client.sendRequest(LineScoresRequest, params, token);
    } catch (error) {
      if (!token.isCancellationRequested) this.options.log.debug(`lineScores failed: ${String(error)}`);
      return undefined;
    }
  }

  protocolUri(uri: vscode.Uri): string {
    return protocolUri(uri);
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    await this.stopClient();
  }

  private async stopClient(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    this.restartPending = false;
    if (!client) return;
    try {
      await client.dispose();
    } catch (error) {
      this.options.log.warn(`Stopping the language server: ${String(error)}`);
    }
  }

  private async start(): Promise<LanguageClient | undefined> {
    await this.stopClient();
    const client = this.createClient();
    this.client = client;
    this.options.onState('starting');
    try {
      await client.start();
      return client;
    } catch (error) {
      this.options.log.error(`The Sift language server could not start: ${String(error)}`);
      if (this.client === client) this.options.onState('stopped');
      void this.offerRestart('The Sift language server could not start.');
      return undefined;
    }
  }

  private createClient(): LanguageClient {
    const { log } = this.options;
    const module = vscode.Uri.joinPath(vscode.Uri.file(this.options.extensionPath), 'dist', 'server.js').fsPath;
    // stdio, the transport every LSP editor uses, so VS Code runs the server exactly as Neovim or
    // Helix do; the server must keep stdout for the protocol (it logs to stderr, which lands here).
    const serverOptions: ServerOptions = {
      run: { module, transport: TransportKind.stdio },
      debug: { module, transport: TransportKind.stdio },
    };
    const channel = redactingChannel(log, () => this.options.secrets());
    const clientOptions: LanguageClientOptions = {
      documentSelector: DOCUMENT_SELECTOR,
      diagnosticCollectionName: 'sift',
      outputChannel: channel,
      traceOutputChannel: channel,
      revealOutputChannelOn: RevealOutputChannelOn.Never,
      // Document symbols come through RecordSymbols, which can make VS Code ask again as scores land.
      initializationOptions: (): InitializationOptions => ({ ...this.options.currentSettings(), packageRoot: this.options.extensionPath, reflectionView: this.options.onReflect !== undefined, commandLinks: true, documentSymbols: false, visibleLines: true }),
      // Hover command links may run the server's own commands only; dataset text shown in a hover
      // can never trigger any other command.
      markdown: { isTrusted: { enabledCommands: [...Object.values(Commands), OVERVIEW_COMMAND] }, supportHtml: false },
      middleware: {
        // The server's inlay hints carry the same label as the line-end decorations (see
        // ScoreDecorations), which VS Code shows coloured; other LSP editors keep the hints.
        provideInlayHints: () => [],
        // Reflection results open in the diff view; every other server command runs as usual.
        executeCommand: (command, args, next) => (command === Commands.reflect && this.options.onReflect ? this.options.onReflect(args) : next(command, args)),
        workspace: {
          // The server pulls `sift` per document: the answer comes from the same trusted reading as
          // what is pushed (restricted settings from user scope in an untrusted workspace, workspace
          // endpoints only once approved), never VS Code's raw values. Other sections as usual.
          configuration: async (params, token, next) => {
            const others = params.items.some((item) => item.section !== SECTION) ? await next(params, token) : [];
            if (others instanceof ResponseError) return others;
            return params.items.map((item, i) =>
              item.section === SECTION ? this.options.configurationFor(item.scopeUri ? vscode.Uri.parse(item.scopeUri) : undefined) : (others[i] ?? null),
            );
          },
        },
      },
      errorHandler: {
        error: (error, _message, count) => {
          log.warn(`Connection to the language server: ${error.message}`);
          return { action: count !== undefined && count <= 3 ? ErrorAction.Continue : ErrorAction.Shutdown, handled: true };
        },
        closed: async () => {
          if (this.disposed || this.client !== client) return { action: CloseAction.DoNotRestart, handled: true };
          const decision = this.policy.onCrash(Date.now());
          if (!decision.restart) {
            const message = `The Sift language server stopped ${decision.crashes} times in a few minutes and will not be restarted.`;
            log.error(message);
            this.restartPending = false;
            void this.offerRestart(message);
            return { action: CloseAction.DoNotRestart, handled: true };
          }
          log.warn(`The Sift language server stopped unexpectedly; restarting in ${decision.delayMs / 1000} s (restart ${decision.crashes}).`);
          this.restartPending = true;
          this.options.onState('restarting');
          await new Promise((resolve) => setTimeout(resolve, decision.delayMs));
          if (this.disposed || this.client !== client) return { action: CloseAction.DoNotRestart, handled: true };
          return { action: CloseAction.Restart, handled: true };
        },
      },
    };
    const client = new LanguageClient('sift', 'Sift', serverOptions, clientOptions);
    client.onNotification(StatusNotification, (params) => this.options.onStatus(params));
    client.onNotification(ScoresChangedNotification, (params) => this.options.onScoresChanged(params.uri));
    client.onDidChangeState((event) => {
      if (this.client !== client) return;
      if (event.newState === State.Running) {
        this.restartPending = false;
        this.options.onState('running');
      } else if (event.newState === State.Starting) {
        this.options.onState(this.restartPending ? 'restarting' : 'starting');
      } else if (!this.restartPending) {
        this.options.onState('stopped');
      }
    });
    return client;
  }

  private async offerRestart(message: string): Promise<void> {
    if (this.disposed) return;
    const choice = await vscode.window.showErrorMessage(message, 'Restart', 'Show Log');
    if (choice === 'Restart') await this.restart();
    else if (choice === 'Show Log') this.options.log.show();
  }
}

/**
 * The channel the language client writes to: the server's stderr, its log messages and, when the
 * channel's log level is Trace, every message it exchanges (`sift.trace.server` then chooses
 * `messages` or `verbose`), initializationOptions and SettingsChanged included. The API key is
 * redacted from everything written. vscode-languageclient 10 and later take a LogOutputChannel
 * and trace at its Trace level (client/src/common/client.ts, `refreshTrace`).
 */
function redactingChannel(channel: vscode.LogOutputChannel, secrets: () => (string | undefined)[]): vscode.LogOutputChannel {
  const clean = (value: string): string => redact(value, secrets());
  const cleanArgs = (args: unknown[]): unknown[] => args.map((arg) => (typeof arg === 'string' ? clean(arg) : arg instanceof Error ? clean(arg.message) : clean(JSON.stringify(arg) ?? String(arg))));
  return {
    name: channel.name,
    get logLevel() {
      return channel.logLevel;
    },
    onDidChangeLogLevel: channel.onDidChangeLogLevel,
    trace: (message: string, ...args: unknown[]) => channel.trace(clean(message), ...cleanArgs(args)),
    debug: (message: string, ...args: unknown[]) => channel.debug(clean(message), ...cleanArgs(args)),
    info: (message: string, ...args: unknown[]) => channel.info(clean(message), ...cleanArgs(args)),
    warn: (message: string, ...args: unknown[]) => channel.warn(clean(message), ...cleanArgs(args)),
    error: (error: string | Error, ...args: unknown[]) => channel.error(clean(typeof error === 'string' ? error : error.message), ...cleanArgs(args)),
    append: (value: string) => channel.append(clean(value)),
    appendLine: (value: string) => channel.appendLine(clean(value)),
    replace: (value: string) => channel.replace(clean(value)),
    clear: () => channel.clear(),
    show: (columnOrPreserve?: vscode.ViewColumn | boolean, preserveFocus?: boolean) => {
      if (typeof columnOrPreserve === 'boolean') channel.show(columnOrPreserve);
      else channel.show(columnOrPreserve, preserveFocus);
    },
    hide: () => channel.hide(),
    // The channel belongs to the extension and outlives each client.
    dispose: () => undefined,
  };
}
