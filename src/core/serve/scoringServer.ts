import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tokenizeChat } from './chatTokenize';
import { buildCompletionResponse, buildErrorResponse, buildModelList, buildRenderResponse, buildTokenizeResponse, type ScoredPrompt } from './vllmResponses';
import { vllmLengthRefusal, vllmRenderRefusal } from './vllmRefusals';
import type { GreedyNext } from '../scoring/local/sequenceLogprobs';
import type { TokenScorer } from '../scoring/types';
import { chatCompletion } from './chatCompletions';
import { HttpError } from './httpError';
import type { ChatEngine } from './localChat';
import { ApiKeyCheck, hostRefusal, WorkLimiter } from './requestGuards';
import { buildSampledCompletionResponse, generateCompletions, samplingParameters, type CompletionGenerator } from './sampledCompletions';

/** What `sift serve` needs from an engine: scoring plus the text of each token for echo responses. */
export interface ServableScorer extends TokenScorer {
  tokenText(ids: number[]): string[];
  /** Log-probs and the greedy token after each sequence (a request's one generated token). */
  logprobsAndNext(sequences: number[][], signal?: AbortSignal): Promise<{ lp: Float64Array; next: GreedyNext }[]>;
  /** Why `ids` cannot be evaluated (an id outside the vocabulary), or undefined. */
  unknownToken(ids: readonly number[]): string | undefined;
}

export interface ScoringServerOptions {
  scorer: ServableScorer;
  servedModel: string;
  host: string;
  port: number;
  /** Generation for `POST /v1/chat/completions` (a local teacher); without one that route answers 404. */
  chat?: ChatEngine;
  /**
   * Sampling for `POST /v1/completions` requests that generate (`n`, `seed`, `temperature`...: a
   * student writing solutions) and for `POST /detokenize`; without one such requests get a 400.
   */
  generator?: CompletionGenerator;
  /** Largest request body accepted, bytes (default 64 MiB). */
  maxBodyBytes?: number;
  /** Bearer tokens a request must carry (vLLM's `--api-key`); none: no authentication. */
  apiKeys?: readonly string[];
  /** Host names accepted besides the bound address (see requestGuards.ts); `*` accepts any. */
  allowHosts?: readonly string[];
  /** Requests evaluated at once (default 2) and waiting beyond those (default 64); more get a 503. */
  maxActiveRequests?: number;
  maxQueuedRequests?: number;
  /** Largest total length of the text prompts of one request, characters (default 1,000,000). */
  maxPromptChars?: number;
  log?: (line: string) => void;
}

export interface RunningServer {
  url: string;
  apiKeyRequired: boolean;
  close(): Promise<void>;
}

/**
 * The local engine behind the subset of vLLM's OpenAI-compatible API that scoring uses:
 * GET /v1/models, POST /tokenize, POST /v1/completions/render, POST /v1/completions with echo + logprobs + max_tokens 0 (or
 * prompt_logprobs), text or token-id prompts, lists of prompts, and `usage`. With a `generator`,
 * /v1/completions without echo and log-probs generates (`n`, `seed`, `temperature`, `top_p`,
 * `max_tokens`, `stop`: see sampledCompletions.ts) and POST /detokenize answers. Responses are built by
 * the same functions that mirror vLLM's shapes (vllmResponses.ts, vllmRefusals.ts), so a client that speaks
 * to vLLM speaks to this, and the numbers are the local backend's numbers.
 *
 * With a `chat` engine it also answers POST /v1/chat/completions in OpenAI's shape (see
 * chatCompletions.ts), so the model can act as a local teacher. A request whose client disconnects
 * is aborted, so an abandoned generation does not hold the engine.
 */
