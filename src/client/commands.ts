import * as vscode from 'vscode';
import { CancelCommand, ClearScoresCommand, ScoreFileCommand, ScoreLinesCommand } from '../protocol';
import { CommandIds } from './commandIds';
import { filterFile } from './filterCommand';
import { mergeLineRanges, selectionLines } from './lineRanges';
import type { OverviewPanels } from './overviewPanel';
import type { ReflectionCommands } from './reflectCommands';
import type { ScorerApiKey } from './secrets';
import type { ServerConnection } from './serverConnection';
import { originsOf } from './endpointTrustModel';
import { isDatasetDocument, readSettings, settingsScope } from './settings';

export interface CommandContext {
  server: ServerConnection;
  apiKey: ScorerApiKey;
  log: vscode.LogOutputChannel;
  reflection: ReflectionCommands;
  overview: OverviewPanels;
}

/** The dataset a command acts on: an explorer/editor-title URI argument, else the active editor's. */
async function targetDocument(arg: unknown): Promise<vscode.TextDocument | undefined> {
  if (arg instanceof vscode.Uri) {
    const open = vscode.workspace.textDocuments.find((document) => document.uri.toString() === arg.toString());
    return open ?? (await vscode.workspace.openTextDocument(arg));
  }
  const document = vscode.window.activeTextEditor?.document;
  if (document && isDatasetDocument(document)) return document;
  void vscode.window.showInformationMessage('Open a JSONL dataset (.jsonl or .ndjson) first.');
  return undefined;
}

/** Runs a command handler, logging and showing its failure instead of leaving it unhandled. */
function guarded(log: vscode.LogOutputChannel, name: string, handler: (...args: unknown[]) => Promise<unknown>) {
  return async (...args: unknown[]): Promise<unknown> => {
    try {
      return await handler(...args);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      log.error(`${name}: ${message}`);
      const choice = await vscode.window.showErrorMessage(`Sift: ${name} failed: ${message}`, 'Show Log');
      if (choice === 'Show Log') log.show();
      return undefined;
    }
  };
}

export function registerCommands({ server, apiKey, log, reflection, overview }: CommandContext): vscode.Disposable[] {
  const register = (id: string, name: string, handler: (...args: unknown[]) => Promise<unknown>): vscode.Disposable =>
    vscode.commands.registerCommand(id, guarded(log, name, handler));
  const uriOf = (document: vscode.TextDocument): string => server.protocolUri(document.uri);

  return [
    register(CommandIds.scoreFile, 'Score File', async (arg) => {
      const document = await targetDocument(arg);
      if (document) await server.run(ScoreFileCommand, [uriOf(document)]);
    }),
    register(CommandIds.scoreSelection, 'Score Selection', async () => {
      const editor = vscode.window.activeTextEditor;
      if (!editor || !isDatasetDocument(editor.document)) {
        void vscode.window.showInformationMessage('Select records in a JSONL dataset first.');
        return;
      }
      for (const range of mergeLineRanges(editor.selections.map(selectionLines))) {
        await server.run(ScoreLinesCommand, [uriOf(editor.document), range.start, range.end]);
      }
    }),
    register(CommandIds.cancel, 'Cancel Scoring', async (arg) => {
      if (!server.running) return;
      const document = arg instanceof vscode.Uri ? arg : vscode.window.activeTextEditor?.document.uri;
      await server.run(CancelCommand, document ? [server.protocolUri(document)] : []);
    }),
    register(CommandIds.filterFile, 'Filter File', async (arg) => {
      const document = await targetDocument(arg);
      if (document) await filterFile(server, document);
    }),
    register(CommandIds.overview, 'Dataset Overview', async (arg) => {
      // The hover's link passes the document's URI as a string.
      const document = await targetDocument(typeof arg === 'string' ? vscode.Uri.parse(arg) : arg);
      if (document) overview.show(document);
    }),
    register(CommandIds.clearScores, 'Clear Scores', async (arg) => {
      const document = arg instanceof vscode.Uri ? arg : vscode.window.activeTextEditor?.document.uri;
      await server.run(ClearScoresCommand, document ? [server.protocolUri(document)] : []);
    }),
    register(CommandIds.setApiKey, 'Set Scoring API Key', async () => {
      // The key is bound to the endpoints configured now: it is never sent to another origin.
      const origins = originsOf(readSettings(settingsScope()).endpointUrls);
      const key = await vscode.window.showInputBox({
        title: 'Sift: Set Scoring API Key',
        prompt: `API key of the scoring endpoint ${origins.length > 0 ? origins.join(', ') : '(none configured yet: set sift.endpointUrls first)'}, sent as a Bearer token to that origin only. Stored in the editor's secret storage, never in settings.`,
        password: true,
        ignoreFocusOut: true,
        validateInput: (text) => (text.trim() ? undefined : 'Enter a key, or run Sift: Clear Scoring API Key to remove it'),
      });
      if (key === undefined) return;
      await apiKey.set(key.trim(), origins);
      log.info(`Scoring API key stored in secret storage for ${origins.join(', ') || 'no endpoint yet'}.`);
      void vscode.window.showInformationMessage('Sift: scoring API key stored.');
    }),
    register(CommandIds.clearApiKey, 'Clear Scoring API Key', async () => {
      await apiKey.clear();
      log.info('Scoring API key removed from secret storage.');
      void vscode.window.showInformationMessage('Sift: scoring API key removed.');
    }),
    register(CommandIds.reflectRecord, 'Reflect Record', () => reflection.reflectAtCursor()),
    register(CommandIds.reflectRecords, 'Reflect Records', (arg) => reflection.reflectBatch(arg)),
    register(CommandIds.reflectRecordsBatch, 'Reflect Records through a Teacher Batch', (arg) => reflection.reflectBatch(arg, true)),
    register(CommandIds.setTeacherApiKey, 'Set Teacher API Key', () => reflection.setKey()),
    register(CommandIds.clearTeacherApiKey, 'Clear Teacher API Key', () => reflection.clearKey()),
    register(CommandIds.showLog, 'Show Log', async () => log.show()),
    register(CommandIds.restartServer, 'Restart Server', async () => {
      log.info('Restarting the language server (user request).');
      await server.restart();
    }),
  ];
}
