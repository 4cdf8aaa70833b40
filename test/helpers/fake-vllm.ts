/**
 * A fake vLLM OpenAI-compatible server for contract tests. It answers with bodies in exactly
 * vLLM's shapes (built by the builders `sift serve` uses, which mirror vLLM's serving code; see
 * src/core/serve/vllmResponses.ts) from the shared toy model, and injects faults per request.
 * It enforces vLLM V1's length rules with vLLM's own messages: `echo` with `max_tokens: 0` runs as
 * one generated token, so a prompt of exactly max_model_len tokens is refused with a 400.
 */
import { buildCompletionResponse, buildErrorResponse, buildModelList, buildRenderResponse, buildTokenizeResponse, type ScoredPrompt } from '../../src/core/serve/vllmResponses';
import { vllmLengthRefusal, vllmRenderRefusal } from '../../src/core/serve/vllmRefusals';
import { FakeHttpServer, NAN_MARK, TOY_BOS, TOY_EOS, toyDecode, toyLogprobs, toySample, toyTokenize, type FakeServerOptions, type Fault, type Routed } from './fake-server';

export * from './fake-server';

export interface FakeVllmOptions {
  model?: string;
  maxModelLen?: number;
  /** Require `Authorization: Bearer <apiKey>` on /v1 paths, like vLLM's --api-key. */
  apiKey?: string;
  latencyMs?: number;
  /** VLLM_MAX_COMPLETION_PROMPTS. */
  maxPrompts?: number;
  loras?: string[];
  /** Fault injection by content: a request with a prompt for which this returns a message gets a 400 with it. */
  rejectIf?: (ids: readonly number[]) => string | undefined;
  hold?: FakeServerOptions['hold'];
  /** Answer POST /v1/completions/render (off by default, like `vllm serve` without --enable-scale-out). */
  render?: boolean;
  /** Tokenize differently in /v1/completions/render than in /tokenize (a server that must not be trusted with it). */
  renderSkew?: boolean;
}

export class FakeVllm extends FakeHttpServer {
  private readonly model: string;
  private readonly maxModelLen: number;
  /** Seeds for requests without one (each such sample differs). */
  private unseeded = 1_000_000;

  private constructor(private readonly opts: FakeVllmOptions) {
    super({ ...(opts.latencyMs !== undefined ? { latencyMs: opts.latencyMs } : {}), ...(opts.apiKey !== undefined ? { apiKey: opts.apiKey } : {}), ...(opts.hold ? { hold: opts.hold } : {}) });
    this.model = opts.model ?? 'toy-model';
    this.maxModelLen = opts.maxModelLen ?? 2048;
  }

  static async start(opts: FakeVllmOptions = {}): Promise<FakeVllm> {
    const f = new FakeVllm(opts);
    await f.listen();
    return f;
  }

  // vLLM's auth middleware guards /v1, /v2, /inference, /cohere only.
  protected guarded(path: string): boolean {
    return path.startsWith('/v1');
  }

  protected errorBody(status: number, message: string): unknown {
    return buildErrorResponse(message, status);
  }

  protected route(method: string, path: string, body: unknown): Routed {
    if (method === 'GET' && path === '/v1/models') {
      return { status: 200, body: buildModelList(this.model, this.maxModelLen, { loras: this.opts.loras ?? [] }) };
    }
    if (method === 'POST' && path === '/tokenize') return this.tokenize(body);
    if (method === 'POST' && path === '/v1/completions') return this.completions(body);
    if (method === 'POST' && path === '/v1/completions/render' && this.opts.render) return this.render(body);
    return { status: 404, body: { detail: 'Not Found' } };
  }

  private knowsModel(m: unknown): boolean {
    return m === undefined || m === null || m === this.model || (this.opts.loras ?? []).includes(m as string);
  }

  private unknownModel(m: unknown): Routed {
    return { status: 404, body: buildErrorResponse(`The model \`${String(m)}\` does not exist.`, 404, 'NotFoundError', 'model') };
  }

  private tokenize(body: unknown): Routed {
    const b = (body ?? {}) as Record<string, unknown>;
    if (typeof b['prompt'] !== 'string') return { status: 400, body: buildErrorResponse('1 validation error: prompt', 400, 'Bad Request', 'body.prompt') };
    if (!this.knowsModel(b['model'])) return this.unknownModel(b['model']);
    const add = b['add_special_tokens'] === undefined ? true : b['add_special_tokens'] === true;
    return { status: 200, body: buildTokenizeResponse(toyTokenize(b['prompt'], add), this.maxModelLen) };
  }

