/**
 * The teacher: any OpenAI-compatible chat endpoint (OpenAI, Azure, vLLM, Ollama, `sift serve`)
 * through the `openai` package, with the network policy of `core/net` around it:
 *
 * - The package's retries are off (`maxRetries: 0`); the one retry loop of `core/net/retry.ts`
 *   retries 429, 408, 409, 5xx, timeouts and connection errors with exponential back-off and full
 *   jitter, and waits at least what a `retry-after-ms` or `Retry-After` header asks (capped). Any
 *   other 4xx is not retried.
 * - Every attempt goes through `core/net/fetchText.ts` (given to the package as its `fetch`): one
 *   deadline covering the whole response, and the response size limit.
 * - At most `concurrency` calls are on the wire at once; others wait in FIFO order.
 * - An AbortSignal stops a queued call, a request on the wire and a back-off sleep at once.
 * - The API key goes into the `Authorization` header only: it is never logged, and every message
 *   that can reach a user passes through `redact`. The package is given every option explicitly,
 *   so it reads no `OPENAI_*` variable of its own.
 * - Token usage is summed from each response's `usage`.
 */
import type OpenAI from 'openai';
import type { Failure, FailureKind } from '../net/errors';
import { MAX_RESPONSE_BYTES } from '../net/fetchText';
import { displayUrl } from '../net/redact';
import { abortReason, retrying, throwIfAborted, type RetryPolicy } from '../net/retry';
import { Semaphore } from '../net/semaphore';
import { MalformedReplyError, classifyOpenAIError, openaiClient, withCallSignal } from './openaiClient';
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

export type TeacherFailureKind = FailureKind;

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
  /** Largest reply read (default MAX_RESPONSE_BYTES, 64 MiB); a larger one fails the call. */
  maxResponseBytes?: number;
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
  private readonly policy: RetryPolicy;
  private readonly timeoutMs: number;
  private readonly slots: Semaphore;
  private readonly secrets: (string | undefined)[];

  constructor(private readonly settings: TeacherSettings) {
    const baseURL = teacherBaseUrl(settings.url);
    this.model = settings.model;
    this.endpoint = displayUrl(baseURL);
    this.policy = {
      retries: Math.max(0, settings.retries ?? 5),
      backoffBaseMs: settings.backoffBaseMs ?? 1000,
      backoffCapMs: settings.backoffCapMs ?? 60_000,
      maxRetryAfterMs: settings.maxRetryAfterMs ?? 120_000,
      random: settings.random ?? Math.random,
    };
    this.timeoutMs = settings.timeoutMs ?? 120_000;
    this.slots = new Semaphore(Math.max(1, settings.concurrency ?? 4));
    this.secrets = [settings.apiKey];
    this.client = openaiClient({ baseURL, apiKey: settings.apiKey, timeoutMs: this.timeoutMs, maxBytes: settings.maxResponseBytes ?? MAX_RESPONSE_BYTES });
  }

  chat(request: ChatRequest, signal?: AbortSignal): Promise<ChatReply> {
    return this.slots.run(() => this.withRetries(request, signal), signal);
  }

  private async withRetries(request: ChatRequest, signal: AbortSignal | undefined): Promise<ChatReply> {
    const { value: reply, attempts } = await retrying<Omit<ChatReply, 'attempts'>>({
      policy: this.policy,
      signals: [signal, undefined],
      attempt: async () => {
        throwIfAborted(signal);
        try {
          return { ok: true, value: await this.once(request, signal) };
        } catch (error) {
          if (signal?.aborted) throw abortReason(signal);
          return { ok: false, ...this.classify(error) };
        }
      },
      onRetry: (failure, attempt, maxAttempts, delayMs) => {
        this.settings.onEvent?.({ type: 'retry', attempt, maxAttempts, kind: failure.kind, status: failure.status, message: failure.message, delayMs });
      },
      fail: (failure, attempts, exhausted) => {
        this.usage.failedCalls++;
        if (exhausted) this.settings.onEvent?.({ type: 'gave-up', attempts, kind: failure.kind, status: failure.status, message: failure.message });
        const message = exhausted ? `${failure.message} (gave up after ${attempts} attempts)` : failure.message;
        return new TeacherError(message, failure.kind, failure.status, exhausted);
      },
    });
    this.usage.calls++;
    this.usage.promptTokens += reply.usage.promptTokens;
    this.usage.completionTokens += reply.usage.completionTokens;
    return { ...reply, attempts };
  }

  private async once(request: ChatRequest, signal: AbortSignal | undefined): Promise<Omit<ChatReply, 'attempts'>> {
    const completion = await withCallSignal(signal, (s) => this.client.chat.completions.create(chatCompletionBody(this.model, request), { signal: s, maxRetries: 0 }));
    return replyFromCompletion(completion);
  }

  private classify(error: unknown): Failure {
    return classifyOpenAIError(error, this.endpoint, this.timeoutMs, this.secrets);
  }
}

/**
 * The body of one chat completion request: what `TeacherClient` posts, and what a Batch API input
 * line carries as its `body` (the same request, answered later at about half the price).
 */
export function chatCompletionBody(model: string, request: ChatRequest): OpenAI.Chat.ChatCompletionCreateParamsNonStreaming {
  const body: OpenAI.Chat.ChatCompletionCreateParamsNonStreaming = { model, messages: request.messages };
  if (request.maxTokens !== undefined) body.max_tokens = request.maxTokens;
  if (request.temperature !== undefined) body.temperature = request.temperature;
  if (request.topP !== undefined) body.top_p = request.topP;
  if (request.jsonSchema) {
    body.response_format = {
      type: 'json_schema',
      json_schema: { name: request.jsonSchema.name, strict: request.jsonSchema.strict, schema: request.jsonSchema.schema },
    };
  }
  return body;
}

/**
 * A chat completion (a reply, or a Batch API output line's `response.body`) as a `ChatReply`;
 * throws `MalformedReplyError` when it has no usable message.
 */
export function replyFromCompletion(completion: unknown): Omit<ChatReply, 'attempts'> {
  const choice = (completion as Partial<OpenAI.Chat.ChatCompletion> | null)?.choices?.[0];
  if (!choice || typeof choice !== 'object' || !choice.message) throw new MalformedReplyError('the reply has no choices[0].message');
  const content = choice.message.content;
  if (content !== null && content !== undefined && typeof content !== 'string') throw new MalformedReplyError('choices[0].message.content is not a string');
  const usage = (completion as Partial<OpenAI.Chat.ChatCompletion>).usage;
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

function finiteCount(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : 0;
}
