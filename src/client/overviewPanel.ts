import * as vscode from 'vscode';
import { FilterFileCommand, OverviewRequest, type OverviewResult } from '../protocol';
import type { OverviewRules } from '../protocol/overview';
import { checkRules, isOverviewWebviewMessage, type OverviewHostMessage } from '../protocol/overviewView';
import { filterCommandLine } from '../core/overview/command';
import { CommandIds } from './commandIds';
import { describeFilterResult } from './filterChoices';
import { DEFAULT_OVERVIEW_RULES, OVERVIEW_VIEW_TYPE, defaultExportPath, nextRefreshDelay, overviewHtml } from './overviewPanelModel';
import { makeNonce } from './webviewPage';
import type { ServerConnection } from './serverConnection';

function bundleFolder(extensionUri: vscode.Uri): vscode.Uri {
  return vscode.Uri.joinPath(extensionUri, 'dist', 'webview');
}

/**
 * Sift: Dataset Overview: one panel per dataset, beside it. The server aggregates; the panel sends
 * the rules, draws what comes back, and asks again when the rules move, the text changes or new
 * scores land (paced by nextRefreshDelay, so a 500k-record file stays responsive).
 */
export class OverviewPanels implements vscode.Disposable {
  private readonly panels = new Map<string, OverviewPanel>();
  private readonly subscriptions: vscode.Disposable[];

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly server: ServerConnection,
    private readonly log: vscode.LogOutputChannel,
  ) {
    // The status entry beside the scoring one: the overview is one click from any dataset.
    const entry = vscode.languages.createLanguageStatusItem('sift.overview', [{ language: 'jsonl' }, { pattern: '**/*.{jsonl,ndjson}' }]);
    entry.name = 'Sift: Dataset Overview';
    entry.text = '$(graph) Overview';
    entry.detail = 'Histograms, selection rules, export';
    entry.command = { title: 'Dataset Overview', command: CommandIds.overview };
    this.subscriptions = [entry, vscode.workspace.onDidChangeTextDocument((e) => this.panels.get(server.protocolUri(e.document.uri))?.schedule(false))];
  }

  show(document: vscode.TextDocument): void {
    const key = this.server.protocolUri(document.uri);
    const open = this.panels.get(key);
    if (open) return open.reveal();
    const name = vscode.workspace.asRelativePath(document.uri);
    const panel = vscode.window.createWebviewPanel(OVERVIEW_VIEW_TYPE, `Overview: ${name.split(/[\\/]/).pop()}`, { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true }, {
      enableScripts: true,
      enableCommandUris: false,
      localResourceRoots: [bundleFolder(this.extensionUri)],
    });
    const view = new OverviewPanel(panel, document.uri, key, name, this.extensionUri, this.server, this.log);
    this.panels.set(key, view);
    panel.onDidDispose(() => {
      if (this.panels.get(key) === view) this.panels.delete(key);
      view.dispose();
    });
  }

  /** ScoresChanged from the server. */
  scoresChanged(uri: string): void {
    this.panels.get(uri)?.schedule(false);
  }

  dispose(): void {
    for (const s of this.subscriptions) s.dispose();
    for (const view of this.panels.values()) view.close();
  }
}

class OverviewPanel {
  private rules: OverviewRules = { ...DEFAULT_OVERVIEW_RULES };
  private last: { startedAt: number; took: number } | undefined;
  private running = false;
  private again: boolean | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private readonly subscriptions: vscode.Disposable[] = [];

  constructor(
    private readonly panel: vscode.WebviewPanel,
    private readonly documentUri: vscode.Uri,
    private readonly key: string,
    private readonly name: string,
    extensionUri: vscode.Uri,
    private readonly server: ServerConnection,
    private readonly log: vscode.LogOutputChannel,
  ) {
    const webview = panel.webview;
    webview.html = overviewHtml({
      cspSource: webview.cspSource,
      nonce: makeNonce(),
      scriptUri: webview.asWebviewUri(vscode.Uri.joinPath(bundleFolder(extensionUri), 'overview.js')).toString(),
      styleUri: webview.asWebviewUri(vscode.Uri.joinPath(bundleFolder(extensionUri), 'overview.css')).toString(),
      title: panel.title,
    });
    this.subscriptions.push(
      webview.onDidReceiveMessage((message: unknown) => {
        this.receive(message).catch((error: unknown) => this.notice('error', error instanceof Error ? error.message : String(error)));
      }),
    );
  }

