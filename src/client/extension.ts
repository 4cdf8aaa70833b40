import * as vscode from 'vscode';
import type { SettingsChangedParams } from '../protocol';
import { CommandIds } from './commandIds';
import { registerCommands } from './commands';
import { EndpointTrust } from './endpointTrust';
import { LargeFileWatcher } from './largeFileWatcher';
import { OverviewPanels } from './overviewPanel';
import { registerRecordCommands } from './recordNavigation';
import { RecordSymbols } from './recordSymbols';
import { RecordView } from './recordView';
import { ReflectionCommands } from './reflectCommands';
import { ReflectionDocuments } from './reflectionDocuments';
import { ReflectionPanels } from './reflectionPanel';
import { ScoreDecorations } from './scoreDecorations';
import { ScorerApiKey, TeacherApiKey } from './secrets';
import { ServerConnection, protocolUri } from './serverConnection';
import { affectsSift, isDatasetDocument, settingsScope } from './settings';
import { RESTRICTED_KEYS, configurationSection } from './settingsModel';
import { SiftStatus } from './status';
import { StudentModels } from './studentModel';

/** Set while active: deactivate() must wait for the server to shut down. */
let shutdown: (() => Promise<void>) | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const log = vscode.window.createOutputChannel('Sift', { log: true });
  context.subscriptions.push(log);
  const apiKey = new ScorerApiKey(context.secrets);
  const teacherKey = new TeacherApiKey(context.secrets);
  context.subscriptions.push(apiKey, teacherKey);
  await Promise.all([apiKey.load(), teacherKey.load()]);

  const trust = new EndpointTrust(context.workspaceState, { scoring: apiKey, teacher: teacherKey }, log, () => settingsChanged('endpoint answer'));
  const settings = new SettingsPublisher(trust);
  const status = new SiftStatus(protocolUri);
  // The callbacks below run only once the server exists (declared next).
  const decorations = new ScoreDecorations(
    {
      lineScores: ({ document, ...range }, token) => server.lineScores({ uri: protocolUri(document.uri), ...range }, token),
      protocolUri,
    },
    context.extensionUri,
    log,
  );
  let batchesPickedUp = false;
  const server: ServerConnection = new ServerConnection({
    extensionPath: context.extensionPath,
    log,
    currentSettings: () => settings.snapshot(),
    // Without a scope: the active dataset's folder, as for the settings pushed with the keys.
    configurationFor: (scope) => {
      const trusted = trust.settings(scope ?? settingsScope());
      return configurationSection(trusted.settings, trusted.reflection);
    },
    secrets: () => [apiKey.current?.key, teacherKey.current?.key],
    onStatus: (params) => status.update(params),
    onScoresChanged: (uri) => {
      decorations.scoresChanged(uri);
      overview.scoresChanged(uri);
      recordView.scoresChanged(uri);
      recordSymbols.scoresChanged(uri);
    },
    onState: (state) => {
      status.setServerState(state);
      if (state === 'running') decorations.refreshAll();
      // Teacher batches submitted before the editor closed go on where they were, once per session.
      if (state === 'running' && !batchesPickedUp) {
        batchesPickedUp = true;
        reflection.resumeTeacherBatches().catch((error: unknown) => log.warn(`Picking up teacher batches failed: ${String(error)}`));
      }
      if (state === 'stopped') decorations.clearAll();
    },
    onReflect: (args): Promise<unknown> => reflection.fromServerCommand(args),
  });
  shutdown = () => server.dispose();
  const reflectionDocuments = new ReflectionDocuments();
  const panels = new ReflectionPanels(context.extensionUri, log, reflectionDocuments);
  const reflection: ReflectionCommands = new ReflectionCommands({ server, panels, teacherKey, log });
  const overview: OverviewPanels = new OverviewPanels(context.extensionUri, server, log);
  context.subscriptions.push(status, decorations, new LargeFileWatcher(log), reflectionDocuments, panels, overview, ...registerCommands({ server, apiKey, log, reflection, overview }));
  const students = new StudentModels(context.globalStorageUri, log);
  context.subscriptions.push(students, vscode.commands.registerCommand(CommandIds.chooseStudentModel, () => students.choose()));
  const recordView = new RecordView({ extensionUri: context.extensionUri, server, reflection, log });
  const recordSymbols = new RecordSymbols(server);
  context.subscriptions.push(recordView, recordSymbols, ...registerRecordCommands(server, recordView, log));

  function publish(why: string): void {
    void settings.publishIfChanged(server).then((sent) => {
      if (sent) log.info(`Settings sent to the server (${why}).`);
    }, (error: unknown) => log.warn(`Sending settings failed: ${String(error)}`));
  }
  /** Settings may have changed in any folder: the server pulls every document's again, and the keys are re-sent if they changed. */
  function settingsChanged(why: string): void {
    publish(why);
    server.configurationChanged().catch((error: unknown) => log.warn(`Telling the server about changed settings failed: ${String(error)}`));
  }
  context.subscriptions.push(
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (!affectsSift(event)) return;
      settingsChanged('settings changed');
      // The label position is the client's own: redraw at once.
      decorations.refreshAll();
    }),
    vscode.workspace.onDidGrantWorkspaceTrust(() => {
      log.info('Workspace trusted: workspace values of endpoint, model and valid-set settings now apply.');
      settingsChanged('workspace trusted');
    }),
    // The active dataset decides which folder's settings are the server-wide ones (the scorer and the teacher).
    vscode.window.onDidChangeActiveTextEditor(() => publish('active dataset changed')),
    apiKey.onDidChange(() => publish('API key changed')),
    teacherKey.onDidChange(() => publish('teacher API key changed')),
    vscode.workspace.onDidCloseTextDocument((document) => status.forget(protocolUri(document.uri))),
  );

  if (!vscode.workspace.isTrusted) {
    log.info(`Restricted mode: workspace values of ${RESTRICTED_KEYS.map((key) => `sift.${key}`).join(', ')} are ignored.`);
  }
  // The extension activates with a workspace that holds a dataset (or with the first one opened):
  // the server starts now and starts llama.cpp, so opening a dataset only waits for its model and
  // its first records, not for a process and a runtime as well. A dataset opened later starts it
  // again if it stopped.
  void server.ensureStarted();
  context.subscriptions.push(
    vscode.workspace.onDidOpenTextDocument((document) => {
      if (isDatasetDocument(document)) void server.ensureStarted();
    }),
  );
}

