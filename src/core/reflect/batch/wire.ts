/**
 * The Batch API's file formats and Sift's request ids, with no I/O.
 *
 * The protocol, as the `openai` package (6.49.0) describes it in `resources/batches.d.ts`
 * (`BatchCreateParams`: "Your input file must be formatted as a JSONL file … The file can contain
 * up to 50,000 requests, and can be up to 200 MB in size"; `Batch.output_file_id`: "the outputs of
 * successfully executed requests"; `Batch.error_file_id`: "the outputs of requests with errors")
 * and OpenAI's API reference for the lines themselves (the package has no type for them):
 *
 *   input line:  {"custom_id": "…", "method": "POST", "url": "/v1/chat/completions", "body": {…}}
 *   output line: {"id": "batch_req_…", "custom_id": "…",
 *                 "response": {"status_code": 200, "request_id": "…", "body": {chat completion}} | null,
 *                 "error": {"code": "…", "message": "…"} | null}
 *
 * A request the server answered with an HTTP error has a `response` with that status (and the
 * error in its body); one that never ran (the batch expired: code `batch_expired`, or was
 * cancelled) has `response: null` and an `error`. Output lines come in any order: only
 * `custom_id` maps a line back to its request.
 */
import { createHash } from 'node:crypto';
import type { ChatReply } from '../teacher';
import { replyFromCompletion } from '../teacher';
import { MalformedReplyError, isRetryableTeacherStatus, shortMessage } from '../openaiClient';
import type { ReflectionKind } from '../types';

/** The endpoint every request of a Sift batch goes to. */
export const CHAT_COMPLETIONS_URL = '/v1/chat/completions';

/** The Batch API's limits per input file (see above); Sift stays below them. */
export const MAX_REQUESTS_PER_BATCH = 50_000;
export const MAX_INPUT_BYTES = 190 * 1024 * 1024;

/** What a batch returned for one request. */
export type BatchAnswer =
  | { ok: true; reply: Omit<ChatReply, 'attempts'> }
  | { ok: false; message: string; status?: number; code?: string; retryable: boolean };

/** The content address of a record's line: the first 16 hex digits of its SHA-256. */
export function lineHash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

/** The content address of a chat request body (its JSON, which `chatCompletionBody` builds in a fixed key order). */
export function requestKey(body: unknown): string {
  return createHash('sha256').update(JSON.stringify(body)).digest('hex').slice(0, 24);
}

/** Which record a batch request was made for, and which of its requests it is. */
export interface RequestOrigin {
  /** 1-based line of the record in the dataset. */
  line: number;
  /** `lineHash` of the record's text when the request was made. */
  lineHash: string;
  kind: ReflectionKind;
  /** `requestKey` of the body. */
  key: string;
  /** The same request asked again within one record's pipeline (the output was unusable): 2. */
  n: number;
}

/**
 * `line-17-3fa9c1d2e4b5a6f7-response-1a2b3c4d5e6f-1`: the line and the hash of its text (so a
 * result maps back to the record it was asked for, and a record edited since is recognised), the
 * kind of reflection, the request's own hash and its repeat number (unique within a batch).
 */
export function customId(origin: RequestOrigin): string {
  return `line-${origin.line}-${origin.lineHash}-${origin.kind}-${origin.key.slice(0, 12)}-${origin.n}`;
}

/** One line of the input file. */
export function inputLine(id: string, body: unknown): string {
  return JSON.stringify({ custom_id: id, method: 'POST', url: CHAT_COMPLETIONS_URL, body });
}

export interface ParsedOutput {
  /** Each answered request, by custom_id (the first line wins when a custom_id repeats). */
  answers: Map<string, BatchAnswer>;
  /** Lines that could not be read, and repeated custom_ids, each naming its line of the file. */
  problems: string[];
}

/** An output or error file, read line by line; `file` names it in problems. */
export function parseOutputFile(text: string, file: string, into: ParsedOutput = { answers: new Map(), problems: [] }): ParsedOutput {
  const lines = text.split('\n');
  lines.forEach((raw, index) => {
    const line = raw.trim();
    if (line === '') return;
    const where = `${file} line ${index + 1}`;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      into.problems.push(`${where}: not JSON (${(error as Error).message})`);
      return;
    }
    const entry = value as { custom_id?: unknown; response?: unknown; error?: unknown } | null;
    if (!entry || typeof entry !== 'object' || typeof entry.custom_id !== 'string') {
      into.problems.push(`${where}: no custom_id`);
      return;
    }
    if (into.answers.has(entry.custom_id)) {
      into.problems.push(`${where}: custom_id ${entry.custom_id} was already answered; this line is ignored`);
      return;
    }
    into.answers.set(entry.custom_id, answerOf(entry.response, entry.error));
  });
  return into;
}

/** One output line's outcome. */
export function answerOf(response: unknown, error: unknown): BatchAnswer {
  const r = response as { status_code?: unknown; body?: unknown } | null | undefined;
  if (r && typeof r === 'object' && typeof r.status_code === 'number') {
    if (r.status_code >= 200 && r.status_code < 300) {
      try {
        return { ok: true, reply: replyFromCompletion(r.body) };
      } catch (e) {
        if (!(e instanceof MalformedReplyError)) throw e;
        return { ok: false, message: `malformed answer: ${e.message}`, retryable: true };
      }
    }
    const body = r.body as { error?: { message?: unknown; code?: unknown } } | undefined;
    const message = typeof body?.error?.message === 'string' ? body.error.message : `status ${r.status_code}`;
    const code = typeof body?.error?.code === 'string' ? body.error.code : undefined;
    return { ok: false, status: r.status_code, ...(code ? { code } : {}), message: `answered ${r.status_code}: ${shortMessage(message)}`, retryable: isRetryableTeacherStatus(r.status_code) };
  }
  const e = error as { code?: unknown; message?: unknown } | null | undefined;
  const code = typeof e?.code === 'string' ? e.code : undefined;
  const message = typeof e?.message === 'string' ? shortMessage(e.message) : 'no response and no error';
  // The request never ran (expired, cancelled, a server-side failure): asking again can work.
  return { ok: false, ...(code ? { code } : {}), message: code ? `${code}: ${message}` : message, retryable: true };
}