export async function startScoringServer(options: ScoringServerOptions): Promise<RunningServer> {
  const { scorer, servedModel } = options;
  const maxBody = options.maxBodyBytes ?? 64 * 1024 * 1024;
  const maxPromptChars = options.maxPromptChars ?? 1_000_000;
  const routes: Record<string, (body: unknown, signal: AbortSignal) => Promise<unknown>> = {
    'GET /v1/models': async () => buildModelList(servedModel, scorer.maxContext, { root: servedModel }),
    'GET /health': async () => ({}),
    'POST /tokenize': async (body) => tokenize(scorer, servedModel, body),
    'POST /v1/completions': async (body, signal) => complete(scorer, servedModel, body, maxPromptChars, options.generator, signal),
    'POST /v1/completions/render': async (body) => render(scorer, servedModel, body, maxPromptChars),
    'POST /detokenize': async (body) => detokenize(scorer, servedModel, body, options.generator),
    'POST /v1/chat/completions': async (body, signal) => {
      if (!options.chat) throw new HttpError(404, 'chat completions are not enabled on this server');
      return chatCompletion(options.chat, servedModel, body, signal);
    },
  };
  // Listing the model and the health check are cheap and must answer while the engine is busy.
  const unlimited = new Set(['GET /v1/models', 'GET /health']);
  const apiKey = new ApiKeyCheck(options.apiKeys ?? []);
  const limiter = new WorkLimiter(options.maxActiveRequests ?? 2, options.maxQueuedRequests ?? 64);
  const server: Server = createServer((request, response) => {
    // Everything a request can throw is answered here: no request may end the server.
    try {
      handle(request, response);
    } catch (error) {
      options.log?.(`error: ${error instanceof Error ? error.message : String(error)}`);
      if (!response.headersSent) send(response, 500, buildErrorResponse('internal error', 500));
    }
  });
  const handle = (request: IncomingMessage, response: ServerResponse): void => {
    let path: string;
    try {
      path = new URL(request.url ?? '/', 'http://x').pathname;
    } catch {
      send(response, 400, buildErrorResponse('the request target is not a valid path', 400));
      return;
    }
    const { address, port } = server.address() as AddressInfo;
    const refusal = hostRefusal(request.headers.host, request.headers.origin, { requested: options.host, address, port }, { extraHosts: options.allowHosts ?? [] });
    if (refusal) {
      send(response, 403, buildErrorResponse(refusal, 403, 'PermissionDeniedError'));
      return;
    }
    if (path !== '/health' && !apiKey.accepts(request.headers.authorization)) {
      send(response, 401, { error: 'Unauthorized' });
      return;
    }
    const name = `${request.method} ${path}`;
    const route = routes[name];
    if (!route) {
      send(response, 404, buildErrorResponse(`no route ${request.method} ${path}`, 404));
      return;
    }
    const aborted = new AbortController();
    response.on('close', () => {
      if (!response.writableFinished) aborted.abort();
    });
    const entered = unlimited.has(name) ? Promise.resolve(() => {}) : limiter.tryEnter(aborted.signal);
    if (!entered) {
      request.resume();
      send(response, 503, buildErrorResponse('the server is busy: too many requests are waiting; retry later', 503, 'ServiceUnavailableError'), { 'retry-after': '1' });
      return;
    }
    let release = (): void => {};
    entered
      .then((leave) => {
        release = leave;
        return readJson(request, maxBody);
      })
      .then((body) => route(body, aborted.signal))
      .then((result) => send(response, 200, result))
      .catch((error: unknown) => {
        const status = error instanceof HttpError ? error.status : 500;
        const message = error instanceof Error ? error.message : String(error);
        if (status >= 500) options.log?.(`error: ${message}`);
        if (aborted.signal.aborted) return;
        send(response, status, buildErrorResponse(message, status, error instanceof HttpError ? error.type : undefined, error instanceof HttpError ? error.param ?? null : null));
      })
      .finally(() => release());
  };
  // Clients pool connections (fetch does); a server that drops idle sockets after Node's default 5 s
  // races with a request sent on one, which fails a non-idempotent POST. Keep idle sockets longer.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}`,
    apiKeyRequired: apiKey.enabled,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}

function send(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  response.end(text);
}

async function readJson(request: IncomingMessage, maxBody: number): Promise<unknown> {
  if (request.method === 'GET') return undefined;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBody) throw new HttpError(413, `request body over ${maxBody} bytes`);
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new HttpError(400, 'request body is not valid JSON');
  }
}

function object(body: unknown): Record<string, unknown> {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new HttpError(400, 'request body must be a JSON object');
  return body as Record<string, unknown>;
}

function checkModel(request: Record<string, unknown>, servedModel: string): void {
  if (request.model !== undefined && request.model !== null && request.model !== servedModel) {
    throw new HttpError(404, `The model \`${String(request.model)}\` does not exist.`, 'NotFoundError');
  }
}

async function encode(scorer: TokenScorer, text: string, addSpecialTokens: boolean): Promise<number[]> {
  const [ids] = await scorer.tokenize([text]);
  return addSpecialTokens && scorer.bosId !== undefined ? [scorer.bosId, ...ids] : ids;
}

async function tokenize(scorer: TokenScorer, servedModel: string, body: unknown): Promise<unknown> {
  const request = object(body);
  checkModel(request, servedModel);
  if (request.messages !== undefined) return buildTokenizeResponse(await tokenizeChat(scorer, request), scorer.maxContext);
  if (typeof request.prompt !== 'string') throw new HttpError(400, 'prompt must be a string');
  const ids = await encode(scorer, request.prompt, request.add_special_tokens !== false);
  return buildTokenizeResponse(ids, scorer.maxContext);
}

