import * as vscode from 'vscode';

const SCORER_KEY = 'sift.scorerApiKey';

/**
 * The scoring endpoint's API key, kept in the editor's SecretStorage (the OS keychain on desktop).
 * It never goes into settings or logs: the server receives it in initializationOptions and
 * SettingsChanged only. The last value read is cached because the language client asks for
 * initializationOptions synchronously.
 */
export class ScorerApiKey implements vscode.Disposable {
  private cached: string | undefined;
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChange = this.changed.event;
  private readonly subscription: vscode.Disposable;

  constructor(private readonly secrets: vscode.SecretStorage) {
    this.subscription = secrets.onDidChange(async (event) => {
      if (event.key !== SCORER_KEY) return;
      await this.load();
      this.changed.fire();
    });
  }

  /** Reads the stored key into the cache; call once before the server starts. */
  async load(): Promise<string | undefined> {
    try {
      this.cached = (await this.secrets.get(SCORER_KEY)) || undefined;
    } catch {
      // A keychain that cannot be read behaves as "no key"; scoring without one still works locally.
      this.cached = undefined;
    }
    return this.cached;
  }

  get current(): string | undefined {
    return this.cached;
  }

  async set(key: string): Promise<void> {
    this.cached = key;
    await this.secrets.store(SCORER_KEY, key);
  }

  async clear(): Promise<void> {
    this.cached = undefined;
    await this.secrets.delete(SCORER_KEY);
  }

  dispose(): void {
    this.subscription.dispose();
    this.changed.dispose();
  }
}
