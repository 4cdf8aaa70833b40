import * as vscode from 'vscode';
import { NO_TEACHER, type ReflectionBatchParams, type ReflectionBatchResult, type ReflectionSelection } from '../protocol';
import { EstimateReflectionCommand, ReflectBatchCommand, ReflectCommand, TeacherBatchesCommand, type CommandArgs, type CommandResult, type ServerCommand } from '../protocol/commands';
import { REFLECTION_MODES, isReflectionView, type ReflectionMode, type ReflectionView } from '../protocol/reflectionView';
import type { ReflectionPanels } from './reflectionPanel';
import { MODE_LABELS, batchSummary, estimateMessage, panelTitle } from './reflectionPanelModel';
import { originsOf } from './endpointTrustModel';
import { missingTeacher } from './reflectionSettingsModel';
import type { TeacherApiKey } from './secrets';
import { batchChoiceLabel, pendingMessage, pickUpTitle } from './teacherBatchModel';
import type { CommandProgress, ServerConnection } from './serverConnection';
import { isDatasetDocument, readReflectionSettings, settingsScope, teacherUrlIgnored } from './settings';

export interface ReflectionCommandDeps {
  server: ServerConnection;
  panels: ReflectionPanels;
  teacherKey: TeacherApiKey;
  log: vscode.LogOutputChannel;
}

const MODE_DETAILS: Record<ReflectionMode, string> = {
  selective: 'The teacher rewrites the instruction, then the response; the student keeps a rewrite only when it scores better (higher IFD, then lower r-IFD).',
  instruction: 'The teacher writes a new, harder instruction and its answer; kept when the student finds it harder (higher IFD).',
  response: 'The teacher writes a better answer; kept when it makes the instruction easier for the student to predict (lower r-IFD).',
};

function fileName(uri: string): string {
  return decodeURIComponent(uri.split('/').pop() ?? uri);
}

function isNoTeacher(error: unknown): error is { message: string } {
  const data = (error as { data?: { reason?: unknown } } | undefined)?.data;
  return typeof error === 'object' && error !== null && data?.reason === NO_TEACHER;
}

/**
 * Reflection from the editor: a record from a code action, hover link or the palette, or a batch
 * (selected lines, the N lowest-IFD records, the whole file) after showing what it will cost. The
 * server runs the pipeline; the results open in the diff view beside the dataset.
 */
export class ReflectionCommands {
  constructor(private readonly deps: ReflectionCommandDeps) {}

  /** `sift.reflect` [uri, line, mode, version] from a code action or a hover link. */
  async fromServerCommand(args: unknown[]): Promise<ReflectionView | undefined> {
    const [uri, line, mode, version] = args;
    if (typeof uri !== 'string' || typeof line !== 'number' || !Number.isInteger(line) || line < 0) throw new Error('sift.reflect expects [uri, line, mode, version]');
    const m = (REFLECTION_MODES as readonly unknown[]).includes(mode) ? (mode as ReflectionMode) : 'selective';
    try {
      return await this.reflectRecord(uri, line, m, typeof version === 'number' ? version : undefined);
    } catch (error) {
      // Not a palette command (no `guarded` wrapper): say what went wrong here, in Sift's words.
      const message = error instanceof Error ? error.message : String(error);
      this.deps.log.error(`Reflection of ${fileName(uri)} line ${line + 1}: ${message}`);
      void vscode.window.showErrorMessage(`Sift: reflection failed: ${message}`, 'Show Log').then((choice) => {
        if (choice === 'Show Log') this.deps.log.show();
      });
      return undefined;
    }
  }

  /** Sift: Reflect Record… on the line of the cursor. */
  async reflectAtCursor(): Promise<void> {
    const editor = vscode.window.activeTextEditor;
    if (!editor || !isDatasetDocument(editor.document)) {
      void vscode.window.showInformationMessage('Put the cursor on a record of a JSONL dataset first.');
      return;
    }
    const mode = await this.pickMode();
    if (!mode) return;
    await this.reflectRecord(this.deps.server.protocolUri(editor.document.uri), editor.selection.active.line, mode, editor.document.version);
  }

