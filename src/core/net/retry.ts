/**
 * The one retry policy of Sift's network clients: exponential back-off with full jitter,
 * `Retry-After` honoured as a lower bound (capped), a fixed number of retries, and sleeps that stop
 * the moment the caller aborts. {@link retrying} is the loop; the scoring pool and the teacher give
 * it their attempt and what to report.
 */
import type { Failure } from './errors';

/** The error (or reason) to reject with when `signal` is aborted; `AbortError` by default. */
export function abortReason(signal: AbortSignal | undefined): unknown {
  if (signal?.reason !== undefined) return signal.reason;
  return new DOMException('This operation was aborted', 'AbortError');
}

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortReason(signal);
}

/**
 * Full-jitter exponential back-off: a uniform random delay in `[0, min(cap, base * 2^attempt))`.
 * `attempt` counts from 0 for the first retry.
 */
export function backoffDelayMs(
  attempt: number,
  baseMs: number,
  capMs: number,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.min(attempt, 30));
  return Math.floor(random() * ceiling);
}

/**
 * `Retry-After` as milliseconds to wait: either delta-seconds (`"120"`, also tolerates a decimal
 * such as `"1.5"`) or an HTTP-date. Undefined when absent or unparseable; never negative.
 */
export function parseRetryAfterMs(value: string | null | undefined, now: number = Date.now()): number | undefined {
  if (value === null || value === undefined) return undefined;
  const v = value.trim();
  if (v === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(v)) return Math.round(Number.parseFloat(v) * 1000);
  if (!/[A-Za-z]/.test(v)) return undefined; // an HTTP-date names its day and month
  const at = Date.parse(v);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}

/** Resolves after `ms`, or rejects with the abort reason as soon as `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal?.aborted) {
      reject(abortReason(signal));
      return;
    }
    if (ms <= 0) {
      resolve();
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(abortReason(signal));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Sleep `ms`, rejecting at once with the reason of whichever signal aborts first. */
export function sleepUnlessAborted(ms: number, a: AbortSignal | undefined, b: AbortSignal | undefined): Promise<void> {
  if (a === undefined || b === undefined) return sleep(ms, a ?? b);
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

export interface RetryPolicy {
  /** Retries after the first attempt. */
  retries: number;
  backoffBaseMs: number;
  backoffCapMs: number;
  /** Longest `Retry-After` honoured; longer values are clamped. */
  maxRetryAfterMs: number;
  /** Random source for jitter (tests). */
  random: () => number;
}

/** The wait before retry number `attempt` (1-based: the attempt that just failed). */
export function retryDelayMs(policy: RetryPolicy, attempt: number, failure: Failure): number {
  const backoff = backoffDelayMs(attempt - 1, policy.backoffBaseMs, policy.backoffCapMs, policy.random);
  if (failure.retryAfterMs === undefined) return backoff;
  return Math.max(backoff, Math.min(failure.retryAfterMs, policy.maxRetryAfterMs));
}

export type AttemptResult<T> = { ok: true; value: T } | ({ ok: false } & Failure);

export interface RetryLoop<T> {
  policy: RetryPolicy;
  /** One attempt (1-based number). Throws only to stop everything (an abort). */
  attempt: (attempt: number) => Promise<AttemptResult<T>>;
  /** The error to throw when a failure ends the call: not retryable, or the last attempt (`exhausted`). */
  fail: (failure: Failure, attempts: number, exhausted: boolean) => Error;
  /** Called before each back-off sleep. */
  onRetry?: (failure: Failure, attempt: number, maxAttempts: number, delayMs: number) => void;
  /** Adjust the computed wait (e.g. none when another replica can take the retry). */
  delay?: (failure: Failure, computedMs: number) => number;
  /** The sleeps stop at once when either aborts. */
  signals?: [AbortSignal | undefined, AbortSignal | undefined];
}

/** Attempts until one succeeds, a failure is not retryable, or the retries are used up. */
export async function retrying<T>(loop: RetryLoop<T>): Promise<{ value: T; attempts: number }> {
  const maxAttempts = loop.policy.retries + 1;
  for (let attempt = 1; ; attempt++) {
    const result = await loop.attempt(attempt);
    if (result.ok) return { value: result.value, attempts: attempt };
    const { ok: _ok, ...failure } = result;
    if (!failure.retryable) throw loop.fail(failure, attempt, false);
    if (attempt >= maxAttempts) throw loop.fail(failure, attempt, true);
    const computed = retryDelayMs(loop.policy, attempt, failure);
    const delayMs = loop.delay ? loop.delay(failure, computed) : computed;
    loop.onRetry?.(failure, attempt, maxAttempts, delayMs);
    await sleepUnlessAborted(delayMs, loop.signals?.[0], loop.signals?.[1]);
  }
}