export async function deactivate(): Promise<void> {
  const stop = shutdown;
  shutdown = undefined;
  await stop?.();
}

/**
 * What the server was last given, so settings are re-sent only when the effective values (or the
 * key) changed. Settings are read fresh each time through readSettings (settings.ts), never cached
 * as the truth.
 */
class SettingsPublisher {
  private lastSent: string | undefined;

  constructor(private readonly trust: EndpointTrust) {}

  /** The current settings and keys, as far as the user allowed them ('' = no key, so clearing it reaches the server). */
  private current(): SettingsChangedParams {
    return this.trust.params(settingsScope());
  }

  /** The current settings and key; remembered as sent (used for initializationOptions). */
  snapshot(): SettingsChangedParams {
    const params = this.current();
    this.lastSent = fingerprint(params);
    return params;
  }

  async publishIfChanged(server: ServerConnection): Promise<boolean> {
    if (!server.running) return false;
    const params = this.current();
    const print = fingerprint(params);
    if (print === this.lastSent) return false;
    this.lastSent = print;
    await server.sendSettings(params);
    return true;
  }
}

function fingerprint(params: SettingsChangedParams): string {
  return JSON.stringify([params.settings, params.scorerApiKey ?? null, params.reflection ?? null, params.teacherApiKey ?? null]);
}
