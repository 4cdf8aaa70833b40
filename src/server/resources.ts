import { bundledModelPath, createScorer, warmUpScorer, type ScorerSettings } from '../core/scoring/createScorer';
import { ggufIdentity } from '../core/scoring/local/modelIdentity';
import type { EndpointState, HealthChange } from '../core/net/health';
import { watchUnreachable, type EndpointWatch } from '../core/scoring/http/watch';
import { RetriesExhaustedError, type TokenScorer } from '../core/scoring/types';
import { defaultStorePath, ScoreStore } from '../core/store';

interface ScorerEntry {
  identity: string;
  promise: Promise<TokenScorer>;
  modelId?: Promise<string>;
  knownModelId?: string;
  users: number;
  retired: boolean;
  scorer?: TokenScorer;
  error?: string;
  /** Stops forwarding the scorer's health changes. */
  unsubscribe?: () => void;
  /** While an HTTP scorer could not connect because no endpoint answered: the probes that find out when one does. */
  watch?: EndpointWatch;
}

/**
 * One scorer for the current settings. A change of backend, model, endpoint or key makes a new one;
 * the old one is closed as soon as no batch uses it any more. A scorer that failed to load is kept
 * as failed (so every batch does not retry a missing model) until `retry` or new settings.
 */
export class Scorers {
  private current: ScorerEntry | undefined;
  private settings: ScorerSettings | undefined;
  private identity = '';
  private readonly healthListeners = new Set<(change: HealthChange) => void>();

  constructor(
    private readonly packageRoot: string,
    private readonly log: (message: string) => void,
  ) {}

  /** Returns true when the identity changed (a new scorer will be made on next use). */
  configure(settings: ScorerSettings, identity: string): boolean {
    if (identity === this.identity && this.settings) return false;
    this.settings = settings;
    this.identity = identity;
    const old = this.current;
    this.current = undefined;
    if (old) this.retire(old);
    return true;
  }

  /** The loaded scorer, if there is one already. */
  get ready(): TokenScorer | undefined {
    return this.current?.scorer;
  }

  /** Where scores come from, for hovers and status (the scorer's own once loaded; never a key). */
  get endpoint(): string {
    const loaded = this.current?.scorer?.endpoint;
    if (loaded) return loaded;
    const settings = this.settings ?? { backend: 'local' };
    return settings.backend === 'local' ? `local:${settings.modelPath ?? bundledModelPath(this.packageRoot)}` : (settings.urls ?? []).join(', ');
  }

  /** The model id of the current settings, once known (for synchronous store look-ups). */
  get knownModelId(): string | undefined {
    return this.current?.knownModelId ?? this.current?.scorer?.modelId;
  }

  /**
   * The model id that store keys use. For a local GGUF it is the file's identity, read without
   * loading the model, so stored scores show while llama.cpp is still starting; an HTTP endpoint
   * names its model only once connected.
   */
  modelId(): Promise<string> {
    const entry = this.entry();
    const settings = this.settings ?? { backend: 'local' };
    entry.modelId ??= (settings.backend === 'local' ? ggufIdentity(settings.modelPath ?? bundledModelPath(this.packageRoot)) : entry.promise.then((scorer) => scorer.modelId)).then(
      (id) => (entry.knownModelId = id),
    );
    return entry.modelId;
  }

  /** Each endpoint URL's health: the connected HTTP scorer's, or the probes' of one that could not connect. */
  get health(): EndpointState[] | undefined {
    return (this.current?.scorer?.health ?? this.current?.watch?.health)?.states();
  }

  /** Hear the current scorer's health changes (an endpoint stops or starts answering, a probe fails). */
  onHealthChange(listener: (change: HealthChange) => void): void {
    this.healthListeners.add(listener);
  }

  get lastError(): string | undefined {
    return this.current?.error;
  }

  /** Forget a failed scorer so the next use tries again (after the user asks to score). */
  retry(): void {
    if (this.current?.error !== undefined) {
      this.current.watch?.close();
      this.current = undefined;
    }
  }

  /**
   * Starts what any scorer of the current backend needs, before a dataset names its model: the
   * server calls it when it starts (with the workspace), so opening the first dataset only loads
   * the model.
   */
  warmUp(): Promise<void> {
    return warmUpScorer(this.settings ?? { backend: 'local' });
  }

  /** Loads (once) the scorer for the current settings. */
  load(): Promise<TokenScorer> {
    return this.entry().promise;
  }

  /** Runs `use` with the current scorer, keeping it open until `use` settles. */
  async with<T>(use: (scorer: TokenScorer) => Promise<T>): Promise<T> {
    const entry = this.entry();
    entry.users++;
    try {
      return await use(await entry.promise);
    } finally {
      entry.users--;
      if (entry.retired && entry.users === 0) void this.close(entry);
    }
  }

  async dispose(): Promise<void> {
    const entry = this.current;
    this.current = undefined;
    if (entry) {
      entry.watch?.close();
      entry.retired = true;
      if (entry.users === 0) await this.close(entry);
    }
  }