  private render(body: unknown): Routed {
    const b = (body ?? {}) as Record<string, unknown>;
    if (!this.knowsModel(b['model'])) return this.unknownModel(b['model']);
    const p = b['prompt'];
    if (!Array.isArray(p) || p.length === 0 || !p.every((x) => typeof x === 'string')) {
      return { status: 400, body: buildErrorResponse('Either prompt or prompt_embeds must be provided and non-empty.', 400, 'BadRequestError', 'prompt') };
    }
    const add = b['add_special_tokens'] === undefined ? true : b['add_special_tokens'] === true;
    const maxTokens = b['max_tokens'] === undefined || b['max_tokens'] === null ? 16 : (b['max_tokens'] as number);
    const lists = (p as string[]).map((text) => {
      const ids = toyTokenize(text, add);
      return this.opts.renderSkew && ids.length > 0 ? [...ids.slice(0, -1), (ids[ids.length - 1] as number) + 1] : ids;
    });
    for (const ids of lists) {
      const refused = vllmRenderRefusal(ids.length, maxTokens, this.maxModelLen);
      if (refused) return { status: 400, body: buildErrorResponse(refused.message, 400, 'BadRequestError', refused.param) };
    }
    return { status: 200, body: buildRenderResponse(this.model, lists, maxTokens) };
  }

  private completions(body: unknown): Routed {
    const b = (body ?? {}) as Record<string, unknown>;
    if (!this.knowsModel(b['model'])) return this.unknownModel(b['model']);
    const bad = (message: string, param: string | null = null): Routed => ({ status: 400, body: buildErrorResponse(message, 400, 'BadRequestError', param) });
    const add = b['add_special_tokens'] === undefined ? true : b['add_special_tokens'] === true;
    const p = b['prompt'];
    let prompts: number[][];
    const isIdList = (x: unknown): x is number[] => Array.isArray(x) && x.length > 0 && x.every((y) => Number.isInteger(y) && (y as number) >= 0);
    if (typeof p === 'string') prompts = [toyTokenize(p, add)];
    else if (Array.isArray(p) && p.length > 0 && p.every((x) => typeof x === 'string')) prompts = (p as string[]).map((s) => toyTokenize(s, add));
    else if (isIdList(p)) prompts = [p];
    else if (Array.isArray(p) && p.length > 0 && p.every(isIdList)) prompts = p as number[][];
    else return bad('Either prompt or prompt_embeds must be provided and non-empty.', 'prompt');
    const maxPrompts = this.opts.maxPrompts ?? 1024;
    if (prompts.length > maxPrompts && !isIdList(p)) {
      return bad(
        `prompt list length ${prompts.length} exceeds the maximum allowed count of ${maxPrompts}. To increase this limit, set the VLLM_MAX_COMPLETION_PROMPTS environment variable.`,
        'prompt',
      );
    }
    const echo = b['echo'] === true;
    const maxTokens = b['max_tokens'] === undefined || b['max_tokens'] === null ? 16 : (b['max_tokens'] as number);
    const logprobs = typeof b['logprobs'] === 'number' ? b['logprobs'] : null;
    const promptLogprobs = typeof b['prompt_logprobs'] === 'number' ? b['prompt_logprobs'] : null;
    if (!echo && promptLogprobs === null && (logprobs === null || maxTokens > 1)) return this.sample(b, prompts, maxTokens);
    // vLLM V1's checks in vLLM's order (see the header of src/core/scoring/vllm/protocol.ts); any
    // refused prompt fails the whole request.
    const mml = this.maxModelLen;
    for (const ids of prompts) {
      const tooLong = vllmLengthRefusal(ids.length, maxTokens, echo, mml);
      if (tooLong) return bad(tooLong.message, tooLong.param);
      const refused = this.opts.rejectIf?.(ids);
      if (refused !== undefined) return bad(refused);
    }
    const scored: ScoredPrompt[] = prompts.map((ids) => ({
      tokenIds: ids,
      tokenTexts: ids.map(toyDecode),
      // vLLM detokenizes token-id prompts with skip_special_tokens=True for the echoed text
      promptText: ids.filter((t) => t !== TOY_BOS && t !== TOY_EOS).map(toyDecode).join(''),
      logprobs: toyLogprobs(ids),
      generated: { tokenId: TOY_EOS, text: '', logprob: -0.25 },
    }));
    const model = typeof b['model'] === 'string' ? b['model'] : this.model;
    return { status: 200, body: buildCompletionResponse({ model, echo, maxTokens, logprobs, promptLogprobs }, scored) };
  }

