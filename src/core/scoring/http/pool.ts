/**
 * A pool of data-parallel replicas of one HTTP scoring server, with the retry, back-off, timeout,
 * cancellation and concurrency policy every HTTP backend (vLLM, SGLang, TGI) shares.
 *
 * - Each call goes to the replica with the fewest requests in flight (ties rotate), never more than
 *   `maxInFlightPerUrl` at once per replica; callers beyond that wait in a FIFO queue.
 * - A replica that fails with a connection error is marked down for a back-off period and avoided
 *   while another replica is up; the failed call is retried elsewhere at once when one is.
 * - Retryable: connection errors (refused, reset, socket hang up), per-request timeouts, HTTP 408,
 *   425, 429, 5xx, and 2xx bodies that fail validation ({@link MalformedResponseError}). Retries use
 *   exponential back-off with full jitter (`backoffBaseMs * 2^n`, capped at `backoffCapMs`), and a
 *   `Retry-After` header (seconds or HTTP-date) is honoured as a lower bound on the wait.
 * - Any other status is permanent: {@link PermanentScorerError} carrying the status and the
 *   server's own message. After `retries` retries: {@link RetriesExhaustedError}.
 * - The caller's AbortSignal stops everything at once: a queued call, a request on the wire, a
 *   back-off sleep. The rejection is the signal's reason (an `AbortError` DOMException by default).
 * - The API key is sent as `Authorization: Bearer …` and appears nowhere else: every message in an
 *   error or event is passed through {@link redact}.
 *
 * Node 20 (global fetch); no dependencies. Cancellation deliberately avoids one listener per
 * queued call and AbortSignal.any per attempt: a call of 100k texts registers one listener on the
 * caller's signal (a registry of its waiters), and only requests actually in flight listen
 * individually, so aborting or finishing a huge call stays linear.
 */
import { setMaxListeners } from 'node:events';
import { PermanentScorerError, RetriesExhaustedError } from '../types';
import { describeNetworkError, displayUrl, MalformedResponseError, parseJsonBody, redact, serverErrorMessage } from './errors';
import { abortReason, backoffDelayMs, parseRetryAfterMs, sleep, throwIfAborted } from './retry';

export type HttpFailureKind = 'connection' | 'timeout' | 'status' | 'malformed';

/** Observability hook payloads. URLs are display forms (no credentials); no event carries the key. */
export type HttpEvent =
  | {
      type: 'retry';
      url: string;
      what: string;
      /** The attempt that just failed (1-based). */
      attempt: number;
      maxAttempts: number;
      kind: HttpFailureKind;
      status?: number;
      message: string;
      delayMs: number;
    }
  | { type: 'gave-up'; url: string; what: string; attempts: number; kind: HttpFailureKind; status?: number; message: string }
  | { type: 'permanent-error'; url: string; what: string; status: number; message: string }
  | { type: 'endpoint-down'; url: string; message: string; avoidForMs: number }
  | { type: 'endpoint-up'; url: string };

export interface HttpPoolOptions {
  /** Base URLs of the replicas (`http://host:8000`; a trailing `/v1` is accepted and dropped). */
  urls: string[];
  /** Sent as `Authorization: Bearer <key>`; never logged, never in an error or event. */
  apiKey?: string;
  /** Concurrent requests per replica (default 4). */
  maxInFlightPerUrl?: number;
  /** Retries after the first attempt (default 5). */
  retries?: number;
  /** Back-off base (default 500 ms). */
  backoffBaseMs?: number;
  /** Back-off cap (default 30 s). */
  backoffCapMs?: number;
  /** Longest `Retry-After` honoured (default 120 s); longer values are clamped. */
  maxRetryAfterMs?: number;
  /** Per-request timeout, covering connect, server time and reading the body (default 120 s). */
  requestTimeoutMs?: number;
  onEvent?: (event: HttpEvent) => void;
  /** Random source for jitter (tests). */
  random?: () => number;
  /** Statuses to retry besides 408, 425, 429 and 5xx (e.g. TGI's 424 for a failed generation). */
  extraRetryableStatuses?: readonly number[];
}

