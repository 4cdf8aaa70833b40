/**
 * A pool of data-parallel replicas of one HTTP scoring server, with the policy every HTTP backend
 * (vLLM, SGLang, TGI) shares:
 *
 * - Replica choice and the in-flight limit per replica: {@link ReplicaAdmission}. A replica that
 *   fails with a connection error is marked down and the failed call is retried elsewhere at once
 *   when another replica is up.
 * - Retries, back-off and `Retry-After`: the one loop of `core/net/retry.ts`. Retryable: connection
 *   errors, per-request timeouts, HTTP 408, 425, 429, 5xx, and 2xx bodies that fail validation
 *   ({@link MalformedResponseError}). Any other status is permanent: {@link PermanentScorerError}
 *   carrying the status and the server's own message. After `retries` retries:
 *   {@link RetriesExhaustedError}.
 * - Each attempt: `core/net/fetchText.ts` (deadline, response size limit).
 * - Health: every attempt tells {@link EndpointHealth} what it saw. A replica that refuses or drops
 *   a connection, or whose call gives up on a transient failure (timeouts, 5xx, 429 to the end), is
 *   unreachable and probed on its own (`GET /health`, see {@link HEALTH_PATH}) with back-off until
 *   it answers again.
 * - The caller's AbortSignal stops everything at once: a queued call, a request on the wire, a
 *   back-off sleep. The rejection is the signal's reason (an `AbortError` DOMException by default).
 * - The API key is sent as `Authorization: Bearer …` and appears nowhere else: every message in an
 *   error or event is passed through {@link redact}.
 *
 * Only requests actually in flight listen on the caller's signal individually (see ReplicaAdmission
 * for the queued ones).
 */
import { setMaxListeners } from 'node:events';
import { PermanentScorerError, RetriesExhaustedError } from '../types';
import { parseJsonBody, serverErrorMessage } from '../../net/body';
import { isRetryableStatus, MalformedResponseError, type Failure } from '../../net/errors';
import { fetchText } from '../../net/fetchText';
import { EndpointHealth } from '../../net/health';
import { displayUrl, redact } from '../../net/redact';
import { parseRetryAfterMs, retrying, throwIfAborted, type AttemptResult, type RetryPolicy } from '../../net/retry';
import {
  nonNegative,
  nonNegativeInt,
  normaliseBaseUrl,
  POOL_DEFAULTS,
  positive,
  positiveInt,
  type HttpEvent,
  type HttpFailureKind,
  type HttpPoolOptions,
  type HttpStats,
} from './options';
import { ReplicaAdmission } from './replicas';
import { FixedLimit, inFlightLimits } from './inFlightLimit';

export type { HttpEvent, HttpFailureKind, HttpPoolOptions, HttpStats } from './options';
export { normaliseBaseUrl } from './options';
export { runAll } from './runAll';

/** 425 Too Early: the scoring servers' proxies may send it while a replica warms up. */
const POOL_RETRYABLE_STATUSES = [425];

/**
 * The route the health probe asks: every backend Sift talks to serves it outside its API-key guard.
 * - vLLM: vllm/entrypoints/serve/instrumentator/health.py, `@router.get("/health",
 *   response_class=Response)`, 200 when `engine_client.check_health()` passes, 503 on
 *   `EngineDeadError` (and while warming up); not under the `/v1` key middleware.
 * - SGLang: python/sglang/srt/entrypoints/http_server.py lists `/health` among its native routes
 *   (next to `/health_generate`, which runs a generation: too heavy for a probe).
 * - TGI: router/src/server.rs, the `health` handler ("Health check method").
 * - `sift serve` answers it without a key (src/core/serve/scoringServer.ts).
 * A replica "answers" when the probe gets any status that is not worth retrying (a 404 from a proxy
 * that lacks the route still proves the server is there); 5xx, 408, 425 and 429 keep it down.
 */
