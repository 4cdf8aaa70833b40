/**
 * A fake vLLM OpenAI-compatible server on 127.0.0.1 for contract tests. It answers with bodies in
 * exactly vLLM's shapes (built by the same builders `sift serve` uses, which mirror vLLM's
 * serving code; see src/core/scoring/vllm/protocol.ts), computed from a deterministic toy model so
 * tests can check exact values, and it injects faults per request.
 *
 * Toy tokenizer: one token per Unicode code point, id = code point + 3; BOS = 1, EOS = 2.
 * Toy model: log p(cur | prev) = -ln(V) - ((31 cur + 17 prev) mod 97) / 100.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  buildCompletionResponse,
  buildErrorResponse,
  buildModelList,
  buildTokenizeResponse,
  type ScoredPrompt,
} from '../../src/core/scoring/vllm/protocol';

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

/** What a correct scorer must return for `ids`: lp[j-1] = log p(ids[j] | ids[j-1]). */
export function toyLogprobs(ids: readonly number[]): Float64Array {
  const out = new Float64Array(Math.max(0, ids.length - 1));
  for (let j = 1; j < ids.length; j++) out[j - 1] = toyLogprob(ids[j - 1] as number, ids[j] as number);
  return out;
}

export type Fault =
  /** Destroy the socket without answering (client sees ECONNRESET / socket hang up). */
  | { kind: 'reset' }
  /** Never answer (client times out). */
  | { kind: 'hang' }
  /** Answer with this status (and vLLM's error body unless `body` is given). */
  | { kind: 'status'; status: number; retryAfter?: string; body?: unknown; message?: string }
  /** A complete HTTP response whose JSON is cut in half. */
  | { kind: 'truncated' }
  /** Headers and half the body, then the connection drops. */
  | { kind: 'cut' }
  /** 200 with a body that is not JSON at all. */
  | { kind: 'not-json' }
  /** choices[0] without logprobs (and without prompt_logprobs). */
  | { kind: 'missing-logprobs' }
  /** One choice too few. */
  | { kind: 'wrong-choices' }
  /** choices[0] covers one prompt token too few. */
  | { kind: 'short-logprobs' }
  /** A NaN literal (as Python's json.dumps writes it) in choices[0]'s log-probs. */
  | { kind: 'nan' }
  /** A 200 whose body is vLLM's error object. */
  | { kind: 'error-body' };

export interface RecordedRequest {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: unknown;
}

export interface FakeVllmOptions {
  model?: string;
  maxModelLen?: number;
  /** Require `Authorization: Bearer <apiKey>` on /v1 paths, like vLLM's --api-key. */
  apiKey?: string;
  /** Delay before each answer. */
  latencyMs?: number;
  /** VLLM_MAX_COMPLETION_PROMPTS. */
  maxPrompts?: number;
  loras?: string[];
}

export class FakeVllm {
  readonly requests: RecordedRequest[] = [];
  /** Requests being handled right now, and the most ever at once. */
  inFlight = 0;
  maxInFlight = 0;
  private readonly faults = new Map<string, Fault[]>();
  private readonly model: string;
  private readonly maxModelLen: number;
  private readonly opts: FakeVllmOptions;

  private constructor(
    private readonly server: http.Server,
    readonly url: string,
    opts: FakeVllmOptions,
  ) {
    this.opts = opts;
    this.model = opts.model ?? 'toy-model';
    this.maxModelLen = opts.maxModelLen ?? 2048;
  }