export interface HttpCall<T> {
  method: 'GET' | 'POST';
  /** Path from the server root, e.g. `/v1/completions`. */
  path: string;
  /** JSON body. */
  body?: unknown;
  /**
   * Validates a parsed 2xx body; throws {@link MalformedResponseError} (or any error) to have the
   * call retried, or {@link PermanentScorerError} when retrying cannot help.
   */
  parse: (body: unknown) => T;
  /** Short description for messages and events, e.g. `completions (12 prompts)`. */
  what: string;
  signal?: AbortSignal;
  /** Pin the call to one replica (index into `urls`), e.g. to check every replica at start-up. */
  urlIndex?: number;
}

export interface HttpStats {
  /** Calls made (a call is one logical request, however many attempts it took). */
  calls: number;
  attempts: number;
  succeeded: number;
  retries: number;
  /** Calls that ended in an error (permanent or retries exhausted; not aborts). */
  failed: number;
  failuresByKind: Record<HttpFailureKind, number>;
  replicas: { url: string; inFlight: number; down: boolean }[];
}

type Attempt<T> =
  | { ok: true; value: T }
  | { ok: false; kind: HttpFailureKind; retryable: boolean; status?: number; message: string; retryAfterMs?: number };

interface Waiter {
  avoid: number | undefined;
  pinned: number | undefined;
  /** Granted, aborted or closed: skipped when met in a queue. */
  done: boolean;
  grant: (index: number) => void;
  fail: (reason: unknown) => void;
}

const DEFAULTS = {
  maxInFlightPerUrl: 4,
  retries: 5,
  backoffBaseMs: 500,
  backoffCapMs: 30_000,
  maxRetryAfterMs: 120_000,
  requestTimeoutMs: 120_000,
};

