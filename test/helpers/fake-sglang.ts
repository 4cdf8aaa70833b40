/**
 * A fake SGLang server for contract tests: native `/generate`, `/v1/tokenize` (and `/tokenize`),
 * `/v1/models`, answering in SGLang's shapes (src/core/scoring/sglang/protocol.ts) from the shared
 * toy model, with fault injection.
 */
import { buildGenerateResponse, buildTokenizeBatchResponse } from '../../src/core/scoring/sglang/protocol';
import { FakeHttpServer, NAN_MARK, toyDecode, toyLogprobs, toySample, toyTokenize, type FakeEngine, type Fault, type Routed } from './fake-server';

export * from './fake-server';

export interface FakeSglangOptions {
  model?: string;
  /** model_config.context_len (default: the engine's context, or 2048) */
  contextLen?: number;
  /** A real model instead of the toy one. */
  engine?: FakeEngine;
  apiKey?: string;
  latencyMs?: number;
  loras?: string[];
  /** Launched with --allow-auto-truncate: a prompt at or over the limit is cut silently. */
  allowAutoTruncate?: boolean;
  /** The scheduler's max_req_input_len when below the context (a small KV cache pool). */
  maxReqInputLen?: number;
  /** Output slots reserved per request (speculative decoding's draft tokens): the prompt limit is contextLen - this. */
  reservedTokens?: number;
  /** Fault injection by content: a request with a prompt for which this returns a message gets a 400 with it. */
  rejectIf?: (ids: readonly number[]) => string | undefined;
}

export class FakeSglang extends FakeHttpServer {
  private readonly model: string;
  private readonly contextLen: number;

  private constructor(private readonly opts: FakeSglangOptions) {
    super({ ...(opts.latencyMs !== undefined ? { latencyMs: opts.latencyMs } : {}), ...(opts.apiKey !== undefined ? { apiKey: opts.apiKey } : {}) });
    this.model = opts.model ?? 'toy-model';
    this.contextLen = opts.contextLen ?? opts.engine?.maxContext ?? 2048;
  }

  static async start(opts: FakeSglangOptions = {}): Promise<FakeSglang> {
    const f = new FakeSglang(opts);
    await f.listen();
    return f;
  }

  protected guarded(): boolean {
    return true;
  }

  // http_server.py create_error_response for ValueError
  protected errorBody(_status: number, message: string): unknown {
    return { error: { message } };
  }

  private async tokenize(text: string, addSpecialTokens: boolean): Promise<number[]> {
    const engine = this.opts.engine;
    if (!engine) return toyTokenize(text, addSpecialTokens);
    const ids = await engine.tokenize(text);
    return addSpecialTokens ? [engine.bosId, ...ids] : ids;
  }

  protected async route(method: string, path: string, body: unknown): Promise<Routed> {
    if (method === 'GET' && path === '/v1/models') {
      const created = Math.floor(Date.now() / 1000);
      return {
        status: 200,
        body: {
          object: 'list',
          data: [
            { id: this.model, object: 'model', created, owned_by: 'sglang', root: this.model, parent: null, max_model_len: this.contextLen },
            ...(this.opts.loras ?? []).map((l) => ({ id: l, object: 'model', created, owned_by: 'sglang', root: `/adapters/${l}`, parent: this.model, max_model_len: null })),
          ],
        },
      };
    }
    if (method === 'POST' && (path === '/v1/tokenize' || path === '/tokenize')) {
      const b = (body ?? {}) as Record<string, unknown>;
      const add = b['add_special_tokens'] === undefined ? true : b['add_special_tokens'] === true;
      const p = b['prompt'];
      if (typeof p === 'string') {
        const t = await this.tokenize(p, add);
        return { status: 200, body: { tokens: t, count: t.length, max_model_len: 1e30 } };
      }
      if (Array.isArray(p) && p.every((x) => typeof x === 'string')) {
        const all: number[][] = [];
        for (const text of p as string[]) all.push(await this.tokenize(text, add));
        return { status: 200, body: buildTokenizeBatchResponse(all, 1e30) };
      }
      return { status: 400, body: { object: 'error', message: `Invalid prompt type: ${typeof p}. Expected str or List[str].`, type: 'BadRequestError', param: null, code: 400 } };
    }
    if (method === 'POST' && path === '/generate') return this.generate(body);
    return { status: 404, body: { detail: 'Not Found' } };
  }

