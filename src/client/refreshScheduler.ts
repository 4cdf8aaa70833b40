/** The part of a cancellation source the scheduler needs (vscode.CancellationTokenSource fits). */
export interface CancellationSourceLike<Token> {
  readonly token: Token;
  cancel(): void;
  dispose(): void;
}

export interface Timers {
  now(): number;
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const realTimers: Timers = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

export interface RefreshOptions {
  /** Quiet time before a refresh runs. */
  delayMs?: number;
  /** A refresh runs at the latest this long after the first request of a burst, so a steady stream
   * of requests (scores landing during a job) cannot postpone it forever. */
  maxWaitMs?: number;
  timers?: Timers;
  /** Called with errors thrown by `run` (which should not throw). */
  onError?: (error: unknown) => void;
}

interface KeyState<Token> {
  timer?: unknown;
  burstStart?: number;
  running?: CancellationSourceLike<Token>;
  /** A refresh was requested while one was running and should follow it. */
  again?: boolean;
}

/**
 * Debounced, cancellable refreshes per key (per editor): the pattern of annotation controllers that
 * stay fast. Each run gets a fresh cancellation source. `schedule(key, {cancelRunning: true})` (a
 * scroll or an edit: the running result is stale) cancels the running refresh at once;
 * `cancelRunning: false` (new scores landed: the running result is still right, only incomplete)
 * lets it finish and runs again after it, so refreshes never pile up and never starve.
 */
export class RefreshScheduler<Key, Token> {
  private readonly states = new Map<Key, KeyState<Token>>();
  private readonly delayMs: number;
  private readonly maxWaitMs: number;
  private readonly timers: Timers;
  private disposed = false;

  constructor(
    private readonly run: (key: Key, token: Token) => Promise<void>,
    private readonly createSource: () => CancellationSourceLike<Token>,
    options: RefreshOptions = {},
  ) {
    this.delayMs = options.delayMs ?? 100;
    this.maxWaitMs = Math.max(this.delayMs, options.maxWaitMs ?? 400);
    this.timers = options.timers ?? realTimers;
    this.onError = options.onError ?? (() => undefined);
  }

  private readonly onError: (error: unknown) => void;

  /** `delayMs`: this request's quiet time (default: the scheduler's); the burst's maxWaitMs still holds. */
  schedule(key: Key, { cancelRunning = true, delayMs = this.delayMs }: { cancelRunning?: boolean; delayMs?: number } = {}): void {
    if (this.disposed) return;
    const state = this.state(key);
    if (cancelRunning && state.running) this.cancelRunning(state);
    const now = this.timers.now();
    if (state.timer !== undefined) this.timers.clearTimeout(state.timer);
    state.burstStart ??= now;
    const wait = Math.max(0, Math.min(delayMs, state.burstStart + this.maxWaitMs - now));
    state.timer = this.timers.setTimeout(() => this.fire(key), wait);
  }

  /** Cancels the pending and running refresh of `key` and forgets it (its editor went away). */
  forget(key: Key): void {
    const state = this.states.get(key);
    if (!state) return;
    if (state.timer !== undefined) this.timers.clearTimeout(state.timer);
    if (state.running) this.cancelRunning(state);
    this.states.delete(key);
  }

  keys(): Key[] {
    return [...this.states.keys()];
  }

  dispose(): void {
    this.disposed = true;
    for (const key of [...this.states.keys()]) this.forget(key);
  }

  private state(key: Key): KeyState<Token> {
    let state = this.states.get(key);
    if (!state) {
      state = {};
      this.states.set(key, state);
    }
    return state;
  }

  private cancelRunning(state: KeyState<Token>): void {
    state.running?.cancel();
    state.running = undefined;
    state.again = false;
  }

  private fire(key: Key): void {
    const state = this.states.get(key);
    if (!state || this.disposed) return;
    state.timer = undefined;
    state.burstStart = undefined;
    if (state.running) {
      state.again = true;
      return;
    }
    const source = this.createSource();
    state.running = source;
    let promise: Promise<void>;
    try {
      promise = this.run(key, source.token);
    } catch (error) {
      promise = Promise.reject(error);
    }
    promise
      .catch((error: unknown) => this.onError(error))
      .finally(() => {
        source.dispose();
        const current = this.states.get(key);
        if (!current || current.running !== source) return;
        current.running = undefined;
        if (current.again) {
          current.again = false;
          this.fire(key);
        }
      });
  }
}