function isIdList(value: unknown): value is number[] {
  return Array.isArray(value) && value.every((x) => Number.isInteger(x) && (x as number) >= 0);
}

type PromptList = { texts: string[] } | { ids: number[][] };

/** vLLM accepts str | list[str] | list[int] | list[list[int]]. */
function promptList(prompt: unknown): PromptList {
  if (typeof prompt === 'string') return { texts: [prompt] };
  if (isIdList(prompt) && prompt.length > 0) return { ids: [prompt] };
  if (Array.isArray(prompt) && prompt.length > 0) {
    if (prompt.every((p) => typeof p === 'string')) return { texts: prompt as string[] };
    if (prompt.every((p) => isIdList(p) && p.length > 0)) return { ids: prompt as number[][] };
  }
  throw new HttpError(400, 'prompt must be a string, a list of strings, a list of token ids or a list of token-id lists (none empty)');
}

/** The request's prompts, with the total text a request may make the server tokenize bounded. */
function checkedPromptList(request: Record<string, unknown>, maxPromptChars: number): PromptList {
  const list = promptList(request.prompt);
  if ('texts' in list) {
    // Tokenizing is work too: a request cannot make the server tokenize an unbounded amount of text.
    const chars = list.texts.reduce((sum, text) => sum + text.length, 0);
    if (chars > maxPromptChars) throw new HttpError(400, `the prompts hold ${chars} characters; sift serve accepts at most ${maxPromptChars} per request`, 'BadRequestError', 'prompt');
  }
  return list;
}

/** Token ids of every prompt: text prompts tokenized (with BOS unless `add_special_tokens: false`), id prompts checked. */
async function promptIds(scorer: ServableScorer, request: Record<string, unknown>, maxPromptChars: number): Promise<number[][]> {
  const list = checkedPromptList(request, maxPromptChars);
  const addSpecialTokens = request.add_special_tokens !== false;
  const prompts = 'texts' in list ? await Promise.all(list.texts.map((text) => encode(scorer, text, addSpecialTokens))) : list.ids;
  prompts.forEach((ids, i) => {
    const unknown = scorer.unknownToken(ids);
    if (unknown) throw new HttpError(400, prompts.length > 1 ? `prompt ${i}: ${unknown}` : unknown);
  });
  return prompts;
}

/**
 * `POST /detokenize` as vLLM answers it (`DetokenizeRequest {model, tokens}` -> `DetokenizeResponse
 * {prompt}`, vllm/entrypoints/openai/protocol.py): the text of the ids, special tokens as text
 * (`tokenizer.decode` without skip_special_tokens). Sift's sampler reads a rendered chat prompt back with it.
 */
async function detokenize(scorer: ServableScorer, servedModel: string, body: unknown, generator: CompletionGenerator | undefined): Promise<unknown> {
  const request = object(body);
  checkModel(request, servedModel);
  if (!generator) throw new HttpError(404, 'detokenize is not enabled on this server');
  if (!isIdList(request.tokens)) throw new HttpError(400, 'tokens must be a list of token ids', 'BadRequestError', 'tokens');
  // llama.cpp's detokenizer aborts the process on an id outside the vocabulary.
  const unknown = scorer.unknownToken(request.tokens);
  if (unknown) throw new HttpError(400, unknown, 'BadRequestError', 'tokens');
  return { prompt: await generator.detokenize(request.tokens) };
}

function optionalCount(value: unknown, name: string): number | null {
  if (value === undefined || value === null) return null;
  if (!Number.isInteger(value) || (value as number) < -1) throw new HttpError(400, `${name} must be an integer >= -1`);
  return value as number;
}

/** A request that scores its prompt (echo, prompt log-probs, or one token with its log-prob) rather than generating. */
function isScoringRequest(request: Record<string, unknown>): boolean {
  const maxTokens = request.max_tokens ?? 16;
  const present = (v: unknown): boolean => v !== undefined && v !== null;
  return request.echo === true || present(request.prompt_logprobs) || (present(request.logprobs) && typeof maxTokens === 'number' && maxTokens <= 1);
}

/**
 * `/v1/completions/render`: the prompts tokenized as /v1/completions would run them, not run
 * (vLLM's answer and refusals: see vllmRenderRefusal and buildRenderResponse).
 */
