import { ErrorCodes, LSPErrorCodes, MessageType, ResponseError, ShowMessageNotification, type Connection } from 'vscode-languageserver';
import type { MetricSettings } from '../core/metrics/recordMetrics';
import { TeacherError } from '../core/reflect';
import type { ScoreStore } from '../core/store';
import {
  CancelCommand,
  ClearScoresCommand,
  CommandArgumentError,
  Commands,
  DropRecordCommand,
  EstimateReflectionCommand,
  FilterFileCommand,
  ErrorReasons,
  ReflectBatchCommand,
  ReflectCommand,
  SampleQuestionCommand,
  TeacherBatchesCommand,
  ScoreFileCommand,
  ScoreLinesCommand,
  type CommandArgs,
  type CommandResult,
  type ScoreResult,
  type ServerCommand,
  type SiftSettings,
} from '../protocol';
import type { ReflectionView } from '../protocol/reflectionView';
import { dropEdit } from './codeActions';
import { tooLargeMessage } from './diagnostics';
import type { SiftDocument } from './document';
import { FilterError, filterDocument } from './filter';
import { errorMessage, type ServerLog } from './log';
import type { CommandContext, Progress } from './progress';
import type { Publisher } from './publisher';
import { NoTeacherError, ReflectionRequestError, type Reflections } from './reflection';
import { SampleQuestionError, sampleQuestion } from './sampleQuestion';
import type { Scorers, Stores } from './resources';
import { displayName, type ScoringJobs } from './scoringJobs';
import type { StoredScores } from './storedScores';

export interface CommandDeps {
  connection: Connection;
  log: ServerLog;
  docs: ReadonlyMap<string, SiftDocument>;
  /** The editor's current text of a document. */
  text(uri: string): string;
  settingsFor(doc: SiftDocument): SiftSettings;
  metricSettings(doc: SiftDocument): MetricSettings;
  /** The client applies versioned edits (`documentChanges`). */
  documentChanges(): boolean;
  scorers(): Scorers;
  stores: Stores;
  reflections(): Reflections;
  jobs: ScoringJobs;
  stored: StoredScores;
  publisher: Publisher;
  progress: Progress;
  /** The student's API key (from the client's secret storage; never logged). */
  apiKey(): string | undefined;
  /** Where the bundled model is. */
  packageRoot(): string;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any command: its own types are checked where it is declared
type AnyCommand = ServerCommand<any, any>;

interface Entry {
  command: AnyCommand;
  run(args: unknown[], ctx: CommandContext): Promise<unknown>;
}

/** A command of the table: its declaration (id, argument types, decoder) and what it does with the decoded arguments. */
function entry<C extends AnyCommand>(command: C, run: (args: CommandArgs<C>, ctx: CommandContext) => Promise<CommandResult<C>> | CommandResult<C>): Entry {
  return { command, run: async (args, ctx) => run(args as CommandArgs<C>, ctx) };
}

/**
 * `workspace/executeCommand`: one table of the server's commands (declared with their arguments in
 * `../protocol/commands`), and the errors every client gets back: InvalidParams for arguments or
 * documents that do not fit, `data.reason` codes for conditions a client reacts to, RequestCancelled
 * when the user stopped it.
 */
export class ServerCommands {
  private readonly table: ReadonlyMap<string, Entry>;