  private entry(): ScorerEntry {
    if (this.current) return this.current;
    const settings = this.settings ?? { backend: 'local' };
    const entry: ScorerEntry = { identity: this.identity, users: 0, retired: false, promise: Promise.resolve(undefined as never) };
    const started = Date.now();
    entry.promise = createScorer({ ...settings, onEvent: (message) => this.log(message) }, this.packageRoot).then(
      (scorer) => {
        this.log(`scorer ready: ${scorer.endpoint} (${Date.now() - started} ms)`);
        entry.scorer = scorer;
        entry.unsubscribe = scorer.health?.onChange((change) => {
          if (this.current === entry) for (const listener of this.healthListeners) listener(change);
        });
        // Settings may have changed while it loaded.
        if (entry.retired && entry.users === 0) void this.close(entry);
        return scorer;
      },
      (error: unknown) => {
        entry.error = error instanceof Error ? error.message : String(error);
        // No endpoint answered (not a refusal such as a bad key): connect again once one does.
        if (error instanceof RetriesExhaustedError && settings.urls && !entry.retired) this.watch(entry, settings.urls, settings.apiKey, entry.error);
        throw error;
      },
    );
    // A failure is reported by whoever awaits it; this only keeps Node from calling it unhandled.
    entry.promise.catch(() => undefined);
    this.current = entry;
    return entry;
  }

  /**
   * Probes the endpoints of a scorer that could not connect; when one answers, the failed scorer is
   * forgotten (the next use connects again) and the listeners hear it, so waiting work resumes.
   */
  private watch(entry: ScorerEntry, urls: string[], apiKey: string | undefined, reason: string): void {
    const watch = watchUnreachable(urls, apiKey, reason);
    entry.watch = watch;
    watch.health.onChange((change) => {
      if (this.current !== entry) return;
      if (change.flipped && change.state.up) {
        watch.close();
        this.current = undefined;
      }
      for (const listener of this.healthListeners) listener(change);
    });
    const all = watch.health.states();
    all.forEach((state, index) => {
      for (const listener of this.healthListeners) listener({ index, state, flipped: true, all });
    });
  }

  private retire(entry: ScorerEntry): void {
    entry.watch?.close();
    entry.retired = true;
    if (entry.users === 0) void this.close(entry);
  }

  private async close(entry: ScorerEntry): Promise<void> {
    const scorer = entry.scorer;
    if (!scorer) return;
    entry.unsubscribe?.();
    entry.scorer = undefined;
    try {
      await scorer.close();
    } catch (error) {
      this.log(`closing the scorer failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
}

/**
 * Score stores by dataset: each dataset's view of the store database beside it (`.sift/sift.db`,
 * as the CLI uses; see core/store/database.ts), or one in-memory store for buffers that are not
 * files. Datasets of one folder share the database file, each with its own connection, so each one's
 * scores are recorded as its (for *Clear Scores*) and each sees what the others and other processes wrote.
 */
export class Stores {
  private readonly open = new Map<string, Promise<ScoreStore>>();
  private readonly loadedStores = new Map<string, ScoreStore>();
  private readonly memory = ScoreStore.memory();

  /** `onWriteStatus` hears when a store's writes start failing and when they work again. */
  constructor(private readonly onWriteStatus: (storePath: string, error: Error | undefined) => void = () => undefined) {}

  get(datasetPath: string | undefined): Promise<ScoreStore> {
    if (datasetPath === undefined) return Promise.resolve(this.memory);
    let store = this.open.get(datasetPath);
    if (!store) {
      const path = defaultStorePath(datasetPath);
      store = ScoreStore.openOrKeepInMemory(path, { dataset: datasetPath });
      this.open.set(datasetPath, store);
      store.then(
        (s) => {
          s.onWriteStatus = (error) => this.onWriteStatus(path, error);
          this.loadedStores.set(datasetPath, s);
        },
        // A store that cannot be read is retried next time rather than kept as broken.
        () => this.open.delete(datasetPath),
      );
    }
    return store;
  }

  /** The store of a dataset if it is open already (no I/O). */
  loaded(datasetPath: string | undefined): ScoreStore | undefined {
    return datasetPath === undefined ? this.memory : this.loadedStores.get(datasetPath);
  }

  /** The open stores by dataset path (the memory store is not among them). */
  opened(): ReadonlyMap<string, ScoreStore> {
    return this.loadedStores;
  }

  /** Every store opened so far. */
  async all(): Promise<ScoreStore[]> {
    const settled = await Promise.allSettled([...this.open.values()]);
    const stores = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
    return [this.memory, ...stores];
  }

  async flushAll(): Promise<void> {
    await Promise.allSettled((await this.all()).map((s) => s.flush()));
  }

  /** Flushes and closes every store (the server is shutting down). */
  async closeAll(): Promise<void> {
    await Promise.allSettled((await this.all()).map((s) => s.close()));
  }
}
