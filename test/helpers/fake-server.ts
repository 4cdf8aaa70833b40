/**
 * Base of the fake inference servers used by the HTTP backend contract tests: a node:http server
 * on 127.0.0.1 (port 0) that records requests, counts concurrency and injects faults per request.
 * Subclasses supply the routes (answering in the real server's exact shapes) and the
 * backend-specific body faults.
 *
 * Also the toy tokenizer and model all fakes share, so tests can check exact values:
 * one token per Unicode code point, id = code point + 3; BOS = 1, EOS = 2;
 * log p(cur | prev) = -ln(V) - ((31 cur + 17 prev) mod 97) / 100.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

export const TOY_VOCAB = 0x10ffff + 4;
export const TOY_BOS = 1;
export const TOY_EOS = 2;
const OFFSET = 3;

export function toyTokenize(text: string, addSpecialTokens: boolean): number[] {
  const ids: number[] = addSpecialTokens ? [TOY_BOS] : [];
  for (const ch of text) ids.push((ch.codePointAt(0) as number) + OFFSET);
  return ids;
}

export function toyDecode(id: number): string {
  if (id === TOY_BOS) return '<s>';
  if (id === TOY_EOS) return '</s>';
  if (id < OFFSET || id - OFFSET > 0x10ffff) return '<unk>';
  return String.fromCodePoint(id - OFFSET);
}

export function toyLogprob(prev: number, cur: number): number {
  return -Math.log(TOY_VOCAB) - ((31 * cur + 17 * prev) % 97) / 100;
}

/** A toy token sequence of length `n`, BOS first, different for each `seed`. */
export function toySequence(n: number, seed: number): number[] {
  const ids = [TOY_BOS];
  for (let i = 1; i < n; i++) ids.push(3 + ((seed * 7919 + i * 104729) % 5000));
  return ids;
}

/** What a correct scorer must return for `ids`: lp[j-1] = log p(ids[j] | ids[j-1]). */
export function toyLogprobs(ids: readonly number[]): Float64Array {
  const out = new Float64Array(Math.max(0, ids.length - 1));
  for (let j = 1; j < ids.length; j++) out[j - 1] = toyLogprob(ids[j - 1] as number, ids[j] as number);
  return out;
}

/** A toy generation's settings (what a vLLM sampling request carries besides `n` and `seed`). */
export interface ToySamplingSettings {
  temperature: number;
  topP: number;
  maxTokens: number;
  stop: readonly string[];
}

/**
 * The fake's sample of a prompt with a seed: a closed form, so a test can compute what a client
 * must have received. The text states its settings, sums two numbers from the prompt's ids and the
 * seed, ends with "The answer is N." and then starts another question ("\nQ: ..."), which a stop
 * string "\nQ:" cuts off (vLLM leaves the stop string out). One toy token per character, so the
 * text is cut at max_tokens characters (`finish_reason` "length").
 */
export function toySample(promptIds: readonly number[], seed: number, settings: ToySamplingSettings): { text: string; finishReason: 'stop' | 'length'; stopReason: string | null; tokens: number } {
  let h = 2166136261;
  for (const id of promptIds) h = Math.imul(h ^ id, 16777619) >>> 0;
  const a = h % 89;
  const b = seed % 11;
  const full = ` T=${settings.temperature} p=${settings.topP} seed=${seed}: ${a} + ${b} = ${a + b}. The answer is ${a + b}.\nQ: and then?`;
  let end = full.length;
  let stopReason: string | null = null;
  for (const stop of settings.stop) {
    const at = full.indexOf(stop);
    if (at >= 0 && at < end) {
      end = at;
      stopReason = stop;
    }
  }
  if (end > settings.maxTokens) return { text: full.slice(0, settings.maxTokens), finishReason: 'length', stopReason: null, tokens: settings.maxTokens };
  // The text and, when no stop string ended it, the end-of-sequence token.
  return { text: full.slice(0, end), finishReason: 'stop', stopReason, tokens: stopReason === null ? end + 1 : end };
}

/**
 * A real model behind a fake server's protocol (instead of the toy model): the SGLang- and
 * TGI-shaped servers then answer with the local engine's tokens and log-probs, so one engine can be
 * compared across every backend's client (test/integration/cross-backend.test.ts).
 */
