/**
 * A fake text-generation-inference server: `/generate` (text in, prefill log-probs out),
 * `/tokenize` (tokens with byte offsets, special tokens included), `/info`, in TGI's shapes
 * (src/core/scoring/tgi/protocol.ts), with fault injection.
 *
 * Its toy tokenizer is the shared one (a token per code point, BOS first) plus one merge rule:
 * "ab" is a single token, so a text split as "…a" + "b…" tokenizes differently when joined — the
 * boundary case the TGI backend has to handle.
 */
import { buildGenerateResponse, buildInfo } from '../../src/core/scoring/tgi/protocol';
import { FakeHttpServer, NAN_MARK, TOY_BOS, toyDecode, toyLogprob, toySample, type FakeEngine, type Fault, type Routed } from './fake-server';

export * from './fake-server';

export const TGI_MERGED_AB = 0x110000 + 10;

export interface TgiToyToken {
  id: number;
  text: string;
  start: number;
  stop: number;
}

/** The fake's tokenizer: BOS (zero-width) + one token per code point, "ab" merged; byte offsets. */
export function tgiTokenize(text: string): TgiToyToken[] {
  const out: TgiToyToken[] = [{ id: TOY_BOS, text: '', start: 0, stop: 0 }];
  const chars = [...text];
  let byte = 0;
  for (let k = 0; k < chars.length; k++) {
    const ch = chars[k] as string;
    if (ch === 'a' && chars[k + 1] === 'b') {
      out.push({ id: TGI_MERGED_AB, text: 'ab', start: byte, stop: byte + 2 });
      byte += 2;
      k++;
      continue;
    }
    const len = Buffer.byteLength(ch, 'utf8');
    out.push({ id: (ch.codePointAt(0) as number) + 3, text: ch, start: byte, stop: byte + len });
    byte += len;
  }
  return out;
}

/**
 * The engine's tokenization of a text as TGI's /tokenize answers it: BOS (zero-width) first, then
 * each token with the byte span it covers in the text. A SentencePiece word-start token reads with
 * a space the text may not have at its start (the tokenizer's dummy prefix): that space covers no byte.
 */
async function engineTokenize(engine: FakeEngine, text: string): Promise<TgiToyToken[]> {
  const ids = await engine.tokenize(text);
  const texts = engine.tokenTexts(ids);
  const out: TgiToyToken[] = [{ id: engine.bosId, text: '', start: 0, stop: 0 }];
  let at = 0; // UTF-16 index in text
  let byte = 0;
  ids.forEach((id, k) => {
    let piece = texts[k] as string;
    if (!text.startsWith(piece, at) && piece.startsWith(' ') && text.startsWith(piece.slice(1), at)) piece = piece.slice(1);
    if (!text.startsWith(piece, at)) throw new Error(`token ${id} ("${piece}") does not read at offset ${at} of the text`);
    const length = Buffer.byteLength(piece, 'utf8');
    out.push({ id, text: piece, start: byte, stop: byte + length });
    at += piece.length;
    byte += length;
  });
  return out;
}

function tgiDecode(id: number): string {
  return id === TGI_MERGED_AB ? 'ab' : toyDecode(id);
}

export interface FakeTgiOptions {
  modelId?: string;
  modelSha?: string | null;
  maxInputTokens?: number;
  maxTotalTokens?: number;
  apiKey?: string;
  latencyMs?: number;
  /** Launched without --enable-prefill-logprobs: prefill comes back empty. */
  prefillLogprobs?: boolean;
  /** A real model instead of the toy one (its tokenizer, with BOS first, and its log-probs). */
  engine?: FakeEngine;
  /** Fault injection by content: an input for which this returns a message gets a 422 validation error with it. */
  rejectIf?: (inputs: string) => string | undefined;
}

export class FakeTgi extends FakeHttpServer {
  private constructor(private readonly opts: FakeTgiOptions) {
    super({ ...(opts.latencyMs !== undefined ? { latencyMs: opts.latencyMs } : {}), ...(opts.apiKey !== undefined ? { apiKey: opts.apiKey } : {}) });
  }

  static async start(opts: FakeTgiOptions = {}): Promise<FakeTgi> {
    const f = new FakeTgi(opts);
    await f.listen();
    return f;
  }

  // TGI's auth layer covers the inference routes; /info and / are outside it.
  protected guarded(path: string): boolean {
    return path !== '/info' && path !== '/';
  }

  protected errorBody(status: number, message: string): unknown {
    const type = status === 429 ? 'overloaded' : status === 422 ? 'validation' : status === 424 ? 'generation' : 'incomplete_generation';
    return { error: message, error_type: type };
  }

  private async tokenize(text: string): Promise<TgiToyToken[]> {
    return this.opts.engine ? engineTokenize(this.opts.engine, text) : tgiTokenize(text);
  }

