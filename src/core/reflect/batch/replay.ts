/**
 * The teacher a record's pipeline talks to while its requests go through the Batch API: it
 * answers each chat request with what a batch returned for exactly that request (the same body,
 * so the same content address), and otherwise stops the record with `AwaitingBatch`, which says
 * what to submit. The record's pipeline is the synchronous one, unchanged: only the teacher differs.
 */
import { TeacherError, chatCompletionBody, type ChatReply, type ChatRequest, type Teacher } from '../teacher';
import type { ReflectionKind } from '../types';
import { requestKey, type BatchAnswer } from './wire';

/** A request no batch has answered yet: the record waits for the next batch. */
export class AwaitingBatch extends Error {
  override name = 'AwaitingBatch';
  constructor(
    /** The request body, as a batch input line carries it. */
    readonly body: unknown,
    readonly key: string,
    readonly n: number,
    readonly kind: ReflectionKind,
  ) {
    super('waiting for a teacher batch');
  }
}

/** Every answer the batches of a run returned, by request and repeat number, in submission order. */
export class BatchAnswerBook {
  private readonly byRequest = new Map<string, BatchAnswer[]>();

  add(origin: { key: string; n: number }, answer: BatchAnswer): void {
    const id = `${origin.key}#${origin.n}`;
    const list = this.byRequest.get(id);
    if (list) list.push(answer);
    else this.byRequest.set(id, [answer]);
  }

  attempts(key: string, n: number): readonly BatchAnswer[] {
    return this.byRequest.get(`${key}#${n}`) ?? [];
  }
}

export interface ReplayTeacherOptions {
  model: string;
  endpoint: string;
  book: BatchAnswerBook;
  /** Batch attempts a request gets before its failure is the record's (default 3). */
  maxAttempts: number;
  /** Asks a request whose batch attempt failed (and may work again) synchronously instead of in another batch. */
  fallback?: Teacher;
}

/** One record's teacher: a repeated request (an unusable output asked again) is its own request. */
export class ReplayTeacher implements Teacher {
  readonly model: string;
  readonly endpoint: string;
  /** The stage the pipeline is in, for the request ids. */
  kind: ReflectionKind = 'instruction';
  private readonly asked = new Map<string, number>();

  constructor(private readonly options: ReplayTeacherOptions) {
    this.model = options.model;
    this.endpoint = options.endpoint;
  }

  async chat(request: ChatRequest, signal?: AbortSignal): Promise<ChatReply> {
    const body = chatCompletionBody(this.model, request);
    const key = requestKey(body);
    const n = (this.asked.get(key) ?? 0) + 1;
    this.asked.set(key, n);
    const attempts = this.options.book.attempts(key, n);
    const answered = attempts.find((a) => a.ok);
    if (answered?.ok) return { ...answered.reply, attempts: attempts.indexOf(answered) + 1 };
    const last = attempts.at(-1);
    if (!last || last.ok) throw new AwaitingBatch(body, key, n, this.kind);
    if (last.retryable) {
      if (this.options.fallback) return this.options.fallback.chat(request, signal);
      if (attempts.length < this.options.maxAttempts) throw new AwaitingBatch(body, key, n, this.kind);
    }
    const tries = attempts.length > 1 ? ` (${attempts.length} batch attempts)` : '';
    throw new TeacherError(`teacher batch: ${last.message}${tries}`, last.status === undefined ? 'connection' : 'status', last.status, attempts.length > 1);
  }
}