export interface FakeEngine {
  readonly bosId: number;
  readonly maxContext: number;
  /** Token ids of a text without special tokens. */
  tokenize(text: string): Promise<number[]>;
  /** log p(ids[j] | ids[<j]) for j >= 1. */
  logprobs(ids: number[]): Promise<Float64Array>;
  /** Text of each token as it reads in place. */
  tokenTexts(ids: number[]): string[];
}

export type Fault =
  /** Destroy the socket without answering (client sees ECONNRESET / socket hang up). */
  | { kind: 'reset' }
  /** Never answer (client times out or aborts). */
  | { kind: 'hang' }
  /** Answer with this status (and the backend's error body unless `body` is given). */
  | { kind: 'status'; status: number; retryAfter?: string; body?: unknown; message?: string }
  /** A complete HTTP response whose JSON is cut in half. */
  | { kind: 'truncated' }
  /** Headers and half the body, then the connection drops. */
  | { kind: 'cut' }
  /** 200 with a body that is not JSON at all. */
  | { kind: 'not-json' }
  /** A 200 whose body is the backend's error object. */
  | { kind: 'error-body' }
  /** The first prompt's log-probs are missing. */
  | { kind: 'missing-logprobs' }
  /** One result too few. */
  | { kind: 'wrong-choices' }
  /** The first prompt's log-probs cover one token too few. */
  | { kind: 'short-logprobs' }
  /** A NaN literal (as Python's json.dumps writes it) in the first prompt's log-probs. */
  | { kind: 'nan' }
  /** The first prompt's log-probs are for other token ids. */
  | { kind: 'wrong-ids' };

export interface RecordedRequest {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: unknown;
}

export interface Routed {
  status: number;
  body: unknown;
}

export interface FakeServerOptions {
  /** Delay before each answer. */
  latencyMs?: number;
  /** Require `Authorization: Bearer <apiKey>` on the paths `guarded` accepts. */
  apiKey?: string;
  /** Awaited before a request to `path` is answered: a test holds answers back and lets them go one by one. */
  hold?: (path: string) => Promise<void> | undefined;
}

/** Marker a mutation puts where the sender must write a bare NaN. */
export const NAN_MARK = '__NaN__';

export abstract class FakeHttpServer {
  readonly requests: RecordedRequest[] = [];
  /** Requests being handled right now, and the most ever at once. */
  inFlight = 0;
  maxInFlight = 0;
  url = '';
  private server: http.Server | undefined;
  private readonly faults = new Map<string, Fault[]>();

  protected constructor(protected readonly common: FakeServerOptions) {}

  /** Listens on `port` (0: any free one). */
  protected async listen(port = 0): Promise<void> {
    const server = http.createServer((req, res) => {
      void this.handle(req, res);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', resolve);
    });
    this.server = server;
    this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  private readonly gates = new Map<string, { promise: Promise<void>; release: () => void }>();

  /** Requests on `path` wait (received, unanswered) until {@link release}: a replica as slow as a test wants. */
  hold(path: string): void {
    let release = (): void => undefined;
    const promise = new Promise<void>((resolve) => (release = resolve));
    this.gates.set(path, { promise, release });
  }

  /** Answers every request held on `path`, and the later ones at once. */
  release(path: string): void {
    this.gates.get(path)?.release();
    this.gates.delete(path);
  }

  /** Apply `fault` to the next `times` requests on `path`. */
  inject(path: string, fault: Fault, times = 1): void {
    const q = this.faults.get(path) ?? [];
    for (let i = 0; i < times; i++) q.push(fault);
    this.faults.set(path, q);
  }

  clearFaults(): void {
    this.faults.clear();
  }

  requestsTo(path: string): RecordedRequest[] {
    return this.requests.filter((r) => r.path === path);
  }

  /** Listens again on the port it had before `close`, as a restarted server would. */
  async restart(): Promise<void> {
    await this.listen(Number(new URL(this.url).port));
  }

  async close(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => (this.server as http.Server).close(() => resolve()));
  }