export const HEALTH_PATH = '/health';
/** A probe is one quick request: a server that takes longer than this is not back yet. */
const PROBE_TIMEOUT_MS = 10_000;

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
  /**
   * Reads a 2xx body's bytes directly, without decoding or `JSON.parse` (a hot answer read
   * millions of times); undefined when the body is not the shape it reads, and then `parse` decides.
   */
  parseBytes?: (body: Buffer) => T | undefined;
  /** Units of work the call carries (a scoring request's tokens), for the replica's latency per unit. */
  cost?: number;
  /** Short description for messages and events, e.g. `completions (12 prompts)`. */
  what: string;
  signal?: AbortSignal;
  /** Pin the call to one replica (index into `urls`), e.g. to check every replica at start-up. */
  urlIndex?: number;
  /**
   * Cheap for the server (its tokenizer, not its GPU): admitted under its own in-flight limit, so
   * tokenizing the next records never waits behind the long scoring requests that keep a replica
   * busy (which would leave it idle once they finish).
   */
  light?: boolean;
  /** The caller answers a refusal another way (another route): no `permanent-error` event for it. */
  refusalHandled?: boolean;
}

export class HttpEndpointPool {
  readonly bases: readonly string[];
  private readonly display: readonly string[];
  private readonly apiKey: string | undefined;
  private readonly policy: RetryPolicy;
  private readonly timeoutMs: number;
  private readonly maxResponseBytes: number | undefined;
  private readonly onEvent: ((e: HttpEvent) => void) | undefined;
  private readonly retryableStatuses: ReadonlySet<number>;
  private readonly admission: ReplicaAdmission;
  private readonly lightAdmission: ReplicaAdmission;
  /** Whether each replica answers; probes the ones that do not. */
  readonly health: EndpointHealth;
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
    // 0 or unset: each replica's limit adapts to its latency.
    const maxInFlight = opts.maxInFlightPerUrl ? positiveInt(opts.maxInFlightPerUrl, 0, 'maxInFlightPerUrl') : undefined;
    this.policy = {
      retries: nonNegativeInt(opts.retries, POOL_DEFAULTS.retries, 'retries'),
      backoffBaseMs: nonNegative(opts.backoffBaseMs, POOL_DEFAULTS.backoffBaseMs, 'backoffBaseMs'),
      backoffCapMs: nonNegative(opts.backoffCapMs, POOL_DEFAULTS.backoffCapMs, 'backoffCapMs'),
      maxRetryAfterMs: nonNegative(opts.maxRetryAfterMs, POOL_DEFAULTS.maxRetryAfterMs, 'maxRetryAfterMs'),
      random: opts.random ?? Math.random,
    };
    this.timeoutMs = positive(opts.requestTimeoutMs, POOL_DEFAULTS.requestTimeoutMs, 'requestTimeoutMs');
    this.maxResponseBytes = opts.maxResponseBytes === undefined ? undefined : positiveInt(opts.maxResponseBytes, 0, 'maxResponseBytes');
    this.onEvent = opts.onEvent;
    this.retryableStatuses = new Set([...POOL_RETRYABLE_STATUSES, ...(opts.extraRetryableStatuses ?? [])]);
    this.admission = new ReplicaAdmission(
      this.bases.length,
      inFlightLimits(this.bases.length, maxInFlight),
      { baseMs: this.policy.backoffBaseMs, capMs: this.policy.backoffCapMs },
      this.closer.signal,
    );
    const maxLight = positiveInt(opts.maxLightInFlightPerUrl, POOL_DEFAULTS.maxLightInFlightPerUrl, 'maxLightInFlightPerUrl');
    this.lightAdmission = new ReplicaAdmission(
      this.bases.length,
      this.bases.map(() => new FixedLimit(maxLight)),
      { baseMs: this.policy.backoffBaseMs, capMs: this.policy.backoffCapMs },
      this.closer.signal,
    );
    // Requests in flight listen on this signal (a few per replica); allow more than 10 replicas.
    setMaxListeners(0, this.closer.signal);
    this.health = new EndpointHealth(this.display, (i, signal) => this.probe(i, signal), {
      ...(opts.probeBaseMs !== undefined ? { baseMs: nonNegative(opts.probeBaseMs, 0, 'probeBaseMs') } : {}),
      ...(opts.probeCapMs !== undefined ? { capMs: nonNegative(opts.probeCapMs, 0, 'probeCapMs') } : {}),
    });
  }

  /** Display form of replica `i` (no credentials). */
  displayUrl(i: number): string {
    return this.display[i] ?? '';
  }

  get closed(): boolean {
    return this.closer.signal.aborted;
  }

  /** Remove the key (raw and JSON-escaped) and URL credentials and queries from a message. */
  redact(text: string): string {
    return redact(text, [this.apiKey]);
  }

  stats(): HttpStats {
    const now = Date.now();
    return {
      ...this.counters,
      failuresByKind: { ...this.counters.failuresByKind },
      replicas: this.bases.map((_, i) => ({ url: this.display[i] ?? '', ...this.admission.state(i, now) })),
    };
  }

  /** Abort everything in flight or queued; later calls reject. */
  close(): void {
    if (this.closed) return;
    this.closer.abort(new DOMException('The scorer was closed', 'AbortError'));
    this.admission.close();
    this.lightAdmission.close();
    this.health.close();
  }

  /**
   * One attempt at a route the server may not have (an optional feature probed at connect): the
   * parsed value, or undefined for any failure, which is an answer here, not a problem to retry or
   * report. An abort still rejects.
   */
  async tryOnce<T>(call: HttpCall<T>): Promise<T | undefined> {
    throwIfAborted(call.signal);
    throwIfAborted(this.closer.signal);
    const admission = call.light ? this.lightAdmission : this.admission;
    const idx = await admission.acquire(call.signal, undefined, call.urlIndex);
    try {
      const result = await this.attempt(idx, call);
      throwIfAborted(call.signal);
      return result.ok ? result.value : undefined;
    } finally {
      admission.release(idx);
    }
  }

  /** One logical call: attempts, retries, back-off; resolves with `call.parse`'s value. */
  async request<T>(call: HttpCall<T>): Promise<T> {
    throwIfAborted(call.signal);
    throwIfAborted(this.closer.signal);
    if (call.urlIndex !== undefined && (call.urlIndex < 0 || call.urlIndex >= this.bases.length)) {
      throw new RangeError(`urlIndex ${call.urlIndex} out of range`);
    }
    this.counters.calls++;
    let avoid: number | undefined;
    let idx = 0;
    const admission = call.light ? this.lightAdmission : this.admission;
    const { value } = await retrying<T>({
      policy: this.policy,
      signals: [call.signal, this.closer.signal],
      attempt: async () => {
        idx = await admission.acquire(call.signal, avoid, call.urlIndex);
        const inFlight = admission.inFlightOf(idx);
        const sentAt = performance.now();
        let result: AttemptResult<T>;
        try {
          this.counters.attempts++;
          result = await this.attempt(idx, call);
        } finally {
          admission.release(idx);
        }
        if (result.ok) admission.observe(idx, { ms: performance.now() - sentAt, cost: call.cost ?? 1, inFlight });
        else if (result.status === 429 || result.status === 503) admission.overloaded(idx);
        if (result.ok) {
          if (this.markUp(idx)) this.emit({ type: 'endpoint-up', url: this.displayUrl(idx) });
          this.health.reportSuccess(idx);
          this.counters.succeeded++;
          return result;
        }
        this.counters.failuresByKind[result.kind]++;
        const failed = { ...result, message: this.redact(result.message) };
        // Refused or dropped: the replica is gone now. A timeout may be a busy server, so it only
        // counts when the call gives up (see gaveUp).
        if (failed.kind === 'connection') this.health.reportFailure(idx, failed.message);
        if (failed.retryable) {
          if (failed.kind === 'connection') {
            const avoidForMs = this.admission.markDown(idx);
            this.lightAdmission.markDown(idx);
            this.emit({ type: 'endpoint-down', url: this.displayUrl(idx), message: failed.message, avoidForMs });
          }
          avoid = this.bases.length > 1 ? idx : undefined;
        }
        return failed;
      },
      // A connection failure is retried at once on another replica when one is up.
      delay: (failure, computed) =>
        failure.retryAfterMs === undefined && failure.kind === 'connection' && call.urlIndex === undefined && this.admission.someOtherUp(idx)
          ? 0
          : computed,
      onRetry: (failure, attempt, maxAttempts, delayMs) => {
        this.counters.retries++;
        this.emit({ type: 'retry', url: this.displayUrl(idx), what: call.what, attempt, maxAttempts, ...eventFields(failure), delayMs });
      },
      fail: (failure, attempts, exhausted) => {
        this.counters.failed++;
        return exhausted ? this.gaveUp(call, idx, failure, attempts) : this.permanent(call, idx, failure);
      },
    });
    return value;
  }

  /** Both lanes see a replica come back at once; true when it was down. */
  private markUp(i: number): boolean {
    const light = this.lightAdmission.markUp(i);
    return this.admission.markUp(i) || light;
  }

  private permanent(call: HttpCall<unknown>, idx: number, failure: Failure): PermanentScorerError {
    const url = this.displayUrl(idx);
    const status = failure.status ?? 0;
    if (!call.refusalHandled) this.emit({ type: 'permanent-error', url, what: call.what, status, message: failure.message });
    const statusPart = failure.status === undefined || (status >= 200 && status < 300) ? '' : `HTTP ${status}: `;
    const err = new PermanentScorerError(`${call.what} at ${url}: ${statusPart}${failure.message}`);
    (err as PermanentScorerError & { status?: number }).status = status;
    return err;
  }

  private gaveUp(call: HttpCall<unknown>, idx: number, failure: Failure, attempts: number): RetriesExhaustedError {
    const url = this.displayUrl(idx);
    // A server that answers but keeps failing (5xx, 429 to the end) is as unusable as one that is gone.
    this.health.reportFailure(idx, `${failure.status !== undefined ? `HTTP ${failure.status}: ` : ''}${failure.message}`);
    this.emit({ type: 'gave-up', url, what: call.what, attempts, ...eventFields(failure) });
    const statusPart = failure.status !== undefined ? `HTTP ${failure.status}: ` : '';
    const err = new RetriesExhaustedError(
      `${call.what}: gave up after ${attempts} attempts; last error (${failure.kind}) at ${url}: ${statusPart}${failure.message}`,
    );
    (err as RetriesExhaustedError & { kind?: HttpFailureKind; status?: number }).kind = failure.kind;
    if (failure.status !== undefined) (err as RetriesExhaustedError & { status?: number }).status = failure.status;
    return err;
  }

  /**
   * One health probe of replica `i` (no retries, no admission queue: it must not wait behind the
   * calls that wait for it). Resolves with undefined when the replica answers, else why not.
   */
  private async probe(i: number, signal: AbortSignal): Promise<string | undefined> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.apiKey !== undefined) headers['authorization'] = `Bearer ${this.apiKey}`;
    const response = await fetchText(`${this.bases[i]}${HEALTH_PATH}`, {
      method: 'GET',
      headers,
      timeoutMs: Math.min(this.timeoutMs, PROBE_TIMEOUT_MS),
      signals: [signal, this.closer.signal],
      maxBytes: 1024 * 1024,
    });
    if (!response.ok) return this.redact(response.message);
    const { status, text } = response.value;
    if (isRetryableStatus(status, this.retryableStatuses)) return this.redact(`HTTP ${status}: ${serverErrorMessage(text)}`);
    // Queued calls need not wait out the replica's down period any more.
    if (this.markUp(i)) this.emit({ type: 'endpoint-up', url: this.displayUrl(i) });
    return undefined;
  }

  private async attempt<T>(idx: number, call: HttpCall<T>): Promise<AttemptResult<T>> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (call.body !== undefined) headers['content-type'] = 'application/json';
    if (this.apiKey !== undefined) headers['authorization'] = `Bearer ${this.apiKey}`;
    const response = await fetchText(`${this.bases[idx]}${call.path}`, {
      method: call.method,
      headers,
      ...(call.body !== undefined ? { body: JSON.stringify(call.body) } : {}),
      timeoutMs: this.timeoutMs,
      signals: [call.signal, this.closer.signal],
      ...(this.maxResponseBytes !== undefined ? { maxBytes: this.maxResponseBytes } : {}),
    });
    if (!response.ok) return response;
    const { status } = response.value;
    if (status >= 200 && status < 300) {
      try {
        const direct = call.parseBytes?.(response.value.bytes);
        if (direct !== undefined) return { ok: true, value: direct };
        return { ok: true, value: call.parse(parseJsonBody(response.value.text)) };
      } catch (e) {
        if (e instanceof PermanentScorerError) {
          return { ok: false, kind: 'malformed', retryable: false, status, message: e.message };
        }
        const message = e instanceof MalformedResponseError ? e.message : `invalid response: ${String((e as Error)?.message ?? e)}`;
        return { ok: false, kind: 'malformed', retryable: true, message };
      }
    }
    const retryAfterMs = parseRetryAfterMs(response.value.headers.get('retry-after'));
    return {
      ok: false,
      kind: 'status',
      retryable: isRetryableStatus(status, this.retryableStatuses),
      status,
      message: serverErrorMessage(response.value.text),
      ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
    };
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

/** The fields of a failure that events carry (`status` only when there was one). */
function eventFields(f: Failure): { kind: HttpFailureKind; status?: number; message: string } {
  return { kind: f.kind, ...(f.status !== undefined ? { status: f.status } : {}), message: f.message };
}

