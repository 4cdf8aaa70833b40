/**
 * The Batch API through the `openai` package (6.49.0): `files.create` with purpose `batch` uploads
 * the input file, `batches.create` starts the batch on `/v1/chat/completions` with the 24 h
 * window, `batches.retrieve` polls it, `files.content` downloads its output and error files,
 * `batches.cancel` stops it and `batches.list` finds a batch by its metadata. Types and statuses
 * as `resources/batches.d.ts` and `resources/files.d.ts` of the package declare them (`Batch`,
 * `FileObject`). Every call goes through the retry loop of `core/net/retry.ts` and the same client
 * setup and error wording as the chat calls (`openaiClient.ts`); the key is never in a message.
 */
import type OpenAI from 'openai';
import { toFile } from 'openai';
import type { Failure } from '../../net/errors';
import { displayUrl } from '../../net/redact';
import { abortReason, retrying, throwIfAborted, type RetryPolicy } from '../../net/retry';
import { classifyOpenAIError, openaiClient, withCallSignal } from '../openaiClient';
import { TeacherError, teacherBaseUrl, type TeacherEvent } from '../teacher';
import { CHAT_COMPLETIONS_URL } from './wire';

export type Batch = OpenAI.Batches.Batch;
export type FileObject = OpenAI.Files.FileObject;

/** A batch's output file can be large (up to 50,000 answers): read up to this much of it. */
export const MAX_BATCH_FILE_BYTES = 256 * 1024 * 1024;

export interface TeacherBatchApiSettings {
  url: string;
  apiKey?: string;
  /** Per request (default 300 s: an upload or a download can be large). */
  timeoutMs?: number;
  retries?: number;
  backoffBaseMs?: number;
  backoffCapMs?: number;
  onEvent?: (event: TeacherEvent) => void;
  random?: () => number;
}

/** The metadata key that carries Sift's submission id (`TeacherBatchJob.id`). */
export const SUBMISSION_METADATA_KEY = 'sift_submission';

export class TeacherBatchApi {
  readonly endpoint: string;
  private readonly client: OpenAI;
  private readonly policy: RetryPolicy;
  private readonly timeoutMs: number;
  private readonly secrets: (string | undefined)[];

  constructor(private readonly settings: TeacherBatchApiSettings) {
    const baseURL = teacherBaseUrl(settings.url);
    this.endpoint = displayUrl(baseURL);
    this.timeoutMs = settings.timeoutMs ?? 300_000;
    this.secrets = [settings.apiKey];
    this.policy = {
      retries: Math.max(0, settings.retries ?? 5),
      backoffBaseMs: settings.backoffBaseMs ?? 1000,
      backoffCapMs: settings.backoffCapMs ?? 60_000,
      maxRetryAfterMs: 120_000,
      random: settings.random ?? Math.random,
    };
    this.client = openaiClient({ baseURL, apiKey: settings.apiKey, timeoutMs: this.timeoutMs, maxBytes: MAX_BATCH_FILE_BYTES });
  }

  /** Uploads an input file (JSONL) with purpose `batch`. */
  upload(jsonl: string, filename: string, signal?: AbortSignal): Promise<FileObject> {
    return this.call('upload the batch input file', signal, async (s) =>
      this.client.files.create({ file: await toFile(Buffer.from(jsonl, 'utf8'), filename, { type: 'application/jsonl' }), purpose: 'batch' }, { signal: s }),
    );
  }

  /**
   * Creates the batch. A create that may have reached the server (a timeout, a dropped connection)
   * is not simply sent again, which could start (and bill) a second batch: the batches the server
   * lists are searched for this submission's id first.
   */
  async create(inputFileId: string, submission: string, metadata: Record<string, string>, signal?: AbortSignal): Promise<Batch> {
    let uncertain = false;
    return this.call('create the batch', signal, async (s) => {
      if (uncertain) {
        const existing = await this.findSubmission(submission, s);
        if (existing) return existing;
      }
      try {
        return await this.client.batches.create(
          { input_file_id: inputFileId, endpoint: CHAT_COMPLETIONS_URL, completion_window: '24h', metadata: { ...metadata, [SUBMISSION_METADATA_KEY]: submission } },
          { signal: s },
        );
      } catch (error) {
        const failure = classifyOpenAIError(error, this.endpoint, this.timeoutMs, this.secrets);
        if (failure.kind === 'timeout' || failure.kind === 'connection') uncertain = true;
        throw error;
      }
    });
  }

  retrieve(batchId: string, signal?: AbortSignal): Promise<Batch> {
    return this.call(`read batch ${batchId}`, signal, (s) => this.client.batches.retrieve(batchId, { signal: s }));
  }

  cancel(batchId: string, signal?: AbortSignal): Promise<Batch> {
    return this.call(`cancel batch ${batchId}`, signal, (s) => this.client.batches.cancel(batchId, { signal: s }));
  }

  /** A file's content as text (output and error files are UTF-8 JSONL). */
  content(fileId: string, signal?: AbortSignal): Promise<string> {
    return this.call(`download file ${fileId}`, signal, async (s) => (await this.client.files.content(fileId, { signal: s })).text());
  }

  /** The batch created for a submission, among the most recent ones, if any. */
  async findSubmission(submission: string, signal?: AbortSignal): Promise<Batch | undefined> {
    const page = await this.client.batches.list({ limit: 100 }, { signal });
    return page.data.find((b) => b.metadata?.[SUBMISSION_METADATA_KEY] === submission);
  }

  private async call<T>(what: string, signal: AbortSignal | undefined, attempt: (signal: AbortSignal | undefined) => Promise<T>): Promise<T> {
    const { value } = await retrying<T>({
      policy: this.policy,
      signals: [signal, undefined],
      attempt: async () => {
        throwIfAborted(signal);
        try {
          return { ok: true, value: await withCallSignal(signal, attempt) };
        } catch (error) {
          if (signal?.aborted) throw abortReason(signal);
          return { ok: false, ...this.classify(error, what) };
        }
      },
      onRetry: (failure, n, maxAttempts, delayMs) => {
        this.settings.onEvent?.({ type: 'retry', attempt: n, maxAttempts, kind: failure.kind, status: failure.status, message: failure.message, delayMs });
      },
      fail: (failure, attempts, exhausted) => {
        const message = exhausted ? `${failure.message} (gave up after ${attempts} attempts)` : failure.message;
        return new TeacherError(message, failure.kind, failure.status, exhausted);
      },
    });
    return value;
  }

  private classify(error: unknown, what: string): Failure {
    const failure = classifyOpenAIError(error, this.endpoint, this.timeoutMs, this.secrets);
    return { ...failure, message: `could not ${what}: ${failure.message}` };
  }
}