  constructor(private readonly deps: CommandDeps) {
    // Keyed like `Commands`: a command declared in the protocol without an entry here does not compile.
    const entries = {
      scoreFile: entry(ScoreFileCommand, async ([uri]) => {
        // Without a URI (Helix's :lsp-workspace-command sends none): every open dataset.
        if (uri !== undefined) return this.score(this.requireDoc(uri), undefined);
        const docs = [...deps.docs.values()].filter((d) => d.tooLarge === undefined);
        const queued = await Promise.all(docs.map((d) => this.score(d, undefined)));
        return { queued: queued.reduce((sum, q) => sum + q.queued, 0) };
      }),
      scoreLines: entry(ScoreLinesCommand, ([uri, first, last]) => this.score(this.requireDoc(uri), [first, last])),
      cancel: entry(CancelCommand, ([uri]) => {
        const n = deps.jobs.scheduler.cancel((job) => uri === undefined || job.doc.uri === uri).length;
        deps.log.info(`cancel: ${n} job(s) stopped`);
        return { cancelled: n };
      }),
      filterFile: entry(FilterFileCommand, async ([uri, options]) => {
        const doc = this.requireDoc(uri);
        const result = await filterDocument(doc, deps.text(doc.uri), options, {
          settings: deps.settingsFor(doc),
          metricSettings: async () => deps.metricSettings(doc),
          scoreAll: (items, metrics) => deps.jobs.scoreForFilter(doc, items, metrics),
        });
        deps.log.info(`filter ${doc.uri}: kept ${result.kept} of ${result.total} -> ${result.outPath}`);
        return result;
      }),
      clearScores: entry(ClearScoresCommand, ([uri]) => this.clear(uri)),
      dropRecord: entry(DropRecordCommand, async ([uri, line, version]) => {
        const doc = this.requireDoc(uri);
        if (version !== undefined && version !== doc.version) return { applied: false, reason: 'the document changed' };
        if (line >= doc.records.lineCount) throw new ResponseError(ErrorCodes.InvalidParams, `no line ${line}`);
        const result = await deps.connection.workspace.applyEdit({ label: 'Drop record', edit: dropEdit(doc, line, deps.documentChanges()) });
        return { applied: result.applied };
      }),
      reflect: entry(ReflectCommand, (args, ctx) => this.reflect(args, ctx)),
      estimateReflection: entry(EstimateReflectionCommand, async ([uri, params], ctx) => {
        const doc = this.requireDoc(uri);
        const progress = await deps.progress.forCommand(`Sift: estimating reflection of ${displayName(doc)}`, ctx);
        try {
          return await deps.reflections().estimate(doc, params, progress.signal);
        } finally {
          progress.done();
        }
      }),
      teacherBatches: entry(TeacherBatchesCommand, ([jobsFile]) => deps.reflections().pendingBatches(jobsFile)),
      reflectBatch: entry(ReflectBatchCommand, async ([uri, params], ctx) => {
        const doc = this.requireDoc(uri);
        const progress = await deps.progress.forCommand(`Sift: reflecting records of ${displayName(doc)}`, ctx);
        try {
          const result = await deps.reflections().reflectBatch(doc, params, progress.signal, progress.report);
          const s = result.summary;
          deps.log.info(
            `reflect batch ${doc.uri} (${params.mode}${params.batch ? ', through teacher batches' : ''}): ${s.records} record(s), ${s.changed} changed, ${s.failed} failed, ${s.calls} teacher call(s), ${s.cachedReflections} from the cache${result.batch?.batchIds.length ? `, batches ${result.batch.batchIds.join(', ')}` : ''}${result.cancelled ? (result.batch?.pending ? ' (stopped waiting: the batch goes on)' : ' (cancelled)') : ''}${result.error ? `; stopped: ${result.error}` : ''}`,
          );
          return result;
        } finally {
          progress.done();
        }
      }),
      sampleQuestion: entry(SampleQuestionCommand, async ([uri, line], ctx) => {
        const doc = this.requireDoc(uri);
        const progress = await deps.progress.forCommand(`Sift: sampling candidates for line ${line + 1} of ${displayName(doc)}`, ctx);
        try {
          const result = await sampleQuestion(doc, line, {
            settings: deps.settingsFor(doc),
            apiKey: deps.apiKey(),
            packageRoot: deps.packageRoot(),
            signal: progress.signal,
            report: progress.report,
            log: (message) => deps.log.info(message),
          });
          const message = `Sampled ${result.candidates} candidate(s) for line ${line + 1} (${result.drawn} drawn, ${result.stored} from the sample store): ${result.added} added to ${result.path}`;
          deps.log.info(message);
          deps.connection.window.showInformationMessage(message);
          // Opened beside the dataset; an editor without window/showDocument opens it itself from the result.
          deps.connection.window.showDocument({ uri: result.uri, takeFocus: true }).catch(() => undefined);
          return result;
        } finally {
          progress.done();
        }
      }),
    } satisfies Record<keyof typeof Commands, Entry>;
    this.table = new Map(Object.values(entries).map((e) => [e.command.id, e]));
  }

  /** The ids the server registers (`executeCommandProvider`). */
  get ids(): string[] {
    return [...this.table.keys()];
  }

