/**
 * The teacher: any OpenAI-compatible chat endpoint (OpenAI, Azure, vLLM, Ollama, `sift serve`)
 * through the `openai` package, with Sift's own policy around it:
 *
 * - The package's retries are off (`maxRetries: 0`); Sift retries 429, 408, 409, 5xx, timeouts and
 *   connection errors with exponential back-off and full jitter, and waits at least what a
 *   `retry-after-ms` or `Retry-After` header asks (capped). Any other 4xx is not retried.
 * - At most `concurrency` calls are on the wire at once; others wait in FIFO order.
 * - An AbortSignal stops a queued call, a request on the wire and a back-off sleep at once.
 * - The API key goes into the `Authorization` header only: it is never logged, and every message
 *   that can reach a user passes through `redact`. The package is given every option explicitly,
 *   so it reads no `OPENAI_*` variable of its own.
 * - Token usage is summed from each response's `usage`.
 */
import OpenAI, { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai';
import { displayUrl, redact } from '../scoring/http/errors';
import { abortReason, backoffDelayMs, parseRetryAfterMs, sleep, throwIfAborted } from '../scoring/http/retry';
import type { TokenUsage } from './types';

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

/** A `response_format` of type `json_schema` (OpenAI structured outputs). */
export interface JsonSchemaFormat {
  name: string;
  schema: Record<string, unknown>;
  strict: boolean;
}

export interface ChatRequest {
  messages: ChatMessage[];
  /** Ask for structured output; an endpoint without it answers 400 (see `TeacherError.status`). */
  jsonSchema?: JsonSchemaFormat;
  maxTokens?: number;
  temperature?: number;
  topP?: number;
}

export interface ChatReply {
  /** The assistant message's text ('' when there is none). */
  content: string;
  /** `stop`, `length` (cut at max_tokens), `content_filter`, ... */
  finishReason: string;
  /** Set when the model refused (structured outputs report refusals separately). */
  refusal?: string;
  usage: TokenUsage;
  /** HTTP attempts it took, retries included. */
  attempts: number;
}

/** What the reflection pipeline needs from a teacher; tests and editors may supply their own. */
export interface Teacher {
  /** The model name sent with every request; part of the reflection cache key. */
  readonly model: string;
  /** Where requests go, for messages (a display URL: no credentials). */
  readonly endpoint: string;
  chat(request: ChatRequest, signal?: AbortSignal): Promise<ChatReply>;
}

export type TeacherFailureKind = 'status' | 'connection' | 'timeout' | 'malformed';

/** A teacher call that failed for good; the message never contains the key. */
export class TeacherError extends Error {
  override name = 'TeacherError';
  constructor(
    message: string,
    readonly kind: TeacherFailureKind,
    readonly status?: number,
    /** Retries were attempted and all failed. */
    readonly exhausted = false,
  ) {
    super(message);
  }

  /** No later call can succeed either (wrong key, no access, unknown model or URL): stop the batch. */
  get fatal(): boolean {
    return this.status === 401 || this.status === 403 || this.status === 404;
  }
}

export type TeacherEvent =
  | { type: 'retry'; attempt: number; maxAttempts: number; kind: TeacherFailureKind; status?: number; message: string; delayMs: number }
  | { type: 'gave-up'; attempts: number; kind: TeacherFailureKind; status?: number; message: string };

export interface TeacherSettings {
  /** Base URL of the OpenAI-compatible API, e.g. `https://api.openai.com/v1` or `http://gpu:8000/v1`. */
  url: string;
  model: string;
  /** From the environment or the editor's secret storage; never from settings files. */
  apiKey?: string;
  /** Per-request timeout (default 120 s). */
  timeoutMs?: number;
  /** Retries after the first attempt (default 5). */
  retries?: number;
  /** Calls in flight at once (default 4). */
  concurrency?: number;
  /** Back-off base (default 1 s) and cap (default 60 s). */
  backoffBaseMs?: number;
  backoffCapMs?: number;
  /** Longest Retry-After honoured (default 120 s); longer values are clamped. */
  maxRetryAfterMs?: number;
  onEvent?: (event: TeacherEvent) => void;
  /** Random source for jitter (tests). */
  random?: () => number;
}

/** Usage summed over every successful call of a client. */
export interface TeacherUsage extends TokenUsage {
  calls: number;
  failedCalls: number;
}

/**
 * A base URL as the `openai` package wants it: a bare host gets `/v1` (the path every
 * OpenAI-compatible server uses); any other path is kept (Azure, proxies).
 */
export function teacherBaseUrl(url: string): string {
  const parsed = new URL(url);
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new TypeError(`teacher URL must be http(s): ${displayUrl(url)}`);
  const base = url.replace(/\/+$/, '');
  return parsed.pathname === '/' || parsed.pathname === '' ? `${base}/v1` : base;
}

export class TeacherClient implements Teacher {
  readonly model: string;
  readonly endpoint: string;
  readonly usage: TeacherUsage = { calls: 0, failedCalls: 0, promptTokens: 0, completionTokens: 0 };
  private readonly client: OpenAI;
  private readonly retries: number;
  private readonly timeoutMs: number;
  private readonly concurrency: number;
  private readonly backoffBaseMs: number;
  private readonly backoffCapMs: number;
  private readonly maxRetryAfterMs: number;
  private readonly random: () => number;
  private readonly secrets: (string | undefined)[];
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly settings: TeacherSettings) {
    const baseURL = teacherBaseUrl(settings.url);
    this.model = settings.model;
    this.endpoint = displayUrl(baseURL);
    this.retries = Math.max(0, settings.retries ?? 5);
    this.timeoutMs = settings.timeoutMs ?? 120_000;
    this.concurrency = Math.max(1, settings.concurrency ?? 4);
    this.backoffBaseMs = settings.backoffBaseMs ?? 1000;
    this.backoffCapMs = settings.backoffCapMs ?? 60_000;
    this.maxRetryAfterMs = settings.maxRetryAfterMs ?? 120_000;
    this.random = settings.random ?? Math.random;
    this.secrets = [settings.apiKey];
    const apiKey = settings.apiKey && settings.apiKey !== '' ? settings.apiKey : undefined;
    this.client = new OpenAI({
      baseURL,
      // The package insists on a key; a key-less local server gets a placeholder and no header.
      apiKey: apiKey ?? 'no-key',
      defaultHeaders: apiKey ? undefined : { Authorization: null },
      adminAPIKey: null,
      organization: null,
      project: null,
      webhookSecret: null,
      timeout: this.timeoutMs,
      maxRetries: 0,
      logLevel: 'off',
    });
  }

  async chat(request: ChatRequest, signal?: AbortSignal): Promise<ChatReply> {
    await this.acquire(signal);
    try {
      return await this.withRetries(request, signal);
    } finally {
      this.release();
    }
  }

  private async withRetries(request: ChatRequest, signal: AbortSignal | undefined): Promise<ChatReply> {
    const maxAttempts = this.retries + 1;
    for (let attempt = 1; ; attempt++) {
      throwIfAborted(signal);
      let failure: { kind: TeacherFailureKind; status?: number; message: string; retryable: boolean; retryAfterMs?: number };
      try {
        const reply = await this.once(request, signal);
        this.usage.calls++;
        this.usage.promptTokens += reply.usage.promptTokens;
        this.usage.completionTokens += reply.usage.completionTokens;
        return { ...reply, attempts: attempt };
      } catch (error) {
        if (signal?.aborted) throw abortReason(signal);
        failure = this.classify(error);
      }
      if (!failure.retryable || attempt >= maxAttempts) {
        this.usage.failedCalls++;
        if (failure.retryable) this.settings.onEvent?.({ type: 'gave-up', attempts: attempt, kind: failure.kind, status: failure.status, message: failure.message });
        const message = failure.retryable ? `${failure.message} (gave up after ${attempt} attempts)` : failure.message;
        throw new TeacherError(message, failure.kind, failure.status, failure.retryable);
      }
      const backoff = backoffDelayMs(attempt - 1, this.backoffBaseMs, this.backoffCapMs, this.random);
      const delayMs = Math.max(backoff, Math.min(failure.retryAfterMs ?? 0, this.maxRetryAfterMs));
      this.settings.onEvent?.({ type: 'retry', attempt, maxAttempts, kind: failure.kind, status: failure.status, message: failure.message, delayMs });
      await sleep(delayMs, signal);
    }
  }

  private async once(request: ChatRequest, signal: AbortSignal | undefined): Promise<Omit<ChatReply, 'attempts'>> {
    const body: OpenAI.Chat.ChatCompletionCreateParamsNonStreaming = {
      model: this.model,
      messages: request.messages,
    };
    if (request.maxTokens !== undefined) body.max_tokens = request.maxTokens;
    if (request.temperature !== undefined) body.temperature = request.temperature;
    if (request.topP !== undefined) body.top_p = request.topP;
    if (request.jsonSchema) {
      body.response_format = {
        type: 'json_schema',
        json_schema: { name: request.jsonSchema.name, strict: request.jsonSchema.strict, schema: request.jsonSchema.schema },
      };
    }
    const completion = await this.client.chat.completions.create(body, { signal, timeout: this.timeoutMs, maxRetries: 0 });
    const choice = (completion as Partial<OpenAI.Chat.ChatCompletion>).choices?.[0];
    if (!choice || typeof choice !== 'object' || !choice.message) throw new MalformedReplyError('the reply has no choices[0].message');
    const content = choice.message.content;
    if (content !== null && content !== undefined && typeof content !== 'string') throw new MalformedReplyError('choices[0].message.content is not a string');
    const usage = completion.usage;
    return {
      content: content ?? '',
      finishReason: typeof choice.finish_reason === 'string' ? choice.finish_reason : 'stop',
      refusal: typeof choice.message.refusal === 'string' && choice.message.refusal !== '' ? choice.message.refusal : undefined,
      usage: {
        promptTokens: finiteCount(usage?.prompt_tokens),
        completionTokens: finiteCount(usage?.completion_tokens),
      },
    };
  }

  private classify(error: unknown): { kind: TeacherFailureKind; status?: number; message: string; retryable: boolean; retryAfterMs?: number } {
    const clean = (text: string): string => redact(text, this.secrets);
    if (error instanceof MalformedReplyError) return { kind: 'malformed', message: clean(`malformed reply from ${this.endpoint}: ${error.message}`), retryable: true };
    if (error instanceof APIUserAbortError) return { kind: 'connection', message: 'aborted', retryable: false };
    if (error instanceof APIConnectionTimeoutError) {
      return { kind: 'timeout', message: `no reply from ${this.endpoint} within ${Math.round(this.timeoutMs / 1000)} s`, retryable: true };
    }
    if (error instanceof APIConnectionError) {
      return { kind: 'connection', message: clean(`cannot reach ${this.endpoint}: ${describeCause(error)}`), retryable: true };
    }
    if (error instanceof APIError && typeof error.status === 'number') {
      const status = error.status;
      const retryable = status === 408 || status === 409 || status === 429 || status >= 500;
      return {
        kind: 'status',
        status,
        message: clean(`${this.endpoint} answered ${status}: ${serverMessage(error)}`),
        retryable,
        retryAfterMs: retryAfter(error.headers),
      };
    }
    if (error instanceof SyntaxError) return { kind: 'malformed', message: clean(`malformed reply from ${this.endpoint}: ${error.message}`), retryable: true };
    const message = error instanceof Error ? error.message : String(error);
    return { kind: 'connection', message: clean(`teacher call to ${this.endpoint} failed: ${message}`), retryable: false };
  }

  private async acquire(signal: AbortSignal | undefined): Promise<void> {
    throwIfAborted(signal);
    if (this.active < this.concurrency) {
      this.active++;
      return;
    }
    await new Promise<void>((resolve, reject) => {
      const grant = (): void => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      const onAbort = (): void => {
        const i = this.waiting.indexOf(grant);
        if (i >= 0) this.waiting.splice(i, 1);
        reject(abortReason(signal));
      };
      this.waiting.push(grant);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  private release(): void {
    const next = this.waiting.shift();
    // The slot passes straight to the next waiter, so `active` stays the same.
    if (next) next();
    else this.active--;
  }
}

class MalformedReplyError extends Error {
  override name = 'MalformedReplyError';
}

function finiteCount(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : 0;
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
  const short = text.trim() === '' ? '(no message)' : text.trim();
  return short.length > 500 ? `${short.slice(0, 500)}…` : short;
}

function describeCause(error: APIConnectionError): string {
  const parts: string[] = [];
  let cur: unknown = (error as Error & { cause?: unknown }).cause;
  for (let depth = 0; depth < 4 && cur instanceof Error; depth++) {
    const code = (cur as Error & { code?: unknown }).code;
    parts.push(typeof code === 'string' ? `${cur.message} (${code})` : cur.message);
    cur = (cur as Error & { cause?: unknown }).cause;
  }
  return parts.length > 0 ? parts.join(': ') : error.message;
}