  /**
   * A generation batch (`text` or `input_ids` lists with one `sampling_params` per entry): each
   * entry answered with {@link toySample} from its own `sampling_seed`, in SGLang's list shape.
   */
  private async sample(b: Record<string, unknown>): Promise<Routed> {
    const bad = (message: string): Routed => ({ status: 400, body: { error: { message } } });
    const prompts = Array.isArray(b['text']) ? await Promise.all((b['text'] as string[]).map((t) => this.tokenize(t, true))) : (b['input_ids'] as number[][]);
    const params = b['sampling_params'] as Record<string, unknown>[];
    if (!Array.isArray(prompts) || prompts.length !== params.length) return bad('sampling_params must have one entry per prompt');
    const out = [];
    for (const [i, ids] of prompts.entries()) {
      const sp = params[i]!;
      if (ids.length >= this.contextLen) return bad(`The input (${ids.length} tokens) is longer than the model's context length (${this.contextLen} tokens).`);
      const refused = this.opts.rejectIf?.(ids);
      if (refused !== undefined) return bad(refused);
      const seed = typeof sp['sampling_seed'] === 'number' ? sp['sampling_seed'] : 0;
      const maxNew = typeof sp['max_new_tokens'] === 'number' ? sp['max_new_tokens'] : 128;
      const drawn = toySample(ids, seed, { temperature: (sp['temperature'] as number) ?? 1, topP: (sp['top_p'] as number) ?? 1, maxTokens: maxNew, stop: (sp['stop'] as string[]) ?? [] });
      const finish = drawn.finishReason === 'length' ? { type: 'length', length: maxNew } : { type: 'stop', matched: drawn.stopReason ?? 2 };
      out.push({ text: drawn.text, output_ids: [], meta_info: { id: `req-${i}`, finish_reason: finish, prompt_tokens: ids.length, completion_tokens: drawn.tokens, cached_tokens: 0 } });
    }
    return { status: 200, body: out };
  }

  private async generate(body: unknown): Promise<Routed> {
    const b = (body ?? {}) as Record<string, unknown>;
    if (Array.isArray(b['sampling_params'])) return this.sample(b);
    const bad = (message: string): Routed => ({ status: 400, body: { error: { message } } });
    const ids = b['input_ids'];
    if (!Array.isArray(ids) || ids.length === 0) return bad('Either text, input_ids or input_embeds should be provided.');
    const batch = Array.isArray(ids[0]);
    const prompts = [...((batch ? ids : [ids]) as number[][])];
    const sp = (b['sampling_params'] ?? {}) as Record<string, unknown>;
    const maxNew = typeof sp['max_new_tokens'] === 'number' ? sp['max_new_tokens'] : 128;
    if (maxNew < 0) return bad(`max_new_tokens must be at least 0, got ${maxNew}.`);
    const lora = b['lora_path'];
    if (lora !== undefined && lora !== null && !(this.opts.loras ?? []).includes(lora as string)) return bad(`LoRA adapter ${String(lora)} is not loaded`);
    const limit = Math.min(this.opts.maxReqInputLen ?? this.contextLen, this.contextLen - (this.opts.reservedTokens ?? 0));
    for (let k = 0; k < prompts.length; k++) {
      const p = prompts[k] as number[];
      if (p.length >= limit && this.opts.allowAutoTruncate) {
        prompts[k] = p.slice(0, limit - 1); // managers/utils.py validate_input_length: cut, log a warning, answer 200
        continue;
      }
      if (p.length >= this.contextLen) {
        return bad(`The input (${p.length} tokens) is longer than the model's context length (${this.contextLen} tokens).`);
      }
      if (p.length >= limit) {
        return bad(`Input length (${p.length} tokens) exceeds the maximum allowed length (${limit} tokens). Use a shorter input or enable --allow-auto-truncate.`);
      }
      const refused = this.opts.rejectIf?.(p);
      if (refused !== undefined) return bad(refused);
    }
    if (maxNew !== 0 || b['return_logprob'] !== true || b['logprob_start_len'] !== 0) {
      return bad('this fake only implements prefill-only scoring (max_new_tokens 0, return_logprob, logprob_start_len 0)');
    }
    const engine = this.opts.engine;
    const scored = [];
    for (const p of prompts) {
      scored.push(engine ? { tokenIds: p, logprobs: await engine.logprobs(p), tokenTexts: engine.tokenTexts(p) } : { tokenIds: p, logprobs: toyLogprobs(p), tokenTexts: p.map(toyDecode) });
    }
    const out = buildGenerateResponse(
      scored,
      { batch, returnText: b['return_text_in_logprobs'] === true },
    );
    return { status: 200, body: out };
  }

  protected mutate(fault: Fault, out: unknown): unknown {
    const items = (Array.isArray(out) ? out : [out]) as { meta_info: Record<string, unknown> }[];
    const m0 = (items[0] as { meta_info: Record<string, unknown> }).meta_info;
    const itl = m0['input_token_logprobs'] as unknown[][];
    switch (fault.kind) {
      case 'missing-logprobs':
        delete m0['input_token_logprobs'];
        break;
      case 'wrong-choices':
        if (Array.isArray(out)) out.pop();
        break;
      case 'short-logprobs':
        itl.pop();
        break;
      case 'nan':
        if (itl.length > 1) (itl[1] as unknown[])[0] = NAN_MARK;
        break;
      case 'wrong-ids':
        if (itl.length > 1) (itl[1] as unknown[])[1] = 999_999;
        break;
      default:
        break;
    }
    return out;
  }
}