  /**
   * A generation request (`n`, `seed`, `temperature`, `top_p`, `max_tokens`, `stop`), answered in
   * vLLM's shape with {@link toySample}: choice p·n + j is sample j of prompt p, drawn with seed + j
   * as vLLM seeds its parallel samples. Length rules as vLLM's (prompt + max_tokens must fit).
   */
  private sample(b: Record<string, unknown>, prompts: number[][], maxTokens: number): Routed {
    const n = typeof b['n'] === 'number' ? b['n'] : 1;
    const seed = typeof b['seed'] === 'number' ? b['seed'] : undefined;
    const settings = {
      temperature: typeof b['temperature'] === 'number' ? b['temperature'] : 1,
      topP: typeof b['top_p'] === 'number' ? b['top_p'] : 1,
      maxTokens,
      stop: typeof b['stop'] === 'string' ? [b['stop']] : Array.isArray(b['stop']) ? (b['stop'] as string[]) : [],
    };
    for (const ids of prompts) {
      const tooLong = vllmLengthRefusal(ids.length, maxTokens, false, this.maxModelLen);
      if (tooLong) return { status: 400, body: buildErrorResponse(tooLong.message, 400, 'BadRequestError', tooLong.param) };
      const refused = this.opts.rejectIf?.(ids);
      if (refused !== undefined) return { status: 400, body: buildErrorResponse(refused, 400, 'BadRequestError') };
    }
    const choices: Record<string, unknown>[] = [];
    let completionTokens = 0;
    for (const ids of prompts) {
      for (let j = 0; j < n; j++) {
        const drawn = toySample(ids, seed === undefined ? this.unseeded++ : seed + j, settings);
        completionTokens += drawn.tokens;
        choices.push({ index: choices.length, text: drawn.text, logprobs: null, finish_reason: drawn.finishReason, stop_reason: drawn.stopReason, token_ids: null, prompt_logprobs: null, prompt_token_ids: null });
      }
    }
    const promptTokens = prompts.reduce((sum, ids) => sum + ids.length, 0);
    return {
      status: 200,
      body: {
        id: 'cmpl-fake',
        object: 'text_completion',
        created: 0,
        model: typeof b['model'] === 'string' ? b['model'] : this.model,
        choices,
        service_tier: null,
        system_fingerprint: null,
        usage: { prompt_tokens: promptTokens, total_tokens: promptTokens + completionTokens, completion_tokens: completionTokens, prompt_tokens_details: null },
        kv_transfer_params: null,
      },
    };
  }

  protected mutate(fault: Fault, out: unknown): unknown {
    const o = out as { choices: Record<string, unknown>[] };
    const c0 = o.choices[0] as Record<string, unknown>;
    const lp = c0['logprobs'] as { token_logprobs: unknown[]; tokens: unknown[] } | null;
    const pl = c0['prompt_logprobs'] as (Record<string, { logprob: unknown }> | null)[] | null;
    switch (fault.kind) {
      case 'missing-logprobs':
        c0['logprobs'] = null;
        c0['prompt_logprobs'] = null;
        break;
      case 'wrong-choices':
        o.choices.pop();
        break;
      case 'short-logprobs':
        lp?.token_logprobs.pop();
        lp?.tokens.pop();
        pl?.pop();
        break;
      case 'nan':
        if (lp && lp.token_logprobs.length > 1) lp.token_logprobs[1] = NAN_MARK;
        if (pl && pl.length > 1) for (const e of Object.values(pl[1] as object)) (e as { logprob: unknown }).logprob = NAN_MARK;
        break;
      case 'wrong-ids':
        if (pl && pl.length > 1) pl[1] = { '999999': { logprob: -1 } };
        break;
      default:
        break;
    }
    return out;
  }
}