  static async start(opts: FakeVllmOptions = {}): Promise<FakeVllm> {
    const holder: { fake?: FakeVllm } = {};
    const server = http.createServer((req, res) => {
      void (holder.fake as FakeVllm).handle(req, res);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    holder.fake = new FakeVllm(server, `http://127.0.0.1:${port}`, opts);
    return holder.fake;
  }

  /** Apply `fault` to the next `times` requests on `path` (e.g. '/v1/completions'). */
  inject(path: string, fault: Fault, times = 1): void {
    const q = this.faults.get(path) ?? [];
    for (let i = 0; i < times; i++) q.push(fault);
    this.faults.set(path, q);
  }

  /** Forget all pending injected faults. */
  clearFaults(): void {
    this.faults.clear();
  }

  requestsTo(path: string): RecordedRequest[] {
    return this.requests.filter((r) => r.path === path);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    let done = false;
    const finish = (): void => {
      if (!done) {
        done = true;
        this.inFlight--;
      }
    };
    res.on('close', finish);

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
    if (this.opts.latencyMs) await new Promise((r) => setTimeout(r, this.opts.latencyMs));

    if (fault?.kind === 'reset') {
      req.socket.destroy();
      return;
    }
    if (fault?.kind === 'hang') return; // the client's timeout or abort closes the socket
    if (fault?.kind === 'status') {
      const headers: Record<string, string> = {};
      if (fault.retryAfter !== undefined) headers['retry-after'] = fault.retryAfter;
      const errBody =
        fault.body ?? buildErrorResponse(fault.message ?? `injected ${fault.status}`, fault.status);
      this.send(res, fault.status, errBody, headers);
      return;
    }

    // vLLM's auth middleware guards /v1, /v2, /inference, /cohere only.
    if (this.opts.apiKey !== undefined && path.startsWith('/v1')) {
      if (req.headers['authorization'] !== `Bearer ${this.opts.apiKey}`) {
        this.send(res, 401, { error: 'Unauthorized' });
        return;
      }
    }
    if (req.method === 'POST' && !(req.headers['content-type'] ?? '').toLowerCase().startsWith('application/json')) {
      this.send(res, 400, buildErrorResponse("Unsupported Media Type: Only 'application/json' is allowed", 400, 'Bad Request'));
      return;
    }

    let status = 200;
    let out: unknown;
    if (req.method === 'GET' && path === '/v1/models') {
      out = buildModelList(this.model, this.maxModelLen, { loras: this.opts.loras ?? [] });
    } else if (req.method === 'POST' && path === '/tokenize') {
      [status, out] = this.tokenize(body);
    } else if (req.method === 'POST' && path === '/v1/completions') {
      [status, out] = this.completions(body);
    } else {
      this.send(res, 404, { detail: 'Not Found' });
      return;
    }
    if (status !== 200 || fault === undefined) {
      this.send(res, status, out);
      return;
    }
    this.sendFaulty(res, fault, out);
  }

  private knowsModel(m: unknown): boolean {
    return m === undefined || m === null || m === this.model || (this.opts.loras ?? []).includes(m as string);
  }

  private tokenize(body: unknown): [number, unknown] {
    const b = body as Record<string, unknown>;
    if (typeof b?.['prompt'] !== 'string') return [400, buildErrorResponse('1 validation error: prompt', 400, 'Bad Request', 'body.prompt')];
    if (!this.knowsModel(b['model'])) {
      return [404, buildErrorResponse(`The model \`${String(b['model'])}\` does not exist.`, 404, 'NotFoundError', 'model')];
    }
    const add = b['add_special_tokens'] === undefined ? true : b['add_special_tokens'] === true;
    return [200, buildTokenizeResponse(toyTokenize(b['prompt'], add), this.maxModelLen)];
  }

  private completions(body: unknown): [number, unknown] {
    const b = body as Record<string, unknown>;
    if (!this.knowsModel(b?.['model'])) {
      return [404, buildErrorResponse(`The model \`${String(b?.['model'])}\` does not exist.`, 404, 'NotFoundError', 'model')];
    }
    const add = b['add_special_tokens'] === undefined ? true : b['add_special_tokens'] === true;
    const p = b['prompt'];
    let prompts: number[][];
    if (typeof p === 'string') prompts = [toyTokenize(p, add)];
    else if (Array.isArray(p) && p.every((x) => typeof x === 'string')) prompts = (p as string[]).map((s) => toyTokenize(s, add));
    else if (Array.isArray(p) && p.length > 0 && p.every((x) => Number.isInteger(x) && (x as number) >= 0)) prompts = [p as number[]];
    else if (Array.isArray(p) && p.length > 0 && p.every((x) => Array.isArray(x) && x.every((y) => Number.isInteger(y) && y >= 0))) {
      prompts = p as number[][];
    } else {
      return [400, buildErrorResponse('Either prompt or prompt_embeds must be provided and non-empty.', 400, 'BadRequestError', 'prompt')];
    }
    const maxPrompts = this.opts.maxPrompts ?? 1024;
    if (prompts.length > maxPrompts && !(Array.isArray(p) && p.every((x) => Number.isInteger(x)))) {
      return [
        400,
        buildErrorResponse(
          `prompt list length ${prompts.length} exceeds the maximum allowed count of ${maxPrompts}. To increase this limit, set the VLLM_MAX_COMPLETION_PROMPTS environment variable.`,
          400,
          'BadRequestError',
          'prompt',
        ),
      ];
    }
    const echo = b['echo'] === true;
    const maxTokens = b['max_tokens'] === undefined || b['max_tokens'] === null ? 16 : (b['max_tokens'] as number);
    const logprobs = typeof b['logprobs'] === 'number' ? b['logprobs'] : null;
    const promptLogprobs = typeof b['prompt_logprobs'] === 'number' ? b['prompt_logprobs'] : null;
    for (const ids of prompts) {
      if (ids.length > this.maxModelLen) {
        return [400, buildErrorResponse(`Input length (${ids.length}) exceeds model's maximum context length (${this.maxModelLen}).`, 400)];
      }
      // get_max_tokens, then SamplingParams (echo with max_tokens 0 is run with max_tokens 1).
      const effective = Math.min(this.maxModelLen - ids.length, maxTokens);
      if (!(echo && maxTokens === 0) && effective < 1) {
        return [400, buildErrorResponse(`max_tokens must be at least 1, got ${effective}.`, 400, 'BadRequestError', 'max_tokens')];
      }
    }
    const scored: ScoredPrompt[] = prompts.map((ids) => ({
      tokenIds: ids,
      tokenTexts: ids.map(toyDecode),
      logprobs: toyLogprobs(ids),
      generated: { tokenId: TOY_EOS, text: '', logprob: -0.25 },
    }));
    return [200, buildCompletionResponse({ model: (b['model'] as string) ?? this.model, echo, maxTokens, logprobs, promptLogprobs }, scored)];
  }

  private sendFaulty(res: http.ServerResponse, fault: Fault, out: unknown): void {
    const o = out as { choices?: Record<string, unknown>[] };
    const c0 = o.choices?.[0];
    switch (fault.kind) {
      case 'truncated': {
        const text = JSON.stringify(out);
        this.sendText(res, 200, text.slice(0, Math.floor(text.length / 2)));
        return;
      }
      case 'cut': {
        const text = JSON.stringify(out);
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)) });
        res.write(text.slice(0, Math.floor(text.length / 2)), () => res.socket?.destroy());
        return;
      }
      case 'not-json':
        this.sendText(res, 200, '<html><body>502 Bad Gateway</body></html>', 'text/html');
        return;
      case 'error-body':
        this.send(res, 200, { object: 'error', message: 'engine is sleeping', type: 'ServiceUnavailable', param: null, code: 503 });
        return;
      case 'missing-logprobs':
        if (c0) {
          c0['logprobs'] = null;
          c0['prompt_logprobs'] = null;
        }
        break;
      case 'wrong-choices':
        o.choices?.pop();
        break;
      case 'short-logprobs':
        if (c0) {
          const lp = c0['logprobs'] as { token_logprobs: unknown[]; tokens: unknown[] } | null;
          lp?.token_logprobs.pop();
          lp?.tokens.pop();
          (c0['prompt_logprobs'] as unknown[] | null)?.pop();
        }
        break;
      case 'nan': {
        const lp = c0?.['logprobs'] as { token_logprobs: unknown[] } | null;
        if (lp && lp.token_logprobs.length > 1) lp.token_logprobs[1] = '__NaN__';
        const pl = c0?.['prompt_logprobs'] as Record<string, { logprob: unknown }>[] | null;
        if (pl && pl.length > 1) for (const e of Object.values(pl[1] as object)) (e as { logprob: unknown }).logprob = '__NaN__';
        this.sendText(res, 200, JSON.stringify(out).split('"__NaN__"').join('NaN'));
        return;
      }
      default:
        break;
    }
    this.send(res, 200, out);
  }

  private send(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    this.sendText(res, status, JSON.stringify(body), 'application/json', headers);
  }

  private sendText(
    res: http.ServerResponse,
    status: number,
    text: string,
    contentType = 'application/json',
    headers: Record<string, string> = {},
  ): void {
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
