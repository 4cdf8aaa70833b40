import * as vscode from 'vscode';
import { cliCommandFor, isDatasetPath, isTooLargeToSync, largeFileMessage } from './largeFiles';

/** How long a freshly opened tab may take to get its TextDocument before we call it too large. */
const SETTLE_MS = 1500;

/**
 * VS Code never hands a document over 50M characters to extensions: the tab opens, but no
 * TextDocument exists and no LSP server hears of it. This watches the open tabs for such datasets
 * and says once per file why Sift shows nothing there and what to use instead.
 */
export class LargeFileWatcher implements vscode.Disposable {
  private readonly warned = new Set<string>();
  private readonly checking = new Set<string>();
  private readonly disposables: vscode.Disposable[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly log: vscode.LogOutputChannel) {
    this.disposables.push(
      vscode.window.tabGroups.onDidChangeTabs(() => this.scheduleCheck()),
      vscode.window.onDidChangeActiveTextEditor((editor) => {
        if (!editor) this.scheduleCheck();
      }),
    );
    this.scheduleCheck();
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    for (const disposable of this.disposables) disposable.dispose();
  }

  private scheduleCheck(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.check();
    }, SETTLE_MS);
  }

  private async check(): Promise<void> {
    const uris = vscode.window.tabGroups.all
      .flatMap((group) => group.tabs)
      .map((tab) => (tab.input instanceof vscode.TabInputText ? tab.input.uri : undefined))
      .filter((uri): uri is vscode.Uri => uri !== undefined && isDatasetPath(uri.path));
    for (const uri of uris) {
      const key = uri.toString();
      if (this.warned.has(key) || this.checking.has(key)) continue;
      if (vscode.workspace.textDocuments.some((document) => document.uri.toString() === key)) continue;
      this.checking.add(key);
      try {
        const stat = await vscode.workspace.fs.stat(uri);
        const hasDocument = vscode.workspace.textDocuments.some((document) => document.uri.toString() === key);
        if (!isTooLargeToSync(stat.size, hasDocument)) continue;
        this.warned.add(key);
        void this.warn(uri);
      } catch (error) {
        this.log.debug(`Large-file check of ${key}: ${String(error)}`);
      } finally {
        this.checking.delete(key);
      }
    }
  }

  private async warn(uri: vscode.Uri): Promise<void> {
    const name = uri.path.slice(uri.path.lastIndexOf('/') + 1);
    const message = largeFileMessage(name);
    this.log.warn(message);
    const copy = 'Copy Command';
    const choice = await vscode.window.showWarningMessage(message, copy);
    if (choice === copy) await vscode.env.clipboard.writeText(cliCommandFor(uri.scheme === 'file' ? uri.fsPath : uri.toString()));
  }
}
