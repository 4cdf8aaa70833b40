/**
 * One HTTP attempt with a deadline: the request, the server's time and reading the whole body all
 * count against `timeoutMs`, any of the given signals stops it at once, and a body larger than
 * `maxBytes` (default {@link MAX_RESPONSE_BYTES}) is refused without being read to the end, so a
 * broken or hostile server cannot make Sift hold an unbounded answer in memory.
 */
import * as http from 'node:http';
import * as https from 'node:https';
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
 * Connections are kept open between requests (a scoring run makes hundreds of thousands of calls to
 * the same few servers). An idle connection is closed after 4 s, before the servers close theirs
 * (uvicorn's keep-alive timeout, under vLLM and SGLang, is 5 s): a request sent on a connection the
 * server is closing fails for nothing. Node's own `http` rather than `fetch`: its per-request cost is
 * a fraction of fetch's (the whole client's ceiling is bounded by it, see `npm run bench`).
 */
const IDLE_SOCKET_MS = 4000;
const agents = {
  http: new http.Agent({ keepAlive: true, timeout: IDLE_SOCKET_MS }),
  https: new https.Agent({ keepAlive: true, timeout: IDLE_SOCKET_MS }),
};

/**
 * Resolves with the response (any status) or a failure (`timeout`, `connection`, or a body over
 * the limit); rejects only with an abort reason.
 */
export async function fetchText(url: string, init: FetchTextInit): Promise<AttemptResult<TextResponse>> {
  const maxBytes = init.maxBytes ?? MAX_RESPONSE_BYTES;
  let timedOut = false;
  let abort: ((reason: unknown) => void) | undefined;
  let aborted: { reason: unknown } | undefined;
  const onAbort = (reason: unknown): void => {
    aborted ??= { reason };
    abort?.(reason);
  };
  const timer = setTimeout(() => {
    timedOut = true;
    abort?.(new Error(`no complete response within ${init.timeoutMs} ms`));
  }, init.timeoutMs);
  const listeners = init.signals.flatMap((signal) => {
    if (signal === undefined) return [];
    const listener = (): void => onAbort(abortReason(signal));
    signal.addEventListener('abort', listener, { once: true });
    return [{ signal, listener }];
  });
  try {
    for (const { signal } of listeners) if (signal.aborted) throw abortReason(signal);
    const result = await requestOnce(url, init, maxBytes, (cancel) => (abort = cancel));
    if (aborted) throw aborted.reason;
    if (result.ok) return { ok: true, value: result.value };
    if (result.error === undefined) {
      // A 2xx status on the failure would read as "the server answered, the content is wrong".
      const status = result.status !== undefined && (result.status < 200 || result.status >= 300) ? result.status : undefined;
      return { ok: false, ...tooLargeFailure(maxBytes, status) };
    }
    if (timedOut) return { ok: false, kind: 'timeout', retryable: true, message: `no complete response within ${init.timeoutMs} ms` };
    return { ok: false, kind: 'connection', retryable: true, message: describeNetworkError(result.error) };
  } finally {
    clearTimeout(timer);
    for (const { signal, listener } of listeners) signal.removeEventListener('abort', listener);
  }
}

type OnceResult =
  | { ok: true; value: TextResponse }
  /** `error` undefined: the body was over the limit. */
  | { ok: false; error: unknown; status?: number };

/** One request on one connection; `setCancel` receives how to stop it. Never rejects. */
function requestOnce(url: string, init: FetchTextInit, maxBytes: number, setCancel: (cancel: (reason: unknown) => void) => void): Promise<OnceResult> {
  return new Promise((resolve) => {
    const target = new URL(url);
    const secure = target.protocol === 'https:';
    const body =
      init.body === undefined
        ? undefined
        : typeof init.body === 'string'
          ? Buffer.from(init.body, 'utf8')
          : Buffer.from(init.body.buffer, init.body.byteOffset, init.body.byteLength);
    const headers: Record<string, string | number> = { ...init.headers };
    if (body !== undefined) headers['content-length'] = body.length;
    let settled = false;
    const settle = (result: OnceResult): void => {
      if (settled) return;
      settled = true;
      resolve(result);
    };
    const request = (secure ? https : http).request(target, { method: init.method, headers, agent: secure ? agents.https : agents.http });
    setCancel((reason) => {
      request.destroy(reason instanceof Error ? reason : new Error(String(reason)));
    });
    request.on('error', (error) => settle({ ok: false, error }));
    request.on('response', (response) => {
      const status = response.statusCode ?? 0;
      const declared = Number(response.headers['content-length'] ?? Number.NaN);
      if (Number.isFinite(declared) && declared > maxBytes) {
        settle({ ok: false, error: undefined, status });
        request.destroy();
        return;
      }
      const chunks: Buffer[] = [];
      let total = 0;
      response.on('data', (chunk: Buffer) => {
        total += chunk.length;
        if (total > maxBytes) {
          settle({ ok: false, error: undefined, status });
          request.destroy();
          return;
        }
        chunks.push(chunk);
      });
      response.on('error', (error) => settle({ ok: false, error }));
      response.on('aborted', () => settle({ ok: false, error: new Error('the connection closed before the whole response arrived') }));
      response.on('end', () => {
        if (!response.complete) {
          settle({ ok: false, error: new Error('the connection closed before the whole response arrived') });
          return;
        }
        settle({ ok: true, value: { status, headers: toHeaders(response.headers), text: Buffer.concat(chunks, total).toString('utf8') } });
      });
    });
    request.end(body);
  });
}

function toHeaders(raw: http.IncomingHttpHeaders): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(raw)) {
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const v of value) headers.append(name, v);
    else headers.set(name, value);
  }
  return headers;
}

function formatBytes(n: number): string {
  if (n >= 1024 * 1024 && n % (1024 * 1024) === 0) return `${n / (1024 * 1024)} MiB`;
  if (n >= 1024 && n % 1024 === 0) return `${n / 1024} KiB`;
  return `${n} bytes`;
}