/** Normalise a replica base URL: validate, drop trailing slashes and a trailing `/v1`. */
export function normaliseBaseUrl(raw: string): string {
  let u: URL;
  try {
    u = new URL(raw.trim());
  } catch {
    throw new PermanentScorerError(`invalid endpoint URL ${JSON.stringify(displayUrl(raw))}`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new PermanentScorerError(`endpoint URL must be http(s): ${displayUrl(raw)}`);
  }
  if (u.username !== '' || u.password !== '') {
    throw new PermanentScorerError(
      `endpoint URL ${displayUrl(raw)} contains credentials; pass the key as the API key setting instead`,
    );
  }
  let path = u.pathname.replace(/\/+$/, '');
  if (path.endsWith('/v1')) path = path.slice(0, -3);
  return `${u.protocol}//${u.host}${path}`;
}

export class HttpEndpointPool {
  readonly bases: readonly string[];
  private readonly display: readonly string[];
  private readonly apiKey: string | undefined;
  private readonly maxInFlight: number;
  private readonly retries: number;
  private readonly baseMs: number;
  private readonly capMs: number;
  private readonly maxRetryAfterMs: number;
  private readonly timeoutMs: number;
  private readonly onEvent: ((e: HttpEvent) => void) | undefined;
  private readonly random: () => number;
  private readonly extraRetryable: ReadonlySet<number>;

  private readonly inFlight: number[];
  private readonly downUntil: number[];
  private readonly consecutiveDown: number[];
  private rr = 0;
  /** Callers waiting for a slot on any replica (FIFO from `head`), and those pinned to one. */
  private queue: Waiter[] = [];
  private head = 0;
  private pinnedQueue: Waiter[] = [];
  private waiting = 0;
  /** Waiters per caller signal, so that each signal gets one abort listener, not one per waiter. */
  private readonly waitersBySignal = new WeakMap<AbortSignal, Set<Waiter>>();
  private pumpTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly closer = new AbortController();
  private readonly counters = {
    calls: 0,
    attempts: 0,
    succeeded: 0,
    retries: 0,
    failed: 0,
    failuresByKind: { connection: 0, timeout: 0, status: 0, malformed: 0 } as Record<HttpFailureKind, number>,
  };

  constructor(opts: HttpPoolOptions) {
    if (!Array.isArray(opts.urls) || opts.urls.length === 0) {
      throw new PermanentScorerError('no endpoint URL configured');
    }
    this.bases = opts.urls.map(normaliseBaseUrl);
    this.display = this.bases.map(displayUrl);
    this.apiKey = opts.apiKey === '' ? undefined : opts.apiKey;
    this.maxInFlight = positiveInt(opts.maxInFlightPerUrl, DEFAULTS.maxInFlightPerUrl, 'maxInFlightPerUrl');
    this.retries = nonNegativeInt(opts.retries, DEFAULTS.retries, 'retries');
    this.baseMs = nonNegative(opts.backoffBaseMs, DEFAULTS.backoffBaseMs, 'backoffBaseMs');
    this.capMs = nonNegative(opts.backoffCapMs, DEFAULTS.backoffCapMs, 'backoffCapMs');
    this.maxRetryAfterMs = nonNegative(opts.maxRetryAfterMs, DEFAULTS.maxRetryAfterMs, 'maxRetryAfterMs');
    this.timeoutMs = positive(opts.requestTimeoutMs, DEFAULTS.requestTimeoutMs, 'requestTimeoutMs');
    this.onEvent = opts.onEvent;
    this.random = opts.random ?? Math.random;
    this.extraRetryable = new Set(opts.extraRetryableStatuses ?? []);
    this.inFlight = this.bases.map(() => 0);
    this.downUntil = this.bases.map(() => 0);
    this.consecutiveDown = this.bases.map(() => 0);
    // Requests in flight listen on this signal (a few per replica); allow more than 10 replicas.
    setMaxListeners(0, this.closer.signal);
  }

  /** Display form of replica `i` (no credentials). */
  displayUrl(i: number): string {
    return this.display[i] ?? '';
  }

  get closed(): boolean {
    return this.closer.signal.aborted;
  }

  /** Remove the key (and nothing else) from a message. */
  redact(text: string): string {
    return redact(text, [this.apiKey]);
  }

  stats(): HttpStats {
    const now = Date.now();
    return {
      ...this.counters,
      failuresByKind: { ...this.counters.failuresByKind },
      replicas: this.bases.map((_, i) => ({
        url: this.display[i] ?? '',
        inFlight: this.inFlight[i] ?? 0,
        down: (this.downUntil[i] ?? 0) > now,
      })),
    };
  }

  /** Abort everything in flight or queued; later calls reject. */
  close(): void {
    if (this.closed) return;
    this.closer.abort(new DOMException('The scorer was closed', 'AbortError'));
    if (this.pumpTimer !== undefined) clearTimeout(this.pumpTimer);
    this.pumpTimer = undefined;
    const reason = abortReason(this.closer.signal);
    for (const w of [...this.queue.slice(this.head), ...this.pinnedQueue]) w.fail(reason);
    this.queue = [];
    this.head = 0;
    this.pinnedQueue = [];
  }

  /** One logical call: attempts, retries, back-off; resolves with `call.parse`'s value. */
  async request<T>(call: HttpCall<T>): Promise<T> {
    throwIfAborted(call.signal);
    throwIfAborted(this.closer.signal);
    if (call.urlIndex !== undefined && (call.urlIndex < 0 || call.urlIndex >= this.bases.length)) {
      throw new RangeError(`urlIndex ${call.urlIndex} out of range`);
    }
    this.counters.calls++;
    const maxAttempts = this.retries + 1;
    let avoid: number | undefined;
    for (let attempt = 1; ; attempt++) {
      const idx = await this.acquire(call.signal, avoid, call.urlIndex);
      let result: Attempt<T>;
      try {
        this.counters.attempts++;
        result = await this.attempt(idx, call);
      } finally {
        this.release(idx);
      }
      const url = this.displayUrl(idx);
      if (result.ok) {
        this.markUp(idx);
        this.counters.succeeded++;
        return result.value;
      }
      this.counters.failuresByKind[result.kind]++;
      const message = this.redact(result.message);
      if (!result.retryable) {
        this.counters.failed++;
        const status = result.status ?? 0;
        this.emit({ type: 'permanent-error', url, what: call.what, status, message });
        const statusPart = status >= 200 && status < 300 ? '' : `HTTP ${status}: `;
        const err = new PermanentScorerError(`${call.what} at ${url}: ${statusPart}${message}`);
        (err as PermanentScorerError & { status?: number }).status = status;
        throw err;
      }
      if (result.kind === 'connection') this.markDown(idx, message);
      avoid = this.bases.length > 1 ? idx : undefined;
      if (attempt >= maxAttempts) {
        this.counters.failed++;
        this.emit({
          type: 'gave-up',
          url,
          what: call.what,
          attempts: attempt,
          kind: result.kind,
          ...(result.status !== undefined ? { status: result.status } : {}),
          message,
        });
        const statusPart = result.status !== undefined ? `HTTP ${result.status}: ` : '';
        const err = new RetriesExhaustedError(
          `${call.what}: gave up after ${attempt} attempts; last error (${result.kind}) at ${url}: ${statusPart}${message}`,
        );
        (err as RetriesExhaustedError & { kind?: HttpFailureKind; status?: number }).kind = result.kind;
        if (result.status !== undefined) (err as RetriesExhaustedError & { status?: number }).status = result.status;
        throw err;
      }
      let delay = backoffDelayMs(attempt - 1, this.baseMs, this.capMs, this.random);
      if (result.retryAfterMs !== undefined) {
        delay = Math.max(delay, Math.min(result.retryAfterMs, this.maxRetryAfterMs));
      } else if (result.kind === 'connection' && call.urlIndex === undefined && this.someOtherUp(idx)) {
        delay = 0; // retried at once on another replica
      }
      this.counters.retries++;
      this.emit({
        type: 'retry',
        url,
        what: call.what,
        attempt,
        maxAttempts,
        kind: result.kind,
        ...(result.status !== undefined ? { status: result.status } : {}),
        message,
        delayMs: delay,
      });
      await sleepUnlessAborted(delay, call.signal, this.closer.signal);
    }
  }

  private async attempt<T>(idx: number, call: HttpCall<T>): Promise<Attempt<T>> {
    const url = `${this.bases[idx]}${call.path}`;
    // One controller per request on the wire: aborted by its timeout, the caller or close().
    const ctl = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      ctl.abort(new DOMException(`no complete response within ${this.timeoutMs} ms`, 'TimeoutError'));
    }, this.timeoutMs);
    const onCaller = (): void => ctl.abort(abortReason(call.signal));
    const onClose = (): void => ctl.abort(abortReason(this.closer.signal));
    call.signal?.addEventListener('abort', onCaller, { once: true });
    this.closer.signal.addEventListener('abort', onClose, { once: true });
    const headers: Record<string, string> = { accept: 'application/json' };
    if (call.body !== undefined) headers['content-type'] = 'application/json';
    if (this.apiKey !== undefined) headers['authorization'] = `Bearer ${this.apiKey}`;

    let status: number;
    let retryAfter: string | null;
    let text: string;
    try {
      const res = await fetch(url, {
        method: call.method,
        headers,
        ...(call.body !== undefined ? { body: JSON.stringify(call.body) } : {}),
        signal: ctl.signal,
      });
      status = res.status;
      retryAfter = res.headers.get('retry-after');
      text = await res.text();
    } catch (e) {
      if (call.signal?.aborted) throw abortReason(call.signal);
      if (this.closer.signal.aborted) throw abortReason(this.closer.signal);
      if (timedOut) {
        return { ok: false, kind: 'timeout', retryable: true, message: `no complete response within ${this.timeoutMs} ms` };
      }
      return { ok: false, kind: 'connection', retryable: true, message: describeNetworkError(e) };
    } finally {
      clearTimeout(timer);
      call.signal?.removeEventListener('abort', onCaller);
      this.closer.signal.removeEventListener('abort', onClose);
    }

    if (status >= 200 && status < 300) {
      try {
        const value = call.parse(parseJsonBody(text));
        return { ok: true, value };
      } catch (e) {
        if (e instanceof PermanentScorerError) {
          return { ok: false, kind: 'malformed', retryable: false, status, message: e.message };
        }
        const message = e instanceof MalformedResponseError ? e.message : `invalid response: ${String((e as Error)?.message ?? e)}`;
        return { ok: false, kind: 'malformed', retryable: true, message };
      }
    }
    const retryAfterMs = parseRetryAfterMs(retryAfter);
    const retryable = status === 408 || status === 425 || status === 429 || status >= 500 || this.extraRetryable.has(status);
    return {
      ok: false,
      kind: 'status',
      retryable,
      status,
      message: serverErrorMessage(text),
      ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
    };
  }

  // ---- replica selection and the in-flight limit ----

  private acquire(signal: AbortSignal | undefined, avoid: number | undefined, pinned: number | undefined): Promise<number> {
    throwIfAborted(signal);
    throwIfAborted(this.closer.signal);
    if (this.waiting === 0) {
      const i = this.pick(avoid, pinned);
      if (i >= 0) {
        this.inFlight[i] = (this.inFlight[i] ?? 0) + 1;
        return Promise.resolve(i);
      }
    }
    return new Promise<number>((resolve, reject) => {
      let set: Set<Waiter> | undefined;
      const finish = (): boolean => {
        if (waiter.done) return false;
        waiter.done = true;
        this.waiting--;
        set?.delete(waiter);
        return true;
      };
      const waiter: Waiter = {
        avoid,
        pinned,
        done: false,
        grant: (i) => {
          if (finish()) resolve(i);
        },
        fail: (reason) => {
          if (finish()) reject(reason);
        },
      };
      if (signal) set = this.trackWaiter(signal, waiter);
      this.waiting++;
      if (pinned !== undefined) this.pinnedQueue.push(waiter);
      else this.queue.push(waiter);
      this.pump();
    });
  }

  private trackWaiter(signal: AbortSignal, w: Waiter): Set<Waiter> {
    let set = this.waitersBySignal.get(signal);
    if (set === undefined) {
      const created = new Set<Waiter>();
      set = created;
      this.waitersBySignal.set(signal, created);
      signal.addEventListener(
        'abort',
        () => {
          const reason = abortReason(signal);
          for (const x of [...created]) x.fail(reason);
          this.waitersBySignal.delete(signal);
        },
        { once: true },
      );
    }
    set.add(w);
    return set;
  }

  private release(i: number): void {
    this.inFlight[i] = Math.max(0, (this.inFlight[i] ?? 0) - 1);
    this.pump();
  }

  private pump(): void {
    if (this.pinnedQueue.length > 0) {
      const still: Waiter[] = [];
      for (const w of this.pinnedQueue) {
        if (w.done) continue;
        const i = this.pick(undefined, w.pinned);
        if (i < 0) {
          still.push(w);
          continue;
        }
        this.inFlight[i] = (this.inFlight[i] ?? 0) + 1;
        w.grant(i);
      }
      this.pinnedQueue = still;
    }
    // Every unpinned waiter may use the same replicas, so the first one that cannot be served
    // means none can: stop there (this keeps a queue of 100k callers cheap).
    while (this.head < this.queue.length) {
      const w = this.queue[this.head] as Waiter;
      if (w.done) {
        this.head++;
        continue;
      }
      const i = this.pick(w.avoid, undefined);
      if (i < 0) break;
      this.head++;
      this.inFlight[i] = (this.inFlight[i] ?? 0) + 1;
      w.grant(i);
    }
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    this.scheduleCooldownPump();
  }

  /** While callers wait only because replicas are down, wake up when the first one comes back. */
  private scheduleCooldownPump(): void {
    if (this.waiting === 0 || this.pumpTimer !== undefined || this.closed) return;
    const now = Date.now();
    let next = Infinity;
    for (const t of this.downUntil) if (t > now && t < next) next = t;
    if (next === Infinity) return;
    this.pumpTimer = setTimeout(() => {
      this.pumpTimer = undefined;
      this.pump();
    }, next - now + 1);
  }

  /** Index of the replica to use, or -1 to wait. */
  private pick(avoid: number | undefined, pinned: number | undefined): number {
    if (pinned !== undefined) return (this.inFlight[pinned] ?? 0) < this.maxInFlight ? pinned : -1;
    const n = this.bases.length;
    const now = Date.now();
    const anyUp = this.downUntil.some((t) => t <= now);
    let best = -1;
    let bestScore = Infinity;
    for (let k = 0; k < n; k++) {
      const i = (this.rr + k) % n;
      const load = this.inFlight[i] ?? 0;
      if (load >= this.maxInFlight) continue;
      if (anyUp && (this.downUntil[i] ?? 0) > now) continue; // avoid down replicas while one is up
      const score = load + (i === avoid ? n * this.maxInFlight : 0);
      if (score < bestScore) {
        best = i;
        bestScore = score;
      }
    }
    if (best >= 0) this.rr = (best + 1) % n;
    return best;
  }

  private someOtherUp(idx: number): boolean {
    const now = Date.now();
    return this.downUntil.some((t, i) => i !== idx && t <= now);
  }

  private markDown(i: number, message: string): void {
    const failures = (this.consecutiveDown[i] ?? 0) + 1;
    this.consecutiveDown[i] = failures;
    const avoidForMs = Math.min(this.capMs, this.baseMs * 2 ** Math.min(failures - 1, 30));
    this.downUntil[i] = Date.now() + avoidForMs;
    this.emit({ type: 'endpoint-down', url: this.displayUrl(i), message, avoidForMs });
  }

  private markUp(i: number): void {
    if ((this.consecutiveDown[i] ?? 0) === 0) return;
    this.consecutiveDown[i] = 0;
    this.downUntil[i] = 0;
    this.emit({ type: 'endpoint-up', url: this.displayUrl(i) });
  }

  private emit(e: HttpEvent): void {
    if (!this.onEvent) return;
    try {
      this.onEvent(e);
    } catch {
      // a logging hook must never break scoring
    }
  }
}