  /** Answer one request (status and JSON body in the backend's shapes). */
  protected abstract route(method: string, path: string, body: unknown): Routed | Promise<Routed>;
  /** Which paths need the API key. */
  protected abstract guarded(path: string): boolean;
  /** The backend's error body for an injected status. */
  protected abstract errorBody(status: number, message: string): unknown;
  /** Apply a body fault to a successful answer (mutating `out` or returning a replacement). */
  protected abstract mutate(fault: Fault, out: unknown): unknown;

  /** The most requests on each path in flight at once (reset with `maxInFlightOn.clear()`). */
  readonly maxInFlightOn = new Map<string, number>();
  private readonly inFlightOn = new Map<string, number>();

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    const onPath = (req.url ?? '/').split('?')[0] as string;
    this.inFlightOn.set(onPath, (this.inFlightOn.get(onPath) ?? 0) + 1);
    this.maxInFlightOn.set(onPath, Math.max(this.maxInFlightOn.get(onPath) ?? 0, this.inFlightOn.get(onPath) as number));
    let done = false;
    res.on('close', () => {
      if (!done) {
        done = true;
        this.inFlight--;
        this.inFlightOn.set(onPath, (this.inFlightOn.get(onPath) as number) - 1);
      }
    });

    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const path = (req.url ?? '/').split('?')[0] as string;
    let body: unknown;
    try {
      body = raw === '' ? undefined : JSON.parse(raw);
    } catch {
      body = raw;
    }
    this.requests.push({ method: req.method ?? '', path, headers: req.headers, body });

    const fault = this.faults.get(path)?.shift();
    if (this.common.latencyMs) await new Promise((r) => setTimeout(r, this.common.latencyMs));
    await this.common.hold?.(path);
    const gate = this.gates.get(path);
    if (gate) await gate.promise;

    switch (fault?.kind) {
      case 'reset':
        req.socket.destroy();
        return;
      case 'hang':
        return; // the client's timeout or abort closes the socket
      case 'status': {
        const headers: Record<string, string> = {};
        if (fault.retryAfter !== undefined) headers['retry-after'] = fault.retryAfter;
        this.sendJson(res, fault.status, fault.body ?? this.errorBody(fault.status, fault.message ?? `injected ${fault.status}`), headers);
        return;
      }
      default:
        break;
    }

    if (this.common.apiKey !== undefined && this.guarded(path) && req.headers['authorization'] !== `Bearer ${this.common.apiKey}`) {
      this.sendJson(res, 401, { error: 'Unauthorized' });
      return;
    }
    if (req.method === 'POST' && !(req.headers['content-type'] ?? '').toLowerCase().startsWith('application/json')) {
      this.sendJson(res, 400, this.errorBody(400, "Unsupported Media Type: Only 'application/json' is allowed"));
      return;
    }

    const routed = await this.route(req.method ?? 'GET', path, body);
    if (routed.status !== 200 || fault === undefined) {
      this.sendJson(res, routed.status, routed.body);
      return;
    }
    const text = JSON.stringify(routed.body);
    switch (fault.kind) {
      case 'truncated':
        this.sendText(res, 200, text.slice(0, Math.floor(text.length / 2)));
        return;
      case 'cut':
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)) });
        res.write(text.slice(0, Math.floor(text.length / 2)), () => res.socket?.destroy());
        return;
      case 'not-json':
        this.sendText(res, 200, '<html><body>502 Bad Gateway</body></html>', 'text/html');
        return;
      case 'error-body':
        this.sendJson(res, 200, this.errorBody(503, 'engine is sleeping'));
        return;
      default: {
        const out = this.mutate(fault, routed.body);
        this.sendText(res, 200, JSON.stringify(out).split(`"${NAN_MARK}"`).join('NaN'));
      }
    }
  }

  private sendJson(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    this.sendText(res, status, JSON.stringify(body), 'application/json', headers);
  }

  private sendText(res: http.ServerResponse, status: number, text: string, contentType = 'application/json', headers: Record<string, string> = {}): void {
    res.writeHead(status, { 'content-type': contentType, 'content-length': String(Buffer.byteLength(text)), ...headers });
    res.end(text);
  }
}

/** A port on 127.0.0.1 with nothing listening (connections are refused). */
export async function deadUrl(): Promise<string> {
  const s = http.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}
