import * as vscode from 'vscode';
import type { ReflectionSettings, SettingsChangedParams, SiftSettings } from '../protocol';
import { CommandIds } from './commandIds';
import { consentQuestion, consentStateKey, keyFor, unapprovedOrigins, withheldMessage, workspaceOrigins, type KeyDecision } from './endpointTrustModel';
import type { SecretKey } from './secrets';
import { inspectUrlSetting, readReflectionSettings, readSettings } from './settings';

type Endpoint = 'scoring' | 'teacher';

/**
 * The settings and keys the server may be given (the decisions are endpointTrustModel.ts's): an
 * endpoint from workspace settings the user has not approved is replaced by the user's own value
 * (and the user is asked, once per workspace and origin); a key goes only to the origins it is bound
 * to (otherwise the user is told, and may bind it or enter another one).
 */
export class EndpointTrust {
  /** Questions and warnings already shown in this session (a modal per settings change would be unbearable). */
  private readonly shown = new Set<string>();

  constructor(
    private readonly state: vscode.Memento,
    private readonly keys: Record<Endpoint, SecretKey>,
    private readonly log: vscode.LogOutputChannel,
    /** Called when an answer changes what may be sent (the settings are then sent again). */
    private readonly changed: () => void,
  ) {}

  /** The settings and keys for the server (sift/settingsChanged and initializationOptions). */
  params(scope: vscode.Uri | undefined): SettingsChangedParams {
    const { settings, reflection } = this.settings(scope);
    return {
      settings,
      scorerApiKey: this.key('scoring', settings.backend === 'local' ? [] : settings.endpointUrls),
      reflection,
      teacherApiKey: this.key('teacher', [reflection.baseUrl]),
      workspaceTrusted: vscode.workspace.isTrusted,
    };
  }

  /** The settings of a scope as the server may use them: trust applied, unapproved workspace endpoints replaced. */
  settings(scope: vscode.Uri | undefined): { settings: SiftSettings; reflection: ReflectionSettings } {
    let settings = readSettings(scope);
    let reflection = readReflectionSettings(scope);
    const scoringUrls = settings.backend === 'local' ? [] : settings.endpointUrls;
    if (this.pending('scoring', scoringUrls, scope).length > 0) {
      const own = readSettings(scope, false);
      settings = { ...settings, backend: own.backend, endpointUrls: own.endpointUrls };
    }
    if (this.pending('teacher', [reflection.baseUrl], scope).length > 0) {
      reflection = { ...reflection, baseUrl: readReflectionSettings(scope, false).baseUrl };
    }
    return { settings, reflection };
  }

  /** Workspace origins among `urls` not yet approved; asks about each once. */
  private pending(what: Endpoint, urls: readonly string[], scope: vscode.Uri | undefined): string[] {
    const fromWorkspace = workspaceOrigins(inspectUrlSetting(scope, what === 'scoring' ? 'endpointUrls' : 'teacher.baseUrl'));
    const pending = unapprovedOrigins(urls, fromWorkspace, (origin) => this.state.get<boolean>(consentStateKey(origin)));
    for (const origin of pending) {
      if (this.state.get<boolean>(consentStateKey(origin)) === undefined) void this.ask(what, origin);
    }
    return pending;
  }

  private async ask(what: Endpoint, origin: string): Promise<void> {
    const id = `ask ${origin}`;
    if (this.shown.has(id)) return;
    this.shown.add(id);
    this.log.info(`Not using ${origin} from the workspace settings until you allow it.`);
    const use = 'Use This Endpoint';
    const answer = await vscode.window.showWarningMessage(consentQuestion(what, origin), { modal: true }, use, 'Do Not Use');
    // Dismissing the modal is no answer: the question comes back in the next session.
    if (answer === undefined) return;
    await this.state.update(consentStateKey(origin), answer === use);
    this.log.info(`${origin} from the workspace settings: ${answer === use ? 'allowed' : 'not used'} (remembered for this workspace).`);
    this.changed();
  }

  /** The key for requests to `urls`, or '' when there is none or it belongs elsewhere. */
  private key(what: Endpoint, urls: readonly string[]): string {
    const decision = keyFor(this.keys[what].current, urls);
    if (decision.kind === 'withheld') void this.warnWithheld(what, decision);
    return decision.kind === 'send' ? decision.key : '';
  }

  private async warnWithheld(what: Endpoint, decision: Extract<KeyDecision, { kind: 'withheld' }>): Promise<void> {
    const id = `withheld ${what} ${decision.unbound.join(' ')}`;
    if (this.shown.has(id)) return;
    this.shown.add(id);
    const message = withheldMessage(what, decision);
    this.log.warn(message);
    const send = `Use It for ${decision.unbound.join(', ')}`;
    const enter = 'Enter a New Key';
    const answer = await vscode.window.showWarningMessage(`Sift: ${message}`, send, enter);
    if (answer === send) await this.keys[what].bind(decision.unbound);
    else if (answer === enter) await vscode.commands.executeCommand(what === 'scoring' ? CommandIds.setApiKey : CommandIds.setTeacherApiKey);
  }
}
