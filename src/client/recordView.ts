import * as vscode from 'vscode';
import { DropRecordCommand, RecordRequest, type ScoreDirection } from '../protocol';
import { isRecordWebviewMessage, type RecordDetails, type RecordHostMessage, type RecordWebviewMessage } from '../protocol/recordView';
import { moveByScore } from './recordNavigation';
import { FOLLOW_DELAY_MS, RECORD_VIEW_TYPE, SHOW_OVERVIEW_COMMAND, pressApplies, recordPageHtml, viewContent, viewTitle } from './recordViewModel';
import type { ReflectionCommands } from './reflectCommands';
import { makeNonce } from './webviewPage';
import type { ServerConnection } from './serverConnection';
import { isDatasetDocument } from './settings';

export interface RecordViewDeps {
  extensionUri: vscode.Uri;
  server: ServerConnection;
  reflection: ReflectionCommands;
  log: vscode.LogOutputChannel;
}

function bundleFolder(extensionUri: vscode.Uri): vscode.Uri {
  return vscode.Uri.joinPath(extensionUri, 'dist', 'webview');
}

/** Scripts on; nothing but the bundle folder readable; no command links (actions are messages the host checks). */
function webviewOptions(extensionUri: vscode.Uri): vscode.WebviewOptions {
  return { enableScripts: true, enableCommandUris: false, localResourceRoots: [bundleFolder(extensionUri)] };
}

/**
 * The record view (one panel beside the dataset): the record under the cursor of the last dataset
 * editor, rendered readably with its scores and actions. It follows the cursor, the file's edits
 * and newly landed scores; the webview holds no state of its own, so a reload just asks again.
 */
export class RecordView implements vscode.Disposable {
  private panel: vscode.WebviewPanel | undefined;
  /** The dataset editor the view follows (the last one that was active). */
  private editor: vscode.TextEditor | undefined;
  private shown: RecordDetails | undefined;
  private timer: NodeJS.Timeout | undefined;
  private ready = false;
  private readonly subscriptions: vscode.Disposable[] = [];

  constructor(private readonly deps: RecordViewDeps) {
    this.subscriptions.push(
      vscode.window.registerWebviewPanelSerializer(RECORD_VIEW_TYPE, { deserializeWebviewPanel: async (panel) => this.adopt(panel) }),
      vscode.window.onDidChangeActiveTextEditor((editor) => {
        if (editor && isDatasetDocument(editor.document)) this.follow(editor);
      }),
      vscode.window.onDidChangeTextEditorSelection((event) => {
        if (isDatasetDocument(event.textEditor.document)) this.follow(event.textEditor);
      }),
      vscode.workspace.onDidChangeTextDocument((event) => {
        if (this.editor?.document === event.document) this.schedule();
      }),
    );
  }

  /** Sift: Show Record: opens the view beside the dataset (or brings it forward) without taking the focus. */
  show(): void {
    const active = vscode.window.activeTextEditor;
    if (active && isDatasetDocument(active.document)) this.editor = active;
    if (this.panel) {
      this.panel.reveal(undefined, true);
      return this.schedule(0);
    }
    const panel = vscode.window.createWebviewPanel(RECORD_VIEW_TYPE, 'Sift record', { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true }, webviewOptions(this.deps.extensionUri));
    this.adopt(panel);
  }

  /** Scores landed for a document: the view asks again if it shows it. */
  scoresChanged(uri: string): void {
    if (this.editor && this.deps.server.protocolUri(this.editor.document.uri) === uri) this.schedule();
  }

  /** The dataset editor the view follows, for the move commands when the view has the focus. */
  get followed(): vscode.TextEditor | undefined {
    return this.panel?.active ? this.liveEditor() : undefined;
  }

  private adopt(panel: vscode.WebviewPanel): void {
    this.panel?.dispose();
    this.panel = panel;
    this.ready = false;
    this.editor ??= vscode.window.visibleTextEditors.find((e) => isDatasetDocument(e.document));
    const webview = panel.webview;
    webview.options = webviewOptions(this.deps.extensionUri);
    const folder = bundleFolder(this.deps.extensionUri);
    webview.html = recordPageHtml({
      cspSource: webview.cspSource,
      nonce: makeNonce(),
      scriptUri: webview.asWebviewUri(vscode.Uri.joinPath(folder, 'record.js')).toString(),
      styleUri: webview.asWebviewUri(vscode.Uri.joinPath(folder, 'record.css')).toString(),
    });
    const listeners = [
      webview.onDidReceiveMessage((message: unknown) => {
        this.receive(message).catch((error: unknown) => {
          const text = error instanceof Error ? error.message : String(error);
          this.deps.log.error(`Record view: ${text}`);
          void vscode.window.showErrorMessage(`Sift: ${text}`);
        });
      }),
    ];
    panel.onDidDispose(() => {
      listeners.forEach((l) => l.dispose());
      if (this.panel === panel) {
        this.panel = undefined;
        this.shown = undefined;
      }
    });
  }

