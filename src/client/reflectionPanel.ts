import * as vscode from 'vscode';
import {
  isWebviewMessage,
  panelState,
  type AcceptFields,
  type CandidateId,
  type HostMessage,
  type PanelState,
  type RecordStatus,
  type ReflectionView,
} from '../protocol/reflectionView';
import type { ReflectionDocuments } from './reflectionDocuments';
import { VIEW_TYPE, acceptRange, makeNonce, planAccept, prettyRecord, webviewHtml } from './reflectionPanelModel';

const CANDIDATE_LABELS: Record<CandidateId, string> = {
  original: 'original',
  'instruction-reflected': 'instruction rewrite',
  'response-reflected': 'response rewrite',
};

function bundleFolder(extensionUri: vscode.Uri): vscode.Uri {
  return vscode.Uri.joinPath(extensionUri, 'dist', 'webview');
}

/** Scripts on; nothing but the bundle folder readable (no codicon font: the view uses no icons). */
function webviewOptions(extensionUri: vscode.Uri): vscode.WebviewOptions {
  return { enableScripts: true, enableCommandUris: false, localResourceRoots: [bundleFolder(extensionUri)] };
}

function newSession(): string {
  return makeNonce().replace(/[^A-Za-z0-9]/g, '').slice(0, 16);
}

/**
 * The reflection diff view (one panel, reused): shows records' reflections beside the dataset and
 * turns Accept into one ordinary, undoable edit of the record's line. State lives in the webview
 * (getState/setState) and comes back through the serializer after a reload, so the panel needs no
 * retainContextWhenHidden.
 */
export class ReflectionPanels implements vscode.Disposable {
  private current: ReflectionPanel | undefined;
  private readonly registration: vscode.Disposable;

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly log: vscode.LogOutputChannel,
    private readonly documents: ReflectionDocuments,
  ) {
    this.registration = vscode.window.registerWebviewPanelSerializer(VIEW_TYPE, {
      deserializeWebviewPanel: async (panel, state) => {
        const restored = panelState(state);
        if (!restored) {
          // Nothing usable was saved (an older version of the view): there is nothing to show.
          panel.dispose();
          return;
        }
        this.adopt(panel, restored);
      },
    });
  }

  /** Shows these reflections (a single record or a batch), replacing what the panel showed. */
  show(records: ReflectionView[], title: string): void {
    const state: PanelState = { v: 1, session: newSession(), title, records, statuses: records.map(() => ({ state: 'pending' })), index: 0, shown: {} };
    if (this.current) {
      this.current.replace(state);
      return;
    }
    const panel = vscode.window.createWebviewPanel(VIEW_TYPE, title, { viewColumn: vscode.ViewColumn.Beside, preserveFocus: false }, webviewOptions(this.extensionUri));
    this.adopt(panel, state);
  }

  private adopt(panel: vscode.WebviewPanel, state: PanelState): void {
    this.current?.dispose();
    const view = new ReflectionPanel(panel, state, this.extensionUri, this.log, this.documents);
    this.current = view;
    panel.onDidDispose(() => {
      if (this.current === view) this.current = undefined;
    });
  }

  dispose(): void {
    this.registration.dispose();
    this.current?.dispose();
  }
}

class ReflectionPanel {
  private state: PanelState;
  private readonly subscriptions: vscode.Disposable[] = [];

  constructor(
    private readonly panel: vscode.WebviewPanel,
    state: PanelState,
    extensionUri: vscode.Uri,
    private readonly log: vscode.LogOutputChannel,
    private readonly documents: ReflectionDocuments,
  ) {
    this.state = state;
    const webview = panel.webview;
    webview.options = webviewOptions(extensionUri);
    panel.title = state.title;
    const nonce = makeNonce();
    webview.html = webviewHtml({
      cspSource: webview.cspSource,
      nonce,
      scriptUri: webview.asWebviewUri(vscode.Uri.joinPath(bundleFolder(extensionUri), 'reflection.js')).toString(),
      styleUri: webview.asWebviewUri(vscode.Uri.joinPath(bundleFolder(extensionUri), 'reflection.css')).toString(),
      title: state.title,
    });
    this.subscriptions.push(
      panel.onDidDispose(() => {
        for (const s of this.subscriptions) s.dispose();
      }),
      webview.onDidReceiveMessage((message: unknown) => {
        this.receive(message).catch((error: unknown) => {
          const text = error instanceof Error ? error.message : String(error);
          this.log.error(`Reflection view: ${text}`);
          this.post({ type: 'notice', level: 'error', text });
        });
      }),
    );
  }