  reveal(): void {
    this.panel.reveal(undefined, true);
  }

  close(): void {
    this.panel.dispose();
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    for (const s of this.subscriptions) s.dispose();
  }

  /** Asks the server again: at once for a rule change (`urgent`), paced for new scores and edits. */
  schedule(urgent: boolean): void {
    if (this.running) {
      this.again = this.again === true || urgent;
      return;
    }
    if (this.timer) {
      if (!urgent) return;
      clearTimeout(this.timer);
    }
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.refresh();
    }, nextRefreshDelay(Date.now(), this.last, urgent));
  }

  private async refresh(): Promise<void> {
    this.running = true;
    const startedAt = Date.now();
    try {
      const result = await this.server.request(OverviewRequest, { uri: this.key, rules: this.rules });
      this.post({ type: 'show', file: this.name, result, rules: this.rules, command: this.commandLine(result) });
    } catch (error) {
      const text = error instanceof Error ? error.message : String(error);
      this.log.warn(`Overview of ${this.name}: ${text}`);
      this.notice('error', text);
    } finally {
      this.last = { startedAt, took: Date.now() - startedAt };
      this.running = false;
      const again = this.again;
      this.again = undefined;
      if (again !== undefined) this.schedule(again);
    }
  }

  private commandLine(result: OverviewResult): string {
    return filterCommandLine(this.name, this.rules, result.dsRule, defaultExportPath(this.name));
  }

  private post(message: OverviewHostMessage): void {
    void this.panel.webview.postMessage(message);
  }

  private notice(level: 'info' | 'error', text: string): void {
    this.post({ type: 'notice', level, text });
  }

  private async receive(message: unknown): Promise<void> {
    if (!isOverviewWebviewMessage(message)) {
      this.log.warn('Overview: ignored a message that is not part of its protocol.');
      return;
    }
    switch (message.type) {
      case 'ready':
        return this.schedule(true);
      case 'rules':
        this.rules = checkRules(message.rules) ?? this.rules;
        return this.schedule(true);
      case 'reveal':
        return this.revealLine(message.line);
      case 'copy':
        await vscode.env.clipboard.writeText(message.text);
        return this.notice('info', 'Command copied.');
      case 'export':
        return this.export();
    }
  }

  private async revealLine(line: number): Promise<void> {
    const document = await vscode.workspace.openTextDocument(this.documentUri);
    const visible = vscode.window.visibleTextEditors.find((e) => e.document === document);
    const editor = await vscode.window.showTextDocument(document, { viewColumn: visible?.viewColumn ?? vscode.ViewColumn.One, preserveFocus: false });
    const position = new vscode.Position(Math.min(line - 1, document.lineCount - 1), 0);
    editor.selection = new vscode.Selection(position, position);
    editor.revealRange(new vscode.Range(position, position), vscode.TextEditorRevealType.InCenterIfOutsideViewport);
  }

  /** The selected records through the server's Filter command: `sift filter`'s rules, lines byte for byte, written atomically. */
  private async export(): Promise<void> {
    const source = this.documentUri.scheme === 'file' ? this.documentUri.fsPath : undefined;
    const target = await vscode.window.showSaveDialog({
      title: 'Sift: Export the selected records as',
      defaultUri: source ? vscode.Uri.file(defaultExportPath(source)) : undefined,
      filters: { 'JSON Lines': ['jsonl', 'ndjson'] },
      saveLabel: 'Export',
    });
    if (!target) return;
    if (target.scheme !== 'file') return this.notice('error', 'Sift exports to local files only.');
    if (target.toString() === this.documentUri.toString()) return this.notice('error', 'Choose another file: Sift never overwrites the dataset it reads.');
    const result = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Sift: exporting the selection of ${this.name}`, cancellable: true }, (_progress, token) =>
      this.server.run(FilterFileCommand, [this.key, { outPath: target.fsPath, ...this.rules }], token),
    );
    if (!result) return;
    const text = `Exported to ${vscode.workspace.asRelativePath(result.outPath)}: ${describeFilterResult(result)}`;
    this.notice('info', text);
    this.log.info(`Overview export: ${text}`);
    const choice = await vscode.window.showInformationMessage(`Sift: ${text}`, 'Open');
    if (choice === 'Open') await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(vscode.Uri.file(result.outPath)), { preview: false });
  }
}
