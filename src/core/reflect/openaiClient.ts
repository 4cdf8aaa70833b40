/**
 * The `openai` package as every teacher client of Sift uses it (the chat calls of `teacher.ts` and
 * the Batch API of `batch/api.ts`): the package's own retries off (the one retry loop of
 * `core/net/retry.ts` decides), every attempt through `core/net/fetchText.ts` (one deadline for the
 * whole response, a response size limit), every option given explicitly so the package reads no
 * `OPENAI_*` variable, and its errors turned into the `Failure`s of `core/net` with the key redacted.
 */
import OpenAI, { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai';
import { describeNetworkError, isRetryableStatus, type Failure } from '../net/errors';
import { fetchText } from '../net/fetchText';
import { redact } from '../net/redact';
import { parseRetryAfterMs } from '../net/retry';

export interface OpenAIClientOptions {
  /** A base URL as `teacherBaseUrl` makes it. */
  baseURL: string;
  apiKey?: string;
  timeoutMs: number;
  maxBytes: number;
}

/** 409 Conflict: OpenAI's API answers it for a request that may succeed when sent again. */
const TEACHER_RETRYABLE_STATUSES = [409];
const PACKAGE_TIMEOUT_SLACK_MS = 1_000;

export function openaiClient(options: OpenAIClientOptions): OpenAI {
  const apiKey = options.apiKey && options.apiKey !== '' ? options.apiKey : undefined;
  const { timeoutMs, maxBytes } = options;
  return new OpenAI({
    baseURL: options.baseURL,
    // The package insists on a key; a key-less local server gets a placeholder and no header.
    apiKey: apiKey ?? 'no-key',
    defaultHeaders: apiKey ? undefined : { Authorization: null },
    adminAPIKey: null,
    organization: null,
    project: null,
    webhookSecret: null,
    fetch: (input, init) => boundedFetch(input, init, timeoutMs, maxBytes),
    // fetchText's deadline (which also covers reading the body) decides; the package's own
    // timer, stopped once the headers are in, only backs it up.
    timeout: timeoutMs + PACKAGE_TIMEOUT_SLACK_MS,
    maxRetries: 0,
    logLevel: 'off',
  });
}

/**
 * Runs one package call with a signal of its own that follows `signal`. The package adds an
 * abort listener to the signal of every request and never removes it, so a long run's signal
 * (thousands of calls, a day of polling a batch) would collect them all.
 */
export async function withCallSignal<T>(signal: AbortSignal | undefined, call: (signal: AbortSignal | undefined) => Promise<T>): Promise<T> {
  if (!signal) return call(undefined);
  const own = new AbortController();
  const follow = (): void => own.abort(signal.reason);
  if (signal.aborted) follow();
  else signal.addEventListener('abort', follow, { once: true });
  try {
    return await call(own.signal);
  } finally {
    signal.removeEventListener('abort', follow);
  }
}

/** A 2xx reply whose content is not what the protocol promises. */
export class MalformedReplyError extends Error {
  override name = 'MalformedReplyError';
}

/**
 * What went wrong with one call through {@link openaiClient}, as the retry loop sees it; every
 * message passes through `redact` with `secrets`.
 */
export function classifyOpenAIError(error: unknown, endpoint: string, timeoutMs: number, secrets: readonly (string | undefined)[]): Failure {
  const clean = (text: string): string => redact(text, secrets);
  if (error instanceof MalformedReplyError) return { kind: 'malformed', message: clean(`malformed reply from ${endpoint}: ${error.message}`), retryable: true };
  if (error instanceof APIUserAbortError) return { kind: 'connection', message: 'aborted', retryable: false };
  if (error instanceof APIConnectionError) {
    const failed = netFailureOf(error);
    if (error instanceof APIConnectionTimeoutError || failed?.kind === 'timeout') {
      return { kind: 'timeout', message: `no reply from ${endpoint} within ${Math.round(timeoutMs / 1000)} s`, retryable: true };
    }
    if (failed?.kind === 'malformed') return { ...failed, message: clean(`reply from ${endpoint}: ${failed.message}`) };
    const cause = failed?.message ?? describeNetworkError((error as Error & { cause?: unknown }).cause ?? error);
    return { kind: 'connection', message: clean(`cannot reach ${endpoint}: ${cause}`), retryable: true };
  }
  if (error instanceof APIError && typeof error.status === 'number') {
    const status = error.status;
    return {
      kind: 'status',
      status,
      message: clean(`${endpoint} answered ${status}: ${serverMessage(error)}`),
      retryable: isRetryableStatus(status, TEACHER_RETRYABLE_STATUSES),
      retryAfterMs: retryAfter(error.headers),
    };
  }
  if (error instanceof SyntaxError) return { kind: 'malformed', message: clean(`malformed reply from ${endpoint}: ${error.message}`), retryable: true };
  const message = error instanceof Error ? error.message : String(error);
  return { kind: 'connection', message: clean(`teacher call to ${endpoint} failed: ${message}`), retryable: false };
}

/** Whether a teacher answer with this HTTP status may succeed when asked again (429, 5xx, 408, 409). */
export function isRetryableTeacherStatus(status: number): boolean {
  return isRetryableStatus(status, TEACHER_RETRYABLE_STATUSES);
}

/** `retry-after-ms` (OpenAI's own header) first, then the standard `Retry-After`. */
function retryAfter(headers: Headers | undefined): number | undefined {
  if (!headers) return undefined;
  const ms = headers.get('retry-after-ms');
  if (ms !== null && /^\d+(\.\d+)?$/.test(ms.trim())) return Math.round(Number(ms));
  return parseRetryAfterMs(headers.get('retry-after'));
}

/** The server's own words from an error body, without the package's "400 " prefix. */
function serverMessage(error: APIError): string {
  const body = error.error as Record<string, unknown> | undefined;
  const text = body && typeof body.message === 'string' ? body.message : error.message.replace(/^\d{3}\s*/, '');
  return shortMessage(text);
}

/** A server's message as Sift shows it: trimmed, at most 500 characters. */
export function shortMessage(text: string): string {
  const short = text.trim() === '' ? '(no message)' : text.trim();
  return short.length > 500 ? `${short.slice(0, 500)}…` : short;
}

/** A failed attempt of {@link boundedFetch}, carried through the package as its error's cause. */
class NetFailureError extends Error {
  override name = 'NetFailureError';
  constructor(readonly failure: Failure) {
    super(failure.message);
  }
}

function netFailureOf(error: Error): Failure | undefined {
  let cur: unknown = (error as Error & { cause?: unknown }).cause;
  for (let depth = 0; depth < 4 && cur instanceof Error; depth++) {
    if (cur instanceof NetFailureError) return cur.failure;
    cur = (cur as Error & { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * The package's `fetch`: one {@link fetchText} attempt, its body read whole (within the limit). A
 * JSON body goes as it is; a multipart form (the Batch API's file upload) is encoded here, with the
 * boundary `fetch` would have chosen put in its content type.
 */
async function boundedFetch(input: string | URL | Request, init: RequestInit | undefined, timeoutMs: number, maxBytes: number): Promise<Response> {
  const headers = Object.fromEntries(new Headers(init?.headers).entries());
  let body: string | Uint8Array | undefined;
  const given = init?.body;
  if (typeof given === 'string') body = given;
  else if (given instanceof FormData) {
    const encoded = new Response(given);
    body = new Uint8Array(await encoded.arrayBuffer());
    headers['content-type'] = encoded.headers.get('content-type') ?? 'multipart/form-data';
  } else if (given !== undefined && given !== null) throw new TypeError('the teacher sends only JSON bodies and multipart uploads');
  const result = await fetchText(input instanceof Request ? input.url : String(input), {
    method: init?.method ?? 'GET',
    headers,
    ...(body !== undefined ? { body } : {}),
    timeoutMs,
    signals: [init?.signal ?? undefined],
    maxBytes,
  });
  if (!result.ok) {
    const { ok: _ok, ...failure } = result;
    throw new NetFailureError(failure);
  }
  const { status, headers: replyHeaders, text } = result.value;
  // A Response with a null-body status refuses any body, even an empty one.
  const nullBody = status === 204 || status === 205 || status === 304;
  return new Response(nullBody ? null : text, { status, headers: replyHeaders });
}