  replace(state: PanelState): void {
    this.state = state;
    this.panel.title = state.title;
    this.panel.reveal(undefined, false);
    this.sendShow();
  }

  dispose(): void {
    for (const s of this.subscriptions) s.dispose();
    this.panel.dispose();
  }

  private post(message: HostMessage): void {
    void this.panel.webview.postMessage(message);
  }

  private sendShow(): void {
    const s = this.state;
    this.post({ type: 'show', session: s.session, records: s.records, statuses: s.statuses, index: s.index, title: s.title });
  }

  private setStatus(index: number, status: RecordStatus): void {
    this.state.statuses[index] = status;
    this.post({ type: 'status', index, status });
  }

  private async receive(message: unknown): Promise<void> {
    if (!isWebviewMessage(message)) {
      this.log.warn('Reflection view: ignored a message that is not part of its protocol.');
      return;
    }
    if (message.type === 'ready') {
      this.sendShow();
      return;
    }
    const view = this.state.records[message.index];
    if (!view) return;
    switch (message.type) {
      case 'navigate':
        this.state.index = message.index;
        return;
      case 'reject':
        this.setStatus(message.index, { state: 'rejected', detail: 'Rejected: the record was left as it is.' });
        return;
      case 'accept':
        await this.accept(message.index, view, message.candidate, message.fields);
        return;
      case 'openDiff':
        await this.openDiff(view, message.candidate);
        return;
    }
  }

  private async accept(index: number, view: ReflectionView, candidate: CandidateId, fields: AcceptFields): Promise<void> {
    const uri = vscode.Uri.parse(view.uri);
    const document = await vscode.workspace.openTextDocument(uri);
    const lines = { version: document.version, lineCount: document.lineCount, lineText: (i: number) => document.lineAt(i).text };
    const plan = planAccept(lines, view, candidate, fields);
    if (!plan.ok) {
      // The panel says why, in its status line (announced to screen readers); no toast on top.
      this.post({ type: 'notice', level: 'error', text: plan.reason });
      this.log.info(`Reflection not accepted: ${view.uri} line ${view.line + 1}: ${plan.reason}`);
      return;
    }
    // One WorkspaceEdit is one undo step in the dataset's editor.
    const range = acceptRange(lines, plan.line);
    const edit = new vscode.WorkspaceEdit();
    edit.replace(uri, new vscode.Range(range.line, range.start, range.line, range.end), plan.newText);
    if (!(await vscode.workspace.applyEdit(edit))) {
      this.post({ type: 'notice', level: 'error', text: 'The editor did not apply the edit (is the file read-only?).' });
      return;
    }
    const part = fields === 'both' ? `the ${CANDIDATE_LABELS[candidate]}` : `the ${fields} of the ${CANDIDATE_LABELS[candidate]}`;
    const detail = `Accepted ${part}: line ${plan.line + 1} replaced${plan.note ? ` (${plan.note})` : ''}. Undo in the dataset's editor restores it; save to keep it.`;
    this.log.info(`Reflection accepted: ${view.uri} line ${plan.line + 1} (${candidate}, ${fields}).`);
    this.setStatus(index, { state: 'accepted', detail });
  }

  private async openDiff(view: ReflectionView, candidateId: CandidateId): Promise<void> {
    const candidate = view.candidates.find((c) => c.id === candidateId);
    if (!candidate || candidate.line === undefined) {
      this.post({ type: 'notice', level: 'error', text: 'This candidate has no rewritten record to compare.' });
      return;
    }
    const stem = `line-${view.line + 1}`;
    const left = this.documents.add(`${stem}.original.json`, prettyRecord(view.originalText));
    const right = this.documents.add(`${stem}.${candidate.id}.json`, prettyRecord(candidate.line));
    const name = decodeURIComponent(view.uri.split('/').pop() ?? view.uri);
    await vscode.commands.executeCommand('vscode.diff', left, right, `${name} line ${view.line + 1}: original ↔ ${CANDIDATE_LABELS[candidate.id]}`, { preview: true });
  }
}