  protected async route(method: string, path: string, body: unknown): Promise<Routed> {
    const engine = this.opts.engine;
    const maxInput = this.opts.maxInputTokens ?? (engine ? engine.maxContext - 1 : 1024);
    const maxTotal = this.opts.maxTotalTokens ?? (engine ? engine.maxContext : 2048);
    if (method === 'GET' && path === '/info') {
      return { status: 200, body: buildInfo(this.opts.modelId ?? 'toy/model', maxInput, maxTotal, this.opts.modelSha ?? null) };
    }
    const b = (body ?? {}) as Record<string, unknown>;
    if (method === 'POST' && (path === '/tokenize' || path === '/generate') && typeof b['inputs'] !== 'string') {
      return { status: 422, body: { error: 'Failed to deserialize the JSON body into the target type: missing field `inputs`', error_type: 'validation' } };
    }
    if (method === 'POST' && path === '/tokenize') return { status: 200, body: await this.tokenize(b['inputs'] as string) };
    if (method === 'POST' && path === '/generate') {
      const params = (b['parameters'] ?? {}) as Record<string, unknown>;
      const maxNew = typeof params['max_new_tokens'] === 'number' ? params['max_new_tokens'] : 20;
      if (maxNew === 0) return { status: 422, body: { error: 'Input validation error: `max_new_tokens` must be strictly positive', error_type: 'validation' } };
      const refused = this.opts.rejectIf?.(b['inputs'] as string);
      if (refused !== undefined) return { status: 422, body: { error: `Input validation error: ${refused}`, error_type: 'validation' } };
      const tokens = await this.tokenize(b['inputs'] as string);
      if (tokens.length > maxInput) {
        return { status: 422, body: { error: `Input validation error: \`inputs\` must have less than ${maxInput} tokens. Given: ${tokens.length}`, error_type: 'validation' } };
      }
      if (tokens.length + maxNew > maxTotal) {
        return {
          status: 422,
          body: { error: `Input validation error: \`inputs\` tokens + \`max_new_tokens\` must be <= ${maxTotal}. Given: ${tokens.length} \`inputs\` tokens and ${maxNew} \`max_new_tokens\``, error_type: 'validation' },
        };
      }
      if (params['seed'] !== undefined && params['decoder_input_details'] !== true) {
        // A sampled generation: the toy sample of its seed, with the stop sequence left in the
        // text, as TGI does (router's StopSequenceCriteria; finish_reason "stop_sequence").
        const temperature = params['do_sample'] === true ? ((params['temperature'] as number) ?? 1) : 0;
        const drawn = toySample(tokens.map((t) => t.id), params['seed'] as number, { temperature, topP: (params['top_p'] as number) ?? 1, maxTokens: maxNew, stop: [] });
        const stops = (params['stop'] as string[]) ?? [];
        const hit = stops.map((stop) => ({ stop, at: drawn.text.indexOf(stop) })).filter((h) => h.at >= 0).sort((x, y) => x.at - y.at)[0];
        const text = hit ? drawn.text.slice(0, hit.at + hit.stop.length) : drawn.text;
        const reason = hit ? 'stop_sequence' : drawn.finishReason === 'length' ? 'length' : 'eos_token';
        return { status: 200, body: { generated_text: text, details: { finish_reason: reason, generated_tokens: text.length, seed: params['seed'], prefill: [], tokens: [] } } };
      }
      const withPrefill = params['decoder_input_details'] === true && this.opts.prefillLogprobs !== false;
      let prefill: { id: number; text: string; logprob: number | null }[] = [];
      if (withPrefill && engine) {
        const ids = tokens.map((t) => t.id);
        const lp = await engine.logprobs(ids);
        const texts = engine.tokenTexts(ids);
        prefill = tokens.map((t, j) => ({ id: t.id, text: texts[j] as string, logprob: j === 0 ? null : (lp[j - 1] as number) }));
      } else if (withPrefill) {
        prefill = tokens.map((t, j) => ({ id: t.id, text: tgiDecode(t.id), logprob: j === 0 ? null : toyLogprob((tokens[j - 1] as TgiToyToken).id, t.id) }));
      }
      return { status: 200, body: buildGenerateResponse(prefill, { id: 2, text: '</s>', logprob: -0.3, special: true }) };
    }
    return { status: 404, body: { error: 'Not Found', error_type: 'not_found' } };
  }

  protected mutate(fault: Fault, out: unknown): unknown {
    const prefill = (out as { details: { prefill: { id: number; logprob: unknown }[] } }).details.prefill;
    switch (fault.kind) {
      case 'missing-logprobs':
        delete (out as { details?: unknown }).details;
        break;
      case 'short-logprobs':
        prefill.pop();
        break;
      case 'nan':
        if (prefill.length > 1) (prefill[1] as { logprob: unknown }).logprob = NAN_MARK;
        break;
      case 'wrong-ids':
        if (prefill.length > 1) (prefill[1] as { id: number }).id = 999_999;
        break;
      default:
        break;
    }
    return out;
  }
}
