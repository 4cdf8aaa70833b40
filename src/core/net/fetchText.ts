/**
 * One HTTP attempt with a deadline: the request, the server's time and reading the whole body all
 * count against `timeoutMs`, any of the given signals stops it at once, and a body larger than
 * `maxBytes` (default {@link MAX_RESPONSE_BYTES}) is refused without being read to the end, so a
 * broken or hostile server cannot make Sift hold an unbounded answer in memory.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { Agent, type Dispatcher } from 'undici';
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
  /** The response headers (built on first use: a scoring answer's are rarely read). */
  readonly headers: Headers;
  /** The body decoded as UTF-8 (on first use). */
  readonly text: string;
  /** The body as received: a reader of a hot answer can scan it without decoding it. */
  readonly bytes: Buffer;
}

/** A response whose headers and text are built only if someone reads them. */
class ReceivedResponse implements TextResponse {
  private decoded: string | undefined;
  private headerList: Headers | undefined;
  constructor(
    readonly status: number,
    private readonly rawHeaders: IncomingHttpHeaders,
    readonly bytes: Buffer,
  ) {}

  get headers(): Headers {
    this.headerList ??= toHeaders(this.rawHeaders);
    return this.headerList;
  }

  get text(): string {
    this.decoded ??= this.bytes.toString('utf8');
    return this.decoded;
  }
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
 * server is closing fails for nothing.
 *
 * undici's dispatcher rather than Node's `http` or `fetch`: the client's ceiling in scored tokens
 * per CPU-second is bounded by the cost of one call (a `/tokenize` per text), and undici's
 * `request` costs about half of `http.request` per call (81 vs 164 CPU-µs for a small POST on
 * loopback, measured on this project's machines) and a fraction of `fetch`; its `dispatch` with a
 * handler of our own ({@link BodyCollector}) saves the stream and promise `request` wraps around
 * each answer (about 10 µs more per call). The deadline is this module's own (it covers connecting,
 * the server's time and the whole body), so undici's own header and body timeouts are off.
 */
const IDLE_SOCKET_MS = 4000;
const dispatcher = new Agent({ keepAliveTimeout: IDLE_SOCKET_MS, keepAliveMaxTimeout: IDLE_SOCKET_MS, headersTimeout: 0, bodyTimeout: 0 });

/**
 * Resolves with the response (any status) or a failure (`timeout`, `connection`, or a body over
 * the limit); rejects only with an abort reason.
 */
export async function fetchText(url: string, init: FetchTextInit): Promise<AttemptResult<TextResponse>> {
  const maxBytes = init.maxBytes ?? MAX_RESPONSE_BYTES;
  for (const signal of init.signals) if (signal?.aborted) throw abortReason(signal);
  let timedOut = false;
  let aborted: { reason: unknown } | undefined;
  let resolve!: (result: OnceResult) => void;
  const promise = new Promise<OnceResult>((r) => (resolve = r));
  const call = new BodyCollector(maxBytes, resolve);
  const timer = setTimeout(() => {
    timedOut = true;
    call.stop(new Error(`no complete response within ${init.timeoutMs} ms`));
  }, init.timeoutMs);
  const listening: { signal: AbortSignal; listener: () => void }[] = [];
  for (const signal of init.signals) {
    if (signal === undefined) continue;
    const listener = (): void => {
      aborted ??= { reason: abortReason(signal) };
      call.stop(new DOMException('This operation was aborted', 'AbortError'));
    };
    signal.addEventListener('abort', listener, { once: true });
    listening.push({ signal, listener });
  }
  try {
    try {
      dispatcher.dispatch(
        {
          origin: originOf(url),
          path: pathOf(url),
          method: init.method as Dispatcher.HttpMethod,
          headers: init.headers,
          ...(init.body !== undefined ? { body: typeof init.body === 'string' ? init.body : Buffer.from(init.body.buffer, init.body.byteOffset, init.body.byteLength) } : {}),
        },
        call,
      );
    } catch (error) {
      // Refused before it left (invalid options): settled like any other failure of the call.
      call.stop(error instanceof Error ? error : new Error(String(error)));
    }
    const result = await promise;
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
    for (const { signal, listener } of listening) signal.removeEventListener('abort', listener);
  }
}

type OnceResult =
  | { ok: true; value: TextResponse }
  /** `error` undefined: the body was over the limit. */
  | { ok: false; error: unknown; status?: number };

/**
 * One request's handler for undici's `dispatch`: collects the body's chunks and settles once (a
 * response, an error, or the body over the limit). undici's `request` would wrap the body in a
 * stream and the answer in a promise of its own, which costs about a fifth of a small call.
 * {@link stop} settles at once, even while the request still waits for a connection (undici
 * aborts it when it reaches one).
 */
class BodyCollector implements Dispatcher.DispatchHandler {
  private controller: Dispatcher.DispatchController | undefined;
  private stopReason: Error | undefined;
  private settled = false;
  private status = 0;
  private headers: IncomingHttpHeaders = {};
  private chunks: Buffer[] = [];
  private total = 0;

  constructor(
    private readonly maxBytes: number,
    private readonly resolve: (result: OnceResult) => void,
  ) {}

  /** The deadline passed or a signal aborted: settle now, end the request. */
  stop(reason: Error): void {
    this.settle({ ok: false, error: reason });
    this.abort(reason);
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.stopReason !== undefined) controller.abort(this.stopReason);
  }

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders): void {
    this.status = statusCode;
    this.headers = headers;
    const declared = Number(headers['content-length'] ?? Number.NaN);
    if (Number.isFinite(declared) && declared > this.maxBytes) this.refuseBody();
  }

  onResponseData(_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.settled) return;
    this.total += chunk.length;
    if (this.total > this.maxBytes) this.refuseBody();
    else this.chunks.push(chunk);
  }

  onResponseEnd(): void {
    const bytes = this.chunks.length === 1 ? (this.chunks[0] as Buffer) : Buffer.concat(this.chunks, this.total);
    this.chunks = [];
    this.settle({ ok: true, value: new ReceivedResponse(this.status, this.headers, bytes) });
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    this.settle({ ok: false, error });
  }

  /** The body is over the limit: not read to the end. */
  private refuseBody(): void {
    this.settle({ ok: false, error: undefined, status: this.status });
    this.chunks = [];
    this.abort(new Error('response body over the limit'));
  }

  private abort(reason: Error): void {
    if (this.controller !== undefined) this.controller.abort(reason);
    else this.stopReason = reason;
  }

  private settle(result: OnceResult): void {
    if (this.settled) return;
    this.settled = true;
    this.resolve(result);
  }
}

/** `http://host:port` of a URL; the pool's base URLs are already normalised, so this is a cut. */
function originOf(url: string): string {
  const slash = url.indexOf('/', url.indexOf('//') + 2);
  return slash < 0 ? url : url.slice(0, slash);
}

function pathOf(url: string): string {
  const slash = url.indexOf('/', url.indexOf('//') + 2);
  return slash < 0 ? '/' : url.slice(slash);
}

function toHeaders(raw: IncomingHttpHeaders): Headers {
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
