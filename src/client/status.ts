import * as vscode from 'vscode';
import type { StatusParams } from '../protocol';
import { describeEndpoints } from './endpointHealthModel';
import { isDatasetDocument } from './settings';
import { describeStatus, statusBarText, type ServerState, type StatusAction } from './statusModel';
import { CommandIds } from './commandIds';

const SELECTOR: vscode.DocumentSelector = [{ language: 'jsonl' }, { pattern: '**/*.{jsonl,ndjson}' }];

const ACTIONS: Record<StatusAction, { title: string; command: string }> = {
  cancel: { title: 'Cancel', command: CommandIds.cancel },
  scoreFile: { title: 'Score File', command: CommandIds.scoreFile },
  restartServer: { title: 'Restart Server', command: CommandIds.restartServer },
  showLog: { title: 'Show Log', command: CommandIds.showLog },
};

/**
 * The `{}` language status item of JSONL files: endpoint/model reachability and job progress of the
 * active document (`1,234 / 5,000 scored`), busy while a job runs, with a Cancel action then; and the
 * same words as a status bar entry while a dataset is the active editor (see statusBarText).
 */
export class SiftStatus implements vscode.Disposable {
  private readonly item = vscode.languages.createLanguageStatusItem('sift.status', SELECTOR);
  /** A row of its own for the endpoints' health, while one is down (see endpointHealthModel.ts). */
  private endpointItem: vscode.LanguageStatusItem | undefined;
  private readonly bar = vscode.window.createStatusBarItem('sift.progress', vscode.StatusBarAlignment.Right, 100);
  private readonly byUri = new Map<string, StatusParams>();
  private global: StatusParams | undefined;
  private server: ServerState = 'starting';
  private readonly subscription: vscode.Disposable;

  constructor(private readonly protocolUri: (uri: vscode.Uri) => string) {
    this.item.name = 'Sift';
    this.bar.name = 'Sift scoring';
    this.subscription = vscode.window.onDidChangeActiveTextEditor(() => this.render());
    this.render();
  }

  update(params: StatusParams): void {
    if (params.uri) this.byUri.set(params.uri, params);
    else this.global = params;
    this.render();
  }

  setServerState(state: ServerState): void {
    this.server = state;
    if (state === 'stopped') this.byUri.clear();
    this.render();
  }

  forget(uri: string): void {
    this.byUri.delete(uri);
    this.render();
  }

  dispose(): void {
    this.subscription.dispose();
    this.item.dispose();
    this.endpointItem?.dispose();
    this.bar.dispose();
  }

  private render(): void {
    const document = vscode.window.activeTextEditor?.document;
    const status = (document && this.byUri.get(this.protocolUri(document.uri))) ?? this.global;
    const view = describeStatus(status, this.server);
    this.item.text = view.text;
    this.item.detail = view.detail;
    this.item.busy = view.busy;
    this.item.severity =
      view.severity === 'error'
        ? vscode.LanguageStatusSeverity.Error
        : view.severity === 'warning'
          ? vscode.LanguageStatusSeverity.Warning
          : vscode.LanguageStatusSeverity.Information;
    const action = view.action ? ACTIONS[view.action] : undefined;
    this.item.command = action ? { title: action.title, command: action.command } : undefined;
    this.renderEndpoint(this.server === 'running' ? status : undefined);
    this.renderBar(document, view, action);
  }

  private renderEndpoint(status: StatusParams | undefined): void {
    const health = status ? describeEndpoints(status) : undefined;
    if (!health?.item) {
      this.endpointItem?.dispose();
      this.endpointItem = undefined;
      return;
    }
    // No action of its own: the row must fit the hover, and the main item's Show Log is beside it.
    this.endpointItem ??= vscode.languages.createLanguageStatusItem('sift.endpoint', SELECTOR);
    this.endpointItem.name = 'Sift endpoint';
    this.endpointItem.text = health.item.text;
    this.endpointItem.detail = health.item.detail;
    this.endpointItem.severity = health.allDown ? vscode.LanguageStatusSeverity.Error : vscode.LanguageStatusSeverity.Warning;
  }

  /** The same words in the status bar while a dataset is the active editor: they stay in view once scoring ends. */
  private renderBar(document: vscode.TextDocument | undefined, view: ReturnType<typeof describeStatus>, action: { title: string; command: string } | undefined): void {
    if (!document || !isDatasetDocument(document)) {
      this.bar.hide();
      return;
    }
    this.bar.text = statusBarText(view);
    this.bar.tooltip = view.detail;
    this.bar.accessibilityInformation = { label: `Sift: ${view.text}. ${view.detail}` };
    this.bar.command = action ? { title: action.title, command: action.command } : undefined;
    this.bar.show();
  }
}