/**
 * Run `tasks` concurrently (the pool bounds real concurrency), resolving with all results in
 * order. The first failure aborts the others (through the signal each task receives) and rejects
 * with that failure; an abort of `signal` rejects with its reason.
 */
export async function runAll<T>(
  count: number,
  task: (index: number, signal: AbortSignal) => Promise<T>,
  signal?: AbortSignal,
): Promise<T[]> {
  throwIfAborted(signal);
  const ctl = new AbortController();
  setMaxListeners(0, ctl.signal); // every request in flight listens on it (replicas × in-flight limit)
  const onAbort = (): void => ctl.abort(abortReason(signal));
  signal?.addEventListener('abort', onAbort, { once: true });
  let firstError: { e: unknown } | undefined;
  try {
    const promises: Promise<T>[] = [];
    for (let i = 0; i < count; i++) {
      promises.push(
        task(i, ctl.signal).catch((e: unknown) => {
          if (firstError === undefined) {
            firstError = { e };
            ctl.abort(e);
          }
          throw e;
        }),
      );
    }
    const settled = await Promise.allSettled(promises);
    if (signal?.aborted) throw abortReason(signal);
    if (firstError !== undefined) throw firstError.e;
    return settled.map((s) => (s as PromiseFulfilledResult<T>).value);
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}

function positiveInt(v: number | undefined, d: number, name: string): number {
  if (v === undefined) return d;
  if (!Number.isInteger(v) || v < 1) throw new PermanentScorerError(`${name} must be a positive integer`);
  return v;
}
function nonNegativeInt(v: number | undefined, d: number, name: string): number {
  if (v === undefined) return d;
  if (!Number.isInteger(v) || v < 0) throw new PermanentScorerError(`${name} must be a non-negative integer`);
  return v;
}
function nonNegative(v: number | undefined, d: number, name: string): number {
  if (v === undefined) return d;
  if (!Number.isFinite(v) || v < 0) throw new PermanentScorerError(`${name} must be a non-negative number`);
  return v;
}
function positive(v: number | undefined, d: number, name: string): number {
  if (v === undefined) return d;
  if (!Number.isFinite(v) || v <= 0) throw new PermanentScorerError(`${name} must be a positive number`);
  return v;
}

/** Sleep `ms`, rejecting at once with the reason of whichever signal aborts first. */
function sleepUnlessAborted(ms: number, a: AbortSignal | undefined, b: AbortSignal): Promise<void> {
  if (a === undefined) return sleep(ms, b);
  throwIfAborted(a);
  throwIfAborted(b);
  const ctl = new AbortController();
  const onA = (): void => ctl.abort(abortReason(a));
  const onB = (): void => ctl.abort(abortReason(b));
  a.addEventListener('abort', onA, { once: true });
  b.addEventListener('abort', onB, { once: true });
  return sleep(ms, ctl.signal).finally(() => {
    a.removeEventListener('abort', onA);
    b.removeEventListener('abort', onB);
  });
}
