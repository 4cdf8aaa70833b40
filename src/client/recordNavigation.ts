import * as vscode from 'vscode';
import { RecordByScoreRequest, type ScoreDirection } from '../protocol';
import { CommandIds } from './commandIds';
import type { RecordView } from './recordView';
import { moveMessage } from './recordViewModel';
import type { ServerConnection } from './serverConnection';
import { isDatasetDocument } from './settings';

/** How long the status bar keeps the message of a move. */
const MESSAGE_MS = 6000;

/**
 * Next / previous record by score: the server knows the file's worst-first order; the cursor moves
 * to the record it names, the line is brought into view, and the status bar says where in the
 * order it is. Works on the given editor (the record view passes the one it follows).
 */
export async function moveByScore(server: ServerConnection, editor: vscode.TextEditor | undefined, direction: ScoreDirection): Promise<void> {
  if (!editor) {
    void vscode.window.showInformationMessage('Open a JSONL dataset first.');
    return;
  }
  const client = server.running ?? (await server.ensureStarted());
  if (!client) throw new Error('The Sift language server is not running (see Sift: Show Log).');
  const result = await client.sendRequest(RecordByScoreRequest, { uri: server.protocolUri(editor.document.uri), line: editor.selection.active.line, direction });
  if (result?.target) {
    const at = new vscode.Position(result.target.line, 0);
    editor.selection = new vscode.Selection(at, at);
    editor.revealRange(new vscode.Range(at, at), vscode.TextEditorRevealType.InCenterIfOutsideViewport);
  }
  vscode.window.setStatusBarMessage(moveMessage(result, direction), MESSAGE_MS);
}

/** The dataset editor a move acts on: the active one, or the one the record view follows when the view has the focus. */
function targetEditor(followed: vscode.TextEditor | undefined): vscode.TextEditor | undefined {
  const active = vscode.window.activeTextEditor;
  return active && isDatasetDocument(active.document) ? active : followed;
}

/** Sift: Show Record, and Next / Previous Record by Score (Alt+] / Alt+[). */
export function registerRecordCommands(server: ServerConnection, view: RecordView, log: vscode.LogOutputChannel): vscode.Disposable[] {
  const guarded = (name: string, run: () => Promise<void> | void) => async (): Promise<void> => {
    try {
      await run();
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      log.error(`${name}: ${message}`);
      void vscode.window.showErrorMessage(`Sift: ${name} failed: ${message}`);
    }
  };
  return [
    vscode.commands.registerCommand(CommandIds.showRecord, guarded('Show Record', () => view.show())),
    vscode.commands.registerCommand(CommandIds.nextRecordByScore, guarded('Next Record by Score', () => moveByScore(server, targetEditor(view.followed), 'next'))),
    vscode.commands.registerCommand(CommandIds.previousRecordByScore, guarded('Previous Record by Score', () => moveByScore(server, targetEditor(view.followed), 'previous'))),
  ];
}