async function render(scorer: ServableScorer, servedModel: string, body: unknown, maxPromptChars: number): Promise<unknown> {
  const request = object(body);
  checkModel(request, servedModel);
  const maxTokens = request.max_tokens === undefined || request.max_tokens === null ? 16 : request.max_tokens;
  if (typeof maxTokens !== 'number' || !Number.isInteger(maxTokens) || maxTokens < 0) throw new HttpError(400, 'max_tokens must be a non-negative integer');
  const list = checkedPromptList(request, maxPromptChars);
  const addSpecialTokens = request.add_special_tokens !== false;
  const prompts = 'texts' in list ? await Promise.all(list.texts.map((text) => encode(scorer, text, addSpecialTokens))) : list.ids;
  for (const ids of prompts) {
    const refused = vllmRenderRefusal(ids.length, maxTokens, scorer.maxContext);
    if (refused) throw new HttpError(400, refused.message, 'BadRequestError', refused.param ?? undefined);
  }
  return buildRenderResponse(servedModel, prompts, maxTokens);
}

async function complete(scorer: ServableScorer, servedModel: string, body: unknown, maxPromptChars: number, generator: CompletionGenerator | undefined, signal: AbortSignal): Promise<unknown> {
  const request = object(body);
  checkModel(request, servedModel);
  if (request.stream === true) throw new HttpError(400, 'streaming is not supported by sift serve');
  if (!isScoringRequest(request)) {
    if (!generator) throw new HttpError(400, 'generation is not enabled on this server');
    const params = samplingParameters(request);
    const prompts = await promptIds(scorer, request, maxPromptChars);
    const choices = await generateCompletions(generator, prompts, params, signal);
    return buildSampledCompletionResponse(servedModel, prompts.map((ids) => ids.length), choices);
  }
  if (request.n !== undefined && request.n !== 1) throw new HttpError(400, 'sift serve supports n = 1 only when scoring prompts');
  const echo = request.echo === true;
  const maxTokens = request.max_tokens === undefined || request.max_tokens === null ? 16 : request.max_tokens;
  if (typeof maxTokens !== 'number' || !Number.isInteger(maxTokens) || maxTokens < 0) throw new HttpError(400, 'max_tokens must be a non-negative integer');
  // Scoring is echo with max_tokens 0, or one generated (greedy) token after each prompt, as the
  // prompt_logprobs mode asks. vLLM itself rejects max_tokens 0 without echo.
  if (maxTokens > 1 || (maxTokens === 0 && !echo)) {
    throw new HttpError(400, 'sift serve scores prompts with echo: true and max_tokens: 0, or max_tokens: 1 (with logprobs and/or prompt_logprobs); it generates longer completions without echo and log-probs');
  }
  const logprobs = optionalCount(request.logprobs, 'logprobs');
  const promptLogprobs = optionalCount(request.prompt_logprobs, 'prompt_logprobs');
  const list = checkedPromptList(request, maxPromptChars);
  const addSpecialTokens = request.add_special_tokens !== false;
  const count = 'texts' in list ? list.texts.length : list.ids.length;
  const prompts: number[][] = [];
  for (let i = 0; i < count; i++) {
    // Each prompt is checked as soon as it has ids, so a long list stops at its first refused prompt.
    const ids = 'texts' in list ? await encode(scorer, list.texts[i], addSpecialTokens) : list.ids[i];
    // Refused before anything is evaluated: vLLM answers an unknown id with a 400 too.
    const unknown = scorer.unknownToken(ids);
    if (unknown) throw new HttpError(400, count > 1 ? `prompt ${i}: ${unknown}` : unknown);
    // vLLM V1's rules and messages: even echo with max_tokens 0 runs one generated token, so a
    // prompt must leave room for it. A client tested against sift serve is tested against them.
    const tooLong = vllmLengthRefusal(ids.length, maxTokens, echo, scorer.maxContext);
    if (tooLong) throw new HttpError(400, tooLong.message, 'BadRequestError', tooLong.param ?? undefined);
    prompts.push(ids);
  }
  const scored: ScoredPrompt[] = [];
  if (maxTokens === 0) {
    const lps = await scorer.logprobs(prompts);
    prompts.forEach((ids, i) => scored.push({ tokenIds: ids, tokenTexts: scorer.tokenText(ids), logprobs: lps[i] }));
  } else {
    const results = await scorer.logprobsAndNext(prompts);
    prompts.forEach((ids, i) => {
      const { lp, next } = results[i];
      const [text] = scorer.tokenText([...ids, next.token]).slice(-1);
      scored.push({ tokenIds: ids, tokenTexts: scorer.tokenText(ids), logprobs: lp, generated: { tokenId: next.token, text, logprob: next.logprob } });
    });
  }
  return buildCompletionResponse({ model: servedModel, echo, maxTokens, logprobs, promptLogprobs }, scored);
}