  async reflectRecord(uri: string, line: number, mode: ReflectionMode, version?: number): Promise<ReflectionView | undefined> {
    if (!this.teacherReady()) return undefined;
    const view = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Sift: ${MODE_LABELS[mode]}, line ${line + 1}`, cancellable: true },
      (progress, token) => this.run(ReflectCommand, [uri, line, mode, version], token, progress),
    );
    if (!view) return undefined;
    if (!isReflectionView(view)) throw new Error('the server sent a reflection result this client does not understand');
    if (view.error) this.deps.log.warn(`Reflection of ${uri} line ${line + 1}: ${view.error}`);
    this.deps.panels.show([view], panelTitle(fileName(uri), [view]));
    return view;
  }

  /**
   * Sift: Reflect Records…: pick the records and the mode, confirm the estimate (with its cost now
   * and as a teacher batch), run, review. `asBatch`: the batch is the only choice offered.
   */
  async reflectBatch(arg?: unknown, asBatch = false): Promise<void> {
    const document = await this.batchDocument(arg);
    if (!document || !this.teacherReady()) return;
    const selection = await this.pickSelection(document);
    if (!selection) return;
    const mode = await this.pickMode();
    if (!mode) return;
    const uri = this.deps.server.protocolUri(document.uri);
    const estimate = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: 'Sift: estimating the teacher calls', cancellable: true },
      (progress, token) => this.run(EstimateReflectionCommand, [uri, { ...selection, mode }], token, progress),
    );
    if (!estimate) return;
    if (estimate.lines.length === 0) {
      void vscode.window.showInformationMessage(`Sift: no record to reflect in that selection${estimate.skipped > 0 ? ` (${estimate.skipped} line(s) are not records that can be reflected)` : ''}.`);
      return;
    }
    let batch = asBatch;
    if (estimate.calls > 0 || estimate.pendingBatches > 0) {
      const { message, detail } = estimateMessage(estimate);
      const batchChoice = batchChoiceLabel(estimate.lines.length);
      const choice = await vscode.window.showWarningMessage(message, { modal: true, detail }, ...(asBatch ? [batchChoice] : ['Reflect', batchChoice]));
      if (choice === undefined) return;
      batch = choice === batchChoice;
    }
    if (batch) {
      const title = `Sift: ${MODE_LABELS[mode]} of ${estimate.lines.length} record(s) through a teacher batch (Cancel stops waiting; the batch goes on)`;
      await this.runTeacherBatch(uri, { lines: estimate.lines, mode }, title);
      return;
    }
    const result = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Sift: ${MODE_LABELS[mode]} of ${estimate.lines.length} record(s)`, cancellable: true },
      (progress, token) => this.run(ReflectBatchCommand, [uri, { lines: estimate.lines, mode }], token, progress, true),
    );
    if (result) this.showBatchResult(uri, result);
  }

  /**
   * Picks up the teacher batches of the workspace's datasets (Sift was closed while they ran): each
   * run of the current teacher goes on where it was, with its progress in a notification.
   */
  async resumeTeacherBatches(): Promise<void> {
    const scope = settingsScope();
    if (missingTeacher(readReflectionSettings(scope), teacherUrlIgnored(scope))) return;
    const files = await vscode.workspace.findFiles('**/.sift/teacher-batches.json', '**/node_modules/**', 100);
    for (const file of files) {
      const runs = (await this.deps.server.run(TeacherBatchesCommand, [this.deps.server.protocolUri(file)])) ?? [];
      for (const pending of runs) {
        if (!pending.current) {
          this.deps.log.info(`A teacher batch of ${pending.uri} was sent to ${pending.teacher.model} at ${pending.teacher.endpoint}, not the teacher configured now: it is left alone.`);
          continue;
        }
        const document = await vscode.workspace.openTextDocument(vscode.Uri.parse(pending.uri));
        const uri = this.deps.server.protocolUri(document.uri);
        this.deps.log.info(`Picking up the teacher batch of ${uri} (${pending.batchIds.join(', ') || 'not created yet'}, ${pending.lines.length} record(s), ${pending.mode}).`);
        void this.runTeacherBatch(uri, { lines: pending.lines, mode: pending.mode }, pickUpTitle(fileName(uri), pending)).catch((error: unknown) => {
          this.deps.log.error(`Teacher batch of ${uri}: ${error instanceof Error ? error.message : String(error)}`);
        });
      }
    }
  }

  /** A run through teacher batches, with their progress; stopping it leaves the batch running. */
  private async runTeacherBatch(uri: string, params: ReflectionBatchParams, title: string): Promise<void> {
    const result = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title, cancellable: true }, (progress, token) =>
      this.run(ReflectBatchCommand, [uri, { ...params, batch: true }], token, progress, true),
    );
    if (!result) return;
    if (result.batch?.pending) {
      const message = pendingMessage(fileName(uri), result);
      this.deps.log.info(message);
      void vscode.window.showInformationMessage(message);
      if (result.results.length === 0) return;
    }
    this.showBatchResult(uri, result);
  }

  private showBatchResult(uri: string, result: ReflectionBatchResult): void {
    const summary = batchSummary(result);
    this.deps.log.info(summary);
    for (const failure of result.failed) this.deps.log.warn(`${fileName(uri)}:${failure.line + 1}: ${failure.error}`);
    if (result.results.length > 0) this.deps.panels.show(result.results, panelTitle(fileName(uri), result.results));
    if (result.error) void vscode.window.showErrorMessage(summary);
    else void vscode.window.showInformationMessage(summary);
  }

  async setKey(): Promise<void> {
    // The key is bound to the teacher configured now: it is never sent to another origin.
    const origins = originsOf([readReflectionSettings(settingsScope()).baseUrl]);
    const key = await vscode.window.showInputBox({
      title: 'Sift: Set Teacher API Key',
      prompt: `API key of the teacher ${origins.length > 0 ? origins.join(', ') : '(none configured yet: set sift.teacher.baseUrl first)'}, sent as a Bearer token to that origin only. Stored in the editor's secret storage, never in settings.`,
      password: true,
      ignoreFocusOut: true,
      validateInput: (text) => (text.trim() ? undefined : 'Enter a key, or run Sift: Clear Teacher API Key to remove it'),
    });
    if (key === undefined) return;
    await this.deps.teacherKey.set(key.trim(), origins);
    this.deps.log.info(`Teacher API key stored in secret storage for ${origins.join(', ') || 'no teacher yet'}.`);
    void vscode.window.showInformationMessage('Sift: teacher API key stored.');
  }

  async clearKey(): Promise<void> {
    await this.deps.teacherKey.clear();
    this.deps.log.info('Teacher API key removed from secret storage.');
    void vscode.window.showInformationMessage('Sift: teacher API key removed.');
  }

  // ---- helpers ---------------------------------------------------------------------------------

  /** Runs a server command with progress and cancel; undefined when cancelled (or no teacher, already said). */
  private async run<C extends ServerCommand<unknown[], unknown>>(
    command: C,
    args: CommandArgs<C>,
    token: vscode.CancellationToken,
    progress: vscode.Progress<{ message?: string; increment?: number }>,
    keepCancelledResult = false,
  ): Promise<CommandResult<C> | undefined> {
    let done = 0;
    const onProgress = ({ message, percentage }: CommandProgress): void => {
      let increment: number | undefined;
      if (percentage !== undefined && percentage > done) {
        increment = percentage - done;
        done = percentage;
      }
      progress.report({ message, increment });
    };
    try {
      const result = await this.deps.server.runWithProgress(command, args, token, onProgress);
      if (token.isCancellationRequested && !keepCancelledResult) return undefined;
      return result;
    } catch (error) {
      if (token.isCancellationRequested) return undefined;
      if (isNoTeacher(error)) {
        this.showNoTeacher(error.message);
        return undefined;
      }
      throw error;
    }
  }

  /** Says what to set when no teacher is configured (the server would refuse anyway). */
  private teacherReady(): boolean {
    const scope = settingsScope();
    const missing = missingTeacher(readReflectionSettings(scope), teacherUrlIgnored(scope));
    if (!missing) return true;
    this.showNoTeacher(missing);
    return false;
  }

  private showNoTeacher(message: string): void {
    void vscode.window.showWarningMessage(message, 'Open Settings', 'Set Teacher API Key').then((choice) => {
      if (choice === 'Open Settings') void vscode.commands.executeCommand('workbench.action.openSettings', 'sift.teacher');
      else if (choice === 'Set Teacher API Key') void this.setKey();
    });
  }

  private async pickMode(): Promise<ReflectionMode | undefined> {
    const picked = await vscode.window.showQuickPick(
      REFLECTION_MODES.map((mode) => ({ label: MODE_LABELS[mode], detail: MODE_DETAILS[mode], mode })),
      { title: 'Sift: reflection mode', placeHolder: 'What should the teacher rewrite?' },
    );
    return picked?.mode;
  }

  private async batchDocument(arg: unknown): Promise<vscode.TextDocument | undefined> {
    if (arg instanceof vscode.Uri) return vscode.workspace.openTextDocument(arg);
    const document = vscode.window.activeTextEditor?.document;
    if (document && isDatasetDocument(document)) return document;
    void vscode.window.showInformationMessage('Open a JSONL dataset (.jsonl or .ndjson) first.');
    return undefined;
  }

  private async pickSelection(document: vscode.TextDocument): Promise<ReflectionSelection | undefined> {
    const editor = vscode.window.visibleTextEditors.find((e) => e.document === document);
    const selected = new Set<number>();
    for (const s of editor?.selections ?? []) {
      if (s.isEmpty) continue;
      const last = s.end.character === 0 && s.end.line > s.start.line ? s.end.line - 1 : s.end.line;
      for (let line = s.start.line; line <= last; line++) selected.add(line);
    }
    type Item = vscode.QuickPickItem & { kind2: 'lines' | 'lowest' | 'all' };
    const items: Item[] = [];
    if (selected.size > 0) items.push({ label: `Selected lines (${selected.size})`, kind2: 'lines' });
    items.push({ label: 'The N records with the lowest IFD…', detail: 'Records not scored yet are scored first.', kind2: 'lowest' });
    items.push({ label: `Every record in ${fileName(document.uri.path)}`, kind2: 'all' });
    const picked = await vscode.window.showQuickPick(items, { title: 'Sift: records to reflect', placeHolder: 'Which records should the teacher reflect on?' });
    if (!picked) return undefined;
    if (picked.kind2 === 'lines') return { lines: [...selected].sort((a, b) => a - b) };
    if (picked.kind2 === 'all') return { all: true };
    const answer = await vscode.window.showInputBox({
      title: 'Sift: reflect the records with the lowest IFD',
      prompt: 'How many records?',
      value: '10',
      validateInput: (text) => (/^\s*[1-9]\d*\s*$/.test(text) ? undefined : 'A positive whole number'),
    });
    return answer === undefined ? undefined : { lowest: Number(answer.trim()) };
  }
}
