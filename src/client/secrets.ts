import * as vscode from 'vscode';
import { bindTo, parseStoredKey, serializeKey, type BoundKey } from './endpointTrustModel';

const SCORER_KEY = 'sift.scorerApiKey';
const TEACHER_KEY = 'sift.teacherApiKey';

/**
 * An API key kept in the editor's SecretStorage (the OS keychain on desktop), with the origins it
 * was entered for (see endpointTrustModel.ts: it is sent nowhere else). It never goes into settings
 * or logs: the server receives it in initializationOptions and SettingsChanged only. The last value
 * read is cached because the language client asks for initializationOptions synchronously.
 */
export class SecretKey implements vscode.Disposable {
  private cached: BoundKey | undefined;
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChange = this.changed.event;
  private readonly subscription: vscode.Disposable;

  constructor(
    private readonly secrets: vscode.SecretStorage,
    private readonly name: string,
  ) {
    this.subscription = secrets.onDidChange(async (event) => {
      if (event.key !== name) return;
      await this.load();
      this.changed.fire();
    });
  }

  /** Reads the stored key into the cache; call once before the server starts. */
  async load(): Promise<BoundKey | undefined> {
    try {
      this.cached = parseStoredKey(await this.secrets.get(this.name));
    } catch {
      // A keychain that cannot be read behaves as "no key" (local scorers and teachers need none).
      this.cached = undefined;
    }
    return this.cached;
  }

  get current(): BoundKey | undefined {
    return this.cached;
  }

  /** Stores `key` for the endpoints at `origins` (the ones configured when it is entered). */
  async set(key: string, origins: readonly string[]): Promise<void> {
    this.cached = { key, origins: [...origins] };
    await this.secrets.store(this.name, serializeKey(this.cached));
  }

  /** Lets the stored key go to `origins` too (the user confirmed it belongs there). */
  async bind(origins: readonly string[]): Promise<void> {
    if (!this.cached) return;
    this.cached = bindTo(this.cached, origins);
    await this.secrets.store(this.name, serializeKey(this.cached));
  }

  async clear(): Promise<void> {
    this.cached = undefined;
    await this.secrets.delete(this.name);
  }

  dispose(): void {
    this.subscription.dispose();
    this.changed.dispose();
  }
}

/** The scoring endpoint's key (`Sift: Set Scoring API Key`). */
export class ScorerApiKey extends SecretKey {
  constructor(secrets: vscode.SecretStorage) {
    super(secrets, SCORER_KEY);
  }
}

/** The teacher endpoint's key (`Sift: Set Teacher API Key`). */
export class TeacherApiKey extends SecretKey {
  constructor(secrets: vscode.SecretStorage) {
    super(secrets, TEACHER_KEY);
  }
}
