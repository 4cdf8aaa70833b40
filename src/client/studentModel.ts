import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as vscode from 'vscode';
import { ChecksumMismatch, DownloadPaused, pullModel } from '../core/models/pull';
import { readManifest, type PulledModel } from '../core/models/store';
import { BACKEND_NAMES } from '../core/scoring/backends';
import { CommandIds } from './commandIds';
import { readSettings, settingsScope } from './settings';
import { SECTION } from './settingsModel';
import { downloadMessage, endpointUrlProblem, studentLabel, studentPickItems, type StudentChoice, type StudentSettings } from './studentModelModel';

/**
 * **Sift: Choose Student Model…** and the `Student` language status item. Downloads go to the
 * extension's global storage (`models/`), through the same pull as `sift model pull`: resumable,
 * checksum-checked. The choice is written to the user settings (`sift.backend`, `sift.modelPath`,
 * `sift.endpointUrls`), which the server already follows.
 */
export class StudentModels implements vscode.Disposable {
  private readonly dir: string;
  private readonly item = vscode.languages.createLanguageStatusItem('sift.student', [{ language: 'jsonl' }, { pattern: '**/*.{jsonl,ndjson}' }]);
  private readonly subscriptions: vscode.Disposable[];

  constructor(globalStorage: vscode.Uri, private readonly log: vscode.LogOutputChannel) {
    this.dir = join(globalStorage.fsPath, 'models');
    this.item.name = 'Sift student model';
    this.item.command = { title: 'Choose…', command: CommandIds.chooseStudentModel };
    this.subscriptions = [
      vscode.workspace.onDidChangeConfiguration((event) => {
        if (event.affectsConfiguration(SECTION)) this.render();
      }),
      vscode.window.onDidChangeActiveTextEditor(() => this.render()),
    ];
    this.render();
  }

  dispose(): void {
    this.item.dispose();
    for (const subscription of this.subscriptions) subscription.dispose();
  }

  /** The command: failures are logged and shown, never left unhandled. */
  async choose(): Promise<void> {
    try {
      await this.pickAndApply();
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      this.log.error(`Choose Student Model: ${message}`);
      const answer = await vscode.window.showErrorMessage(`Sift: Choose Student Model failed: ${message}`, 'Show Log');
      if (answer === 'Show Log') this.log.show();
    }
  }

  private async pickAndApply(): Promise<void> {
    const items = studentPickItems(this.current(), this.dir, this.pulled(), existsSync).map((item) =>
      item.separator ? { label: item.label, kind: vscode.QuickPickItemKind.Separator } : { label: item.label, description: item.description, detail: item.detail, choice: item.choice },
    );
    const picked = await vscode.window.showQuickPick(items, { title: 'Sift: Choose Student Model', placeHolder: 'The model whose losses score your records', matchOnDetail: true });
    const choice = (picked as { choice?: StudentChoice } | undefined)?.choice;
    if (!choice) return;
    if (choice.kind === 'bundled') return this.useLocal('');
    if (choice.kind === 'download') {
      const path = choice.pulledPath ?? (await this.download(choice.model.name, choice.model.title));
      if (path) await this.useLocal(path);
      return;
    }
    if (choice.kind === 'file') {
      const files = await vscode.window.showOpenDialog({ title: 'Sift: a GGUF student model', canSelectMany: false, filters: { 'GGUF models': ['gguf'] } });
      if (files?.[0]) await this.useLocal(files[0].fsPath);
      return;
    }
    await this.chooseEndpoint();
  }

  /** Downloads with progress in a notification; Cancel keeps what arrived for the next try. */
  private async download(name: string, title: string): Promise<string | undefined> {
    try {
      const pulled = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `Sift: downloading ${title}`, cancellable: true },
        async (progress, token) => {
          const abort = new AbortController();
          token.onCancellationRequested(() => abort.abort());
          let reported = 0;
          return pullModel({
            name,
            dir: this.dir,
            signal: abort.signal,
            onProgress: ({ downloaded, total }) => {
              const { message, percent } = downloadMessage(downloaded, total);
              progress.report({ message, increment: percent - reported });
              reported = percent;
            },
          });
        },
      );
      this.log.info(`Student model ${name}: ${pulled.path} (sha256 ${pulled.sha256}, ${pulled.checksum}${pulled.reused ? ', already downloaded' : ''}).`);
      return pulled.path;
    } catch (error) {
      if (error instanceof DownloadPaused) {
        void vscode.window.showInformationMessage(`Sift: download of ${title} paused. Choose it again to resume where it stopped.`);
        return undefined;
      }
      if (error instanceof ChecksumMismatch) {
        this.log.error(error.message);
        void vscode.window.showErrorMessage(`Sift: the download of ${title} was corrupt (checksum mismatch) and was deleted. Try again.`);
        return undefined;
      }
      throw error;
    }
  }

  private async chooseEndpoint(): Promise<void> {
    const servers = BACKEND_NAMES.filter((name) => name !== 'local');
    const backend = await vscode.window.showQuickPick(servers, { title: 'Sift: the scoring server', placeHolder: 'Which server answers at the endpoint' });
    if (!backend) return;
    const current = this.current();
    const url = await vscode.window.showInputBox({
      title: `Sift: ${backend} endpoint`,
      prompt: 'Base URL of the server (an API key, if it needs one: Sift: Set Scoring API Key)',
      value: current.endpointUrls[0] ?? 'http://localhost:8000',
      validateInput: endpointUrlProblem,
      ignoreFocusOut: true,
    });
    if (url === undefined) return;
    await this.update({ backend, endpointUrls: [url.trim()] });
  }

  private async useLocal(modelPath: string): Promise<void> {
    await this.update({ backend: 'local', modelPath });
  }

  /** Writes user settings; says so when a workspace value still overrides one of them. */
  private async update(values: Record<string, unknown>): Promise<void> {
    const config = vscode.workspace.getConfiguration(SECTION, settingsScope());
    for (const [key, value] of Object.entries(values)) await config.update(key, value, vscode.ConfigurationTarget.Global);
    const overridden = Object.keys(values).filter((key) => {
      const inspected = config.inspect(key);
      return inspected?.workspaceValue !== undefined || inspected?.workspaceFolderValue !== undefined;
    });
    if (overridden.length > 0) {
      void vscode.window.showWarningMessage(`Sift: the student was saved in your user settings, but this workspace sets ${overridden.map((key) => `sift.${key}`).join(', ')}, which wins here.`);
    }
    this.render();
  }

  private current(): StudentSettings {
    const settings = readSettings(settingsScope());
    return { backend: settings.backend, modelPath: settings.modelPath ?? '', endpointUrls: settings.endpointUrls ?? [], servedModel: settings.servedModel ?? '' };
  }

  private pulled(): PulledModel[] {
    try {
      return readManifest(this.dir);
    } catch (error) {
      this.log.warn(String(error));
      return [];
    }
  }

  private render(): void {
    const { text, detail } = studentLabel(this.current(), this.dir, this.pulled());
    this.item.text = `$(mortar-board) ${text}`;
    this.item.detail = detail;
  }
}