  private follow(editor: vscode.TextEditor): void {
    this.editor = editor;
    if (this.panel) this.schedule();
  }

  private schedule(delay = FOLLOW_DELAY_MS): void {
    if (!this.panel || !this.ready) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.update(), delay);
  }

  /** The followed editor if it is still open, else another editor of the same document. */
  private liveEditor(): vscode.TextEditor | undefined {
    const document = this.editor?.document;
    if (!document || document.isClosed) return undefined;
    if (vscode.window.visibleTextEditors.includes(this.editor!)) return this.editor;
    return vscode.window.visibleTextEditors.find((e) => e.document === document);
  }

  private async update(): Promise<void> {
    const panel = this.panel;
    if (!panel) return;
    const document = this.editor?.document;
    const uri = document && !document.isClosed ? this.deps.server.protocolUri(document.uri) : undefined;
    let details: RecordDetails | null | undefined;
    if (uri) {
      const client = this.deps.server.running;
      details = client ? await client.sendRequest(RecordRequest, { uri, line: this.editor!.selection.active.line }) : undefined;
    }
    if (this.panel !== panel) return;
    const overview = details ? (await vscode.commands.getCommands(true)).includes(SHOW_OVERVIEW_COMMAND) : false;
    const content = viewContent(details, uri, overview);
    this.shown = content.kind === 'record' ? content.details : undefined;
    panel.title = viewTitle(content);
    this.post({ type: 'show', content });
  }

  private post(message: RecordHostMessage): void {
    void this.panel?.webview.postMessage(message);
  }

  private async receive(message: unknown): Promise<void> {
    if (!isRecordWebviewMessage(message)) {
      this.deps.log.warn('Record view: ignored a message that is not part of its protocol.');
      return;
    }
    if (message.type === 'ready') {
      this.ready = true;
      return this.schedule(0);
    }
    if (!pressApplies(message, this.shown)) {
      // The record changed under the button (an edit, a move): show what is there now instead.
      return this.schedule(0);
    }
    await this.act(message);
  }

  private async act(message: Extract<RecordWebviewMessage, { type: 'action' }>): Promise<void> {
    const { server, reflection } = this.deps;
    const editor = this.liveEditor();
    switch (message.action) {
      case 'next':
      case 'previous':
        return this.move(message.action);
      case 'reveal':
        if (editor) await this.reveal(editor, message.line);
        return;
      case 'overview':
        await vscode.commands.executeCommand(SHOW_OVERVIEW_COMMAND, vscode.Uri.parse(message.uri));
        return;
      case 'reflect':
        await reflection.reflectRecord(message.uri, message.line, 'selective', message.version);
        return;
      case 'drop': {
        const result = await server.run(DropRecordCommand, [message.uri, message.line, message.version]);
        if (result && !result.applied) void vscode.window.showWarningMessage(`Sift: the record was not dropped${result.reason ? `: ${result.reason}` : ''}.`);
        return;
      }
    }
  }

  private async move(direction: ScoreDirection): Promise<void> {
    const editor = this.liveEditor();
    await moveByScore(this.deps.server, editor, direction);
    // The move changes the selection of an editor that is not focused: follow it now.
    if (editor) this.follow(editor);
  }

  private async reveal(editor: vscode.TextEditor, line: number): Promise<void> {
    const shown = await vscode.window.showTextDocument(editor.document, { viewColumn: editor.viewColumn, preserveFocus: false });
    const at = new vscode.Position(line, 0);
    shown.selection = new vscode.Selection(at, at);
    shown.revealRange(new vscode.Range(at, at), vscode.TextEditorRevealType.InCenterIfOutsideViewport);
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.subscriptions.forEach((s) => s.dispose());
    this.panel?.dispose();
  }
}

