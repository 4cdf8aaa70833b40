/**
 * One HTTP attempt with a deadline: the request, the server's time and reading the whole body all
 * count against `timeoutMs`, any of the given signals stops it at once, and a body larger than
 * `maxBytes` (default {@link MAX_RESPONSE_BYTES}) is refused without being read to the end, so a
 * broken or hostile server cannot make Sift hold an unbounded answer in memory.
 */
import { describeNetworkError, type Failure } from './errors';
import type { AttemptResult } from './retry';
import { abortReason } from './retry';

/**
 * The largest response body Sift reads. Scoring answers are a few MB at most (a full batch of
 * 16k tokens with per-token dictionaries) and chat replies far less; 64 MiB leaves room for any
 * legitimate answer while keeping a runaway one from exhausting memory.
 */
export const MAX_RESPONSE_BYTES = 64 * 1024 * 1024;

export interface FetchTextInit {
  method: string;
  headers: Record<string, string>;
  /** JSON as text; bytes for a multipart upload (the teacher's batch input file). */
  body?: string | Uint8Array;
  timeoutMs: number;
  /** Any of these aborting stops the attempt; it then rejects with that signal's reason. */
  signals: readonly (AbortSignal | undefined)[];
  maxBytes?: number;
}

export interface TextResponse {
  status: number;
  headers: Headers;
  text: string;
}

/** A body over the size limit: retrying would only fetch it again, so it is not retryable. */
export function tooLargeFailure(maxBytes: number, status?: number): Failure {
  return {
    kind: 'malformed',
    retryable: false,
    ...(status !== undefined ? { status } : {}),
    message: `response body larger than ${formatBytes(maxBytes)} (the limit)`,
  };
}

/**
 * Resolves with the response (any status) or a failure (`timeout`, `connection`, or a body over
 * the limit); rejects only with an abort reason.
 */
export async function fetchText(url: string, init: FetchTextInit): Promise<AttemptResult<TextResponse>> {
  const maxBytes = init.maxBytes ?? MAX_RESPONSE_BYTES;
  // One controller per request on the wire: aborted by the deadline or by any of the signals.
  const ctl = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    ctl.abort(new DOMException(`no complete response within ${init.timeoutMs} ms`, 'TimeoutError'));
  }, init.timeoutMs);
  const listeners = init.signals.flatMap((signal) => {
    if (signal === undefined) return [];
    const onAbort = (): void => ctl.abort(abortReason(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    return [{ signal, onAbort }];
  });
  try {
    const res = await fetch(url, {
      method: init.method,
      headers: init.headers,
      ...(init.body !== undefined ? { body: init.body } : {}),
      signal: ctl.signal,
    });
    const text = await readCapped(res, maxBytes);
    if (text === undefined) {
      ctl.abort(new DOMException('response too large', 'AbortError'));
      // A 2xx status on the failure would read as "the server answered, the content is wrong".
      return { ok: false, ...tooLargeFailure(maxBytes, res.ok ? undefined : res.status) };
    }
    return { ok: true, value: { status: res.status, headers: res.headers, text } };
  } catch (e) {
    for (const { signal } of listeners) if (signal.aborted) throw abortReason(signal);
    if (timedOut) return { ok: false, kind: 'timeout', retryable: true, message: `no complete response within ${init.timeoutMs} ms` };
    return { ok: false, kind: 'connection', retryable: true, message: describeNetworkError(e) };
  } finally {
    clearTimeout(timer);
    for (const { signal, onAbort } of listeners) signal.removeEventListener('abort', onAbort);
  }
}

/** The body as text, or undefined (and the rest left unread) when it is longer than `maxBytes`. */
async function readCapped(res: Response, maxBytes: number): Promise<string | undefined> {
  const declared = Number(res.headers.get('content-length') ?? Number.NaN);
  if (Number.isFinite(declared) && declared > maxBytes) {
    await res.body?.cancel().catch(() => undefined);
    return undefined;
  }
  if (res.body === null) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => undefined);
      return undefined;
    }
    chunks.push(value);
  }
  return new TextDecoder().decode(Buffer.concat(chunks, total));
}

function formatBytes(n: number): string {
  if (n >= 1024 * 1024 && n % (1024 * 1024) === 0) return `${n / (1024 * 1024)} MiB`;
  if (n >= 1024 && n % 1024 === 0) return `${n / 1024} KiB`;
  return `${n} bytes`;
}
