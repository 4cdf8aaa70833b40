/**
 * What an {@link HttpEndpointPool} is configured with, its defaults and their checks, the events it
 * reports and the counters it keeps.
 */
import { PermanentScorerError } from '../types';
import type { FailureKind } from '../../net/errors';
import { displayUrl } from '../../net/redact';

export type HttpFailureKind = FailureKind;

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
  /**
   * Concurrent requests per replica: a positive number fixes it; 0 or unset adapts each replica's
   * limit to its latency (see inFlightLimit.ts).
   */
  maxInFlightPerUrl?: number;
  /** Concurrent light requests (tokenize, model list) per replica, apart from the others (default 16). */
  maxLightInFlightPerUrl?: number;
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
  /** Largest response body read (default MAX_RESPONSE_BYTES, 64 MiB); a larger one fails the call. */
  maxResponseBytes?: number;
  onEvent?: (event: HttpEvent) => void;
  /** Random source for jitter (tests). */
  random?: () => number;
  /** First delay of the health probe of an unreachable replica (default 1 s), doubled per failed probe. */
  probeBaseMs?: number;
  /** Longest delay between health probes (default 15 s). */
  probeCapMs?: number;
  /** Statuses to retry besides 408, 425, 429 and 5xx (e.g. TGI's 424 for a failed generation). */
  extraRetryableStatuses?: readonly number[];
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
  /** Per replica: requests in flight, its in-flight limit now, and whether it is marked down. */
  replicas: { url: string; inFlight: number; limit: number; down: boolean }[];
}

export const POOL_DEFAULTS = {
  maxLightInFlightPerUrl: 16,
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

export function positiveInt(v: number | undefined, d: number, name: string): number {
  if (v === undefined) return d;
  if (!Number.isInteger(v) || v < 1) throw new PermanentScorerError(`${name} must be a positive integer`);
  return v;
}
export function nonNegativeInt(v: number | undefined, d: number, name: string): number {
  if (v === undefined) return d;
  if (!Number.isInteger(v) || v < 0) throw new PermanentScorerError(`${name} must be a non-negative integer`);
  return v;
}
export function nonNegative(v: number | undefined, d: number, name: string): number {
  if (v === undefined) return d;
  if (!Number.isFinite(v) || v < 0) throw new PermanentScorerError(`${name} must be a non-negative number`);
  return v;
}
export function positive(v: number | undefined, d: number, name: string): number {
  if (v === undefined) return d;
  if (!Number.isFinite(v) || v <= 0) throw new PermanentScorerError(`${name} must be a positive number`);
  return v;
}