  async execute(command: string, args: unknown[], ctx: CommandContext = {}): Promise<unknown> {
    const found = this.table.get(command);
    if (!found) throw new ResponseError(ErrorCodes.MethodNotFound, `unknown command ${command}`);
    try {
      if (found.command.onDocument) this.requireDoc(args[0]);
      return await found.run(found.command.decode(args), ctx);
    } catch (error) {
      if (error instanceof ResponseError) throw error;
      if (error instanceof CommandArgumentError || error instanceof FilterError || error instanceof ReflectionRequestError || error instanceof SampleQuestionError) {
        throw new ResponseError(ErrorCodes.InvalidParams, error.message);
      }
      if (error instanceof NoTeacherError) throw new ResponseError(ErrorCodes.InvalidRequest, error.message, { reason: ErrorReasons.noTeacher });
      if (ctx.token?.isCancellationRequested || (error instanceof Error && error.name === 'AbortError')) {
        throw new ResponseError(LSPErrorCodes.RequestCancelled, `${command} was cancelled`);
      }
      if (error instanceof TeacherError) {
        this.deps.log.error(`${command}: ${error.message}`);
        throw new ResponseError(LSPErrorCodes.RequestFailed, `the teacher call failed: ${error.message}`);
      }
      this.deps.log.error(`${command} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      throw new ResponseError(ErrorCodes.InternalError, `${command} failed: ${errorMessage(error)}`);
    }
  }

  private requireDoc(uri: unknown): SiftDocument {
    const doc = typeof uri === 'string' ? this.deps.docs.get(uri) : undefined;
    if (!doc) throw new ResponseError(ErrorCodes.InvalidParams, `not an open dataset: ${String(uri)}`, { reason: ErrorReasons.notOpen });
    if (doc.tooLarge !== undefined) throw new ResponseError(ErrorCodes.InvalidParams, tooLargeMessage(doc.tooLarge), { reason: ErrorReasons.tooLarge });
    return doc;
  }

  private async score(doc: SiftDocument, lines: [number, number] | undefined): Promise<ScoreResult> {
    const { jobs, stored } = this.deps;
    this.deps.scorers().retry();
    this.deps.publisher.jobErrors.delete(doc.uri);
    if (!lines) doc.autoScore = true;
    for (const text of doc.failures.keys()) doc.failures.delete(text);
    if (!doc.swept) {
      // The sweep queues everything once stored scores are known; lines asked for go first.
      if (lines) {
        await stored.sweep(doc);
        return { queued: jobs.enqueue(doc, stored.unscored(doc, lines[0], lines[1]), true) };
      }
      void stored.sweep(doc);
      return { queued: 0 };
    }
    const [from, to] = lines ?? [0, doc.records.lineCount - 1];
    stored.resolveRange(doc, from, to);
    return { queued: jobs.enqueue(doc, stored.unscored(doc, from, to), lines !== undefined) };
  }

  private async clear(uri: string | undefined): Promise<{ cleared: number }> {
    const { docs, stores, publisher, stored } = this.deps;
    const targets = [...docs.values()].filter((d) => uri === undefined || d.uri === uri);
    await Promise.all(this.deps.jobs.scheduler.cancel((job) => targets.includes(job.doc)).map((job) => job.finished));
    // Look-ups not recorded yet are written first, so a score another dataset uses stays (see ScoreStore.clear).
    await stores.flushAll();
    const cleared = new Set<ScoreStore>();
    for (const doc of targets) cleared.add(await stores.get(doc.path));
    for (const store of cleared) await store.clear();
    // Each store is one dataset's (untitled buffers share the memory store): its open documents lose their scores.
    for (const doc of docs.values()) {
      if (!cleared.has(await stores.get(doc.path))) continue;
      doc.invalidateScores();
      publisher.markDirty(doc);
      void stored.sweep(doc);
    }
    this.deps.log.info(`cleared ${cleared.size} score store(s)`);
    return { cleared: cleared.size };
  }

  /** One record through the pipeline. A version that is no longer the document's is refused (the line may hold another record now). */
  private async reflect([uri, line, mode = 'selective', version, options]: CommandArgs<typeof ReflectCommand>, ctx: CommandContext): Promise<ReflectionView> {
    const doc = this.requireDoc(uri);
    if (version !== undefined && version !== doc.version) {
      throw new ReflectionRequestError('the document changed since this action was offered: ask for it again on the record');
    }
    const progress = await this.deps.progress.forCommand(`Sift: reflecting line ${line + 1} (${mode})`, ctx);
    let view: ReflectionView;
    try {
      view = await this.deps.reflections().reflectOne(doc, line, mode, progress.signal, progress.report);
    } finally {
      progress.done();
    }
    this.deps.log.info(`reflect ${doc.uri}:${line + 1} (${mode}): ${view.reason}${view.error ? `; ${view.error}` : ''}`);
    if (options?.apply) await this.applyReflection(doc, view);
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
    if (this.deps.docs.get(doc.uri) !== doc || doc.records.line(view.line)?.text !== view.originalText) {
      this.notify(MessageType.Warning, `${where}: the record changed while it was being reflected; nothing was written`);
      return;
    }
    const range = { start: { line: view.line, character: doc.column(view.line, 0) }, end: { line: view.line, character: doc.lineEnd(view.line) } };
    const edit = this.deps.documentChanges()
      ? { documentChanges: [{ textDocument: { uri: doc.uri, version: doc.version }, edits: [{ range, newText: kept.line }] }] }
      : { changes: { [doc.uri]: [{ range, newText: kept.line }] } };
    const result = await this.deps.connection.workspace.applyEdit({ label: 'Sift: reflection', edit });
    this.notify(MessageType.Info, `${where}: ${result.applied ? '' : 'not applied: '}${view.reason}`);
  }

  /** A message with no actions: the window/showMessage notification (nothing to answer). */
  private notify(type: MessageType, text: string): void {
    void this.deps.connection.sendNotification(ShowMessageNotification.type, { type, message: text });
  }
}
