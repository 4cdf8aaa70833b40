import * as vscode from 'vscode';

const SCORER_KEY = 'sift.scorerApiKey';
const TEACHER_KEY = 'sift.teacherApiKey';

/**
 * An API key kept in the editor's SecretStorage (the OS keychain on desktop). It never goes into
 * settings or logs: the server receives it in initializationOptions and SettingsChanged only. The
 * last value read is cached because the language client asks for initializationOptions
 * synchronously.
 */
export class SecretKey implements vscode.Disposable {
  private cached: string | undefined;
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
  async load(): Promise<string | undefined> {
    try {
      this.cached = (await this.secrets.get(this.name)) || undefined;
    } catch {
      // A keychain that cannot be read behaves as "no key" (local scorers and teachers need none).
      this.cached = undefined;
    }
    return this.cached;
  }

  get current(): string | undefined {
    return this.cached;
  }

  async set(key: string): Promise<void> {
    this.cached = key;
    await this.secrets.store(this.name, key);
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
