import * as vscode from 'vscode';
import type { LineScoresParams, LineScoresResult } from '../protocol';
import { DECORATION_KINDS, groupByKind, gutterIconFile, marksOverviewRuler, themeColorId, type DecorationKind } from './buckets';
import { linesToRequest } from './lineRanges';
import { RefreshScheduler } from './refreshScheduler';
import { isDatasetDocument, readSettings } from './settings';

export interface ScoreSource {
  /** Scores for a range of a document version; undefined when the server is not available. */
  lineScores(params: Omit<LineScoresParams, 'uri'> & { document: vscode.TextDocument }, token: vscode.CancellationToken): Promise<LineScoresResult | undefined>;
  /** The URI string the server uses for a document (what ScoresChanged carries). */
  protocolUri(uri: vscode.Uri): string;
}

function createDecorationType(kind: DecorationKind, extensionUri: vscode.Uri): vscode.TextEditorDecorationType {
  const color = new vscode.ThemeColor(themeColorId(kind));
  const gutter = (theme: 'light' | 'dark'): vscode.ThemableDecorationRenderOptions => {
    const file = gutterIconFile(kind, theme);
    return file ? { gutterIconPath: vscode.Uri.joinPath(extensionUri, file), gutterIconSize: 'contain' } : {};
  };
  const fontStyle = kind === 'pending' || kind === 'none' ? 'italic' : 'normal';
  return vscode.window.createTextEditorDecorationType({
    light: gutter('light'),
    dark: gutter('dark'),
    // `sift.labelPosition` picks one per decoration (renderOptions.before or .after).
    before: { color, margin: '0 1.5em 0 0', fontStyle },
    after: { color, margin: '0 0 0 2em', fontStyle },
    ...(marksOverviewRuler(kind) ? { overviewRulerColor: color, overviewRulerLane: vscode.OverviewRulerLane.Right } : {}),
    rangeBehavior: vscode.DecorationRangeBehavior.ClosedClosed,
  });
}

/**
 * Score labels on record lines. The server already offers the same labels as inlay hints, for editors
 * without this client; in VS Code the client suppresses those hints (the middleware in
 * serverConnection.ts) and shows the label here instead, after a marker in the record's bucket
 * colour, with the same colour in the overview ruler and as a dot in the gutter, so good and bad
 * records stand out at a glance and the score is never shown twice.
 *
 * The label goes before the record by default (`sift.labelPosition: start`): real records are
 * hundreds to thousands of characters on one line, so a label at the line end is off-screen without
 * word wrap and cut at the right edge with it; at the start it is readable at any record length.
 *
 * Only the visible ranges plus a margin are decorated. Refreshes are debounced per editor; a scroll or
 * an edit cancels the running one; a reply is applied only if the document version it was asked for
 * is still current, in one setDecorations call per decoration type.
 */
export class ScoreDecorations implements vscode.Disposable {
  private readonly types: Map<DecorationKind, vscode.TextEditorDecorationType>;
  private readonly scheduler: RefreshScheduler<vscode.TextEditor, vscode.CancellationToken>;
  private readonly disposables: vscode.Disposable[] = [];

  constructor(
    private readonly source: ScoreSource,
    extensionUri: vscode.Uri,
    private readonly log: vscode.LogOutputChannel,
  ) {
    this.types = new Map(DECORATION_KINDS.map((kind) => [kind, createDecorationType(kind, extensionUri)]));
    this.scheduler = new RefreshScheduler((editor, token) => this.refresh(editor, token), () => new vscode.CancellationTokenSource(), {
      delayMs: 100,
      maxWaitMs: 400,
      onError: (error) => this.log.warn(`Score decorations: ${String(error)}`),
    });
    this.disposables.push(
      vscode.window.onDidChangeVisibleTextEditors((editors) => this.onVisibleEditors(editors)),
      vscode.window.onDidChangeTextEditorVisibleRanges((event) => this.schedule(event.textEditor, true)),
      vscode.workspace.onDidChangeTextDocument((event) => {
        if (event.contentChanges.length === 0) return;
        for (const editor of this.editorsOf(event.document)) this.schedule(editor, true);
      }),
    );
  }

  /** Refreshes every visible dataset editor (the server (re)started, settings changed). */
  refreshAll(): void {
    this.onVisibleEditors(vscode.window.visibleTextEditors);
  }

  /** New scores landed for `uri` (ScoresChangedNotification). */
  scoresChanged(uri: string): void {
    for (const editor of vscode.window.visibleTextEditors) {
      if (isDatasetDocument(editor.document) && this.source.protocolUri(editor.document.uri) === uri) this.schedule(editor, false);
    }
  }

  /** Removes every decoration (the server stopped: its scores are no longer live). */
  clearAll(): void {
    for (const editor of vscode.window.visibleTextEditors) {
      this.scheduler.forget(editor);
      for (const type of this.types.values()) editor.setDecorations(type, []);
    }
  }

  dispose(): void {
    this.scheduler.dispose();
    for (const disposable of this.disposables) disposable.dispose();
    for (const type of this.types.values()) type.dispose();
  }

  private onVisibleEditors(editors: readonly vscode.TextEditor[]): void {
    const visible = new Set(editors);
    for (const editor of this.scheduler.keys()) if (!visible.has(editor)) this.scheduler.forget(editor);
    for (const editor of editors) this.schedule(editor, false);
  }

  private editorsOf(document: vscode.TextDocument): vscode.TextEditor[] {
    return vscode.window.visibleTextEditors.filter((editor) => editor.document === document);
  }

  private schedule(editor: vscode.TextEditor, cancelRunning: boolean): void {
    if (!isDatasetDocument(editor.document)) return;
    this.scheduler.schedule(editor, { cancelRunning });
  }

  private async refresh(editor: vscode.TextEditor, token: vscode.CancellationToken): Promise<void> {
    const document = editor.document;
    const version = document.version;
    const onScreen = editor.visibleRanges.map((range) => ({ start: range.start.line, end: range.end.line }));
    const ranges = linesToRequest(onScreen, document.lineCount);
    if (ranges.length === 0) return;
    // The server scores the records on screen first (not the margin around them).
    const visible = onScreen.length > 0 ? { startLine: Math.min(...onScreen.map((r) => r.start)), endLine: Math.max(...onScreen.map((r) => r.end)) } : undefined;
    const replies = await Promise.all(
      ranges.map((range) => this.source.lineScores({ document, version, startLine: range.start, endLine: range.end, ...(visible ? { visible } : {}) }, token)),
    );
    if (token.isCancellationRequested || document.isClosed || document.version !== version) return;
    if (!vscode.window.visibleTextEditors.includes(editor)) return;
    const scores = [];
    for (const reply of replies) {
      // No server, or a reply for another version of the text: keep what is shown; the next
      // ScoresChanged or edit brings a fresh refresh.
      if (!reply || reply.version !== version) return;
      scores.push(...reply.scores);
    }
    const groups = groupByKind(scores, document.lineCount);
    const atStart = readSettings(document.uri).labelPosition === 'start';
    for (const [kind, type] of this.types) {
      const decorations = (groups.get(kind) ?? []).map((item): vscode.DecorationOptions => {
        const line = document.lineAt(item.line).range;
        const at = atStart ? line.start : line.end;
        const text = { contentText: item.text };
        return { range: new vscode.Range(at, at), renderOptions: atStart ? { before: text } : { after: text } };
      });
      editor.setDecorations(type, decorations);
    }
  }
}
