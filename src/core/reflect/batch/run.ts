/**
 * Reflection with the teacher's requests sent through the Batch API (about half the price, results
 * within 24 h), with the student's selection run exactly as in a synchronous run.
 *
 * A run goes in rounds. Each round runs the selective pipeline (`Reflector.reflectRecord`) on every
 * record still waiting, with a `ReplayTeacher` that answers from the batches so far; a record
 * stops at its first request no batch has answered. Those requests (one per distinct request) are
 * submitted as a batch, polled with back-off until it ends, downloaded and mapped back by
 * `custom_id`; then the next round runs. A response-only or instruction-only run takes one batch;
 * a selective run two (the response stage rewrites the pair the student kept in stage 1); an
 * unusable output is asked again in a further batch, as the synchronous pipeline asks again.
 * Because the pipeline is the synchronous one, the same teacher answers give the same records.
 *
 * Every batch is recorded (`TeacherBatchJobs`) before anything is sent, so an interrupted run
 * (Ctrl-C while polling, a closed editor) picks its batches up again instead of submitting new
 * ones. A record whose text changed since a batch was submitted for it is not reflected with that
 * batch's answers: it is reported. Failed and expired requests are submitted again in the next
 * batch (up to `maxAttempts` batches), asked synchronously (`retry: 'sync'`), or reported
 * (`retry: 'none'`); the record's result then carries the error with its line, as a failed
 * synchronous call does.
 */
import type { TrainingPair } from '../../dataset/types';
import { sleep } from '../../net/retry';
import type { ReflectionSession } from '../reflection';
import type { LineFailure } from '../reflectFile';
import { Reflector, type StudentScoring } from '../selective';
import type { RecordReflection, ReflectionMode } from '../types';
import type { TeacherBatchApi, Batch } from './api';
import { FINAL_BATCH_STATUSES, lineRanges, newJobId, type BatchStatus, type TeacherBatchJob, type TeacherBatchJobs } from './jobs';
import { AwaitingBatch, BatchAnswerBook, ReplayTeacher } from './replay';
import { MAX_INPUT_BYTES, MAX_REQUESTS_PER_BATCH, customId, inputLine, lineHash, parseOutputFile, type BatchAnswer, type RequestOrigin } from './wire';

/** What happens to a request whose batch attempt failed in a way that may work again. */
export type BatchRetry = 'batch' | 'sync' | 'none';
export const BATCH_RETRIES: readonly BatchRetry[] = ['batch', 'sync', 'none'];

export interface BatchRecord {
  /** 1-based line in the dataset. */
  line: number;
  text: string;
  pair: TrainingPair;
}

export type TeacherBatchEvent =
  | { type: 'resumed'; batchId: string; status?: BatchStatus; submittedAt: number }
  | { type: 'submitted'; batchId: string; requests: number; round: number }
  | { type: 'status'; batchId: string; status: BatchStatus; counts?: { total: number; completed: number; failed: number } }
  | { type: 'downloaded'; batchId: string; answered: number; failed: number }
  | { type: 'problem'; message: string };

/**
 * The student for one pass: an editor lends its scorer for the pass only, so a run that waits a day
 * for its batch does not hold a model the user has replaced meanwhile.
 */
export type StudentLease = <T>(use: (student: StudentScoring) => Promise<T>) => Promise<T>;

export interface TeacherBatchRun {
  /** The synchronous session: prompts, cache and options (and its teacher asks `retry: 'sync'` requests). */
  session: ReflectionSession;
  student: StudentScoring | StudentLease;
  releasedGate?: boolean;
  api: TeacherBatchApi;
  jobs: TeacherBatchJobs;
  /** The dataset's name in the job records. */
  dataset: string;
  mode: ReflectionMode;
  records: readonly BatchRecord[];
  retry?: BatchRetry;
  /** Batches a request is sent in at most (default 3). */
  maxAttempts?: number;
  /** The first wait between polls (default 10 s); it grows by half while nothing changes, up to `maxPollMs` (default 2 min). */
  pollMs?: number;
  maxPollMs?: number;
  /** Records the student judges at once (default 4). */
  concurrency?: number;
  signal?: AbortSignal;
  onEvent?: (event: TeacherBatchEvent) => void;
  onRecord?: (line: number, result: RecordReflection) => void;
}

export interface TeacherBatchOutcome {
  results: Map<number, RecordReflection>;
  /** Selected records whose text changed since a batch was submitted for them: not reflected. */
  changed: LineFailure[];
  /** The batches whose answers this run used, in submission order. */
  batchIds: string[];
  /** Requests this run submitted (batches picked up not counted). */
  submittedRequests: number;
}

/** The jobs of one dataset and teacher, oldest first. */
export async function jobsOf(jobs: TeacherBatchJobs, dataset: string, teacher?: { endpoint: string; model: string }): Promise<TeacherBatchJob[]> {
  return (await jobs.list())
    .filter((j) => j.dataset === dataset && (!teacher || (j.teacher.endpoint === teacher.endpoint && j.teacher.model === teacher.model)))
    .sort((a, b) => a.submittedAt - b.submittedAt);
}

export async function runTeacherBatch(run: TeacherBatchRun): Promise<TeacherBatchOutcome> {
  return new BatchRunner(run).run();
}

class BatchRunner {
  private readonly book = new BatchAnswerBook();
  private readonly teacher: { endpoint: string; model: string };
  private readonly used: TeacherBatchJob[] = [];
  /** Reflections this run cached: a record's next round gets them from its batches again, as its first round did. */
  private readonly ownKeys = new Set<string>();
  private submittedRequests = 0;

  constructor(private readonly options: TeacherBatchRun) {
    this.teacher = { endpoint: options.api.endpoint, model: options.session.teacher.model };
  }

  async run(): Promise<TeacherBatchOutcome> {
    const o = this.options;
    const earlier = await jobsOf(o.jobs, o.dataset, this.teacher);
    const changed = this.changedRecords(earlier);
    for (const job of earlier) {
      if (job.batchId) o.onEvent?.({ type: 'resumed', batchId: job.batchId, status: job.status, submittedAt: job.submittedAt });
      await this.settle(job);
    }
    const results = new Map<number, RecordReflection>();
    let waiting = o.records.filter((r) => !changed.some((c) => c.line === r.line));
    for (let round = 1; waiting.length > 0; round++) {
      const awaiting = await this.pass(waiting, results);
      if (awaiting.length === 0) break;
      await this.submit(awaiting, round);
      waiting = awaiting.map((a) => a.record);
    }
    for (const job of this.used) await o.jobs.remove(job.id);
    return { results, changed, batchIds: this.used.flatMap((j) => (j.batchId ? [j.batchId] : [])), submittedRequests: this.submittedRequests };
  }

  /** A selected record whose line was asked for with other text: its answers are not applied. */
  private changedRecords(jobs: readonly TeacherBatchJob[]): LineFailure[] {
    const now = new Map(this.options.records.map((r) => [r.line, lineHash(r.text)]));
    const changed = new Map<number, string>();
    for (const job of jobs) {
      for (const origin of Object.values(job.requests)) {
        const hash = now.get(origin.line);
        if (hash !== undefined && hash !== origin.lineHash && !changed.has(origin.line)) {
          changed.set(origin.line, `the record changed since teacher batch ${job.batchId ?? job.id} was submitted for it; that batch's answer is not applied (run again to reflect the new text)`);
        }
      }
    }
    return [...changed].map(([line, error]) => ({ line, error })).sort((a, b) => a.line - b.line);
  }

  /** One pass of the pipeline over the waiting records; returns those that need a batch. */
  private async pass(records: readonly BatchRecord[], results: Map<number, RecordReflection>): Promise<{ record: BatchRecord; awaiting: AwaitingBatch }[]> {
    const o = this.options;
    const awaiting: { record: BatchRecord; awaiting: AwaitingBatch }[] = [];
    const lease: StudentLease = typeof o.student === 'function' ? o.student : (use) => use(o.student as StudentScoring);
    await lease((student) => eachAtOnce(records, o.concurrency ?? 4, async (record) => {
      const teacher = new ReplayTeacher({
        model: this.teacher.model,
        endpoint: this.teacher.endpoint,
        book: this.book,
        maxAttempts: o.retry === 'none' ? 1 : (o.maxAttempts ?? 3),
        fallback: o.retry === 'sync' ? o.session.teacher : undefined,
      });
      const session = o.session.withTeacher(teacher, this.ownKeys);
      const reflector = new Reflector({ session, student, releasedGate: o.releasedGate });
      try {
        const result = await reflector.reflectRecord(record.pair, o.mode, {
          signal: o.signal,
          onStage: (stage) => {
            if (stage !== 'score-original') teacher.kind = stage;
          },
        });
        results.set(record.line, result);
        o.onRecord?.(record.line, result);
      } catch (error) {
        if (!(error instanceof AwaitingBatch)) throw error;
        awaiting.push({ record, awaiting: error });
      } finally {
        if (session.structuredSupport !== 'unknown') o.session.structuredSupport = session.structuredSupport;
      }
    }));
    return awaiting.sort((a, b) => a.record.line - b.record.line);
  }

  /** Submits the requests the records wait for (each distinct request once), then waits for the batches. */
  private async submit(awaiting: readonly { record: BatchRecord; awaiting: AwaitingBatch }[], round: number): Promise<void> {
    const o = this.options;
    const seen = new Set<string>();
    const chunks: { lines: string[]; requests: Record<string, RequestOrigin>; bytes: number }[] = [];
    for (const { record, awaiting: a } of awaiting) {
      if (seen.has(`${a.key}#${a.n}`)) continue;
      seen.add(`${a.key}#${a.n}`);
      const origin: RequestOrigin = { line: record.line, lineHash: lineHash(record.text), kind: a.kind, key: a.key, n: a.n };
      const id = customId(origin);
      const line = inputLine(id, a.body);
      const bytes = Buffer.byteLength(line) + 1;
      let chunk = chunks.at(-1);
      if (!chunk || chunk.lines.length >= MAX_REQUESTS_PER_BATCH || chunk.bytes + bytes > MAX_INPUT_BYTES) {
        chunk = { lines: [], requests: {}, bytes: 0 };
        chunks.push(chunk);
      }
      chunk.lines.push(line);
      chunk.requests[id] = origin;
      chunk.bytes += bytes;
    }
    const created: TeacherBatchJob[] = [];
    for (const chunk of chunks) {
      const job: TeacherBatchJob = {
        id: newJobId(),
        dataset: o.dataset,
        teacher: this.teacher,
        mode: o.mode,
        lines: lineRanges(o.records.map((r) => r.line)),
        submittedAt: Date.now(),
        requests: chunk.requests,
        downloaded: false,
      };
      // Recorded before anything is sent: a batch created by a run that dies before saving its id is found by this id.
      await o.jobs.put(job);
      const file = await o.api.upload(chunk.lines.join('\n') + '\n', `sift-${job.id}.jsonl`, o.signal);
      job.inputFileId = file.id;
      await o.jobs.put(job);
      const batch = await o.api.create(file.id, job.id, { dataset: o.dataset.slice(0, 500), mode: o.mode, round: String(round) }, o.signal);
      this.update(job, batch);
      await o.jobs.put(job);
      this.submittedRequests += chunk.lines.length;
      o.onEvent?.({ type: 'submitted', batchId: batch.id, requests: chunk.lines.length, round });
      created.push(job);
    }
    for (const job of created) await this.settle(job);
  }

  /** Waits for a batch to end, downloads its answers once, and adds them to the book. */
  private async settle(job: TeacherBatchJob): Promise<void> {
    const o = this.options;
    this.used.push(job);
    if (!job.batchId) {
      const found = job.inputFileId ? await o.api.findSubmission(job.id, o.signal) : undefined;
      // Never created: its requests are simply asked again.
      if (!found) return;
      this.update(job, found);
      await o.jobs.put(job);
    }
    if (!job.downloaded) {
      await this.waitForEnd(job);
      await this.download(job);
    }
    const answers = (await o.jobs.answers(job.id)) ?? {};
    for (const [id, answer] of Object.entries(answers)) {
      const origin = job.requests[id];
      if (origin) this.book.add(origin, answer);
    }
  }

  private async waitForEnd(job: TeacherBatchJob): Promise<void> {
    const o = this.options;
    const first = o.pollMs ?? 10_000;
    const longest = Math.max(first, o.maxPollMs ?? 120_000);
    let wait = first;
    while (!job.status || !FINAL_BATCH_STATUSES.includes(job.status)) {
      const batch = await o.api.retrieve(job.batchId!, o.signal);
      if (this.update(job, batch)) {
        await o.jobs.put(job);
        o.onEvent?.({ type: 'status', batchId: job.batchId!, status: job.status!, counts: job.counts });
        wait = first;
      } else {
        wait = Math.min(longest, Math.round(wait * 1.5));
      }
      if (FINAL_BATCH_STATUSES.includes(job.status!)) break;
      await sleep(wait, o.signal);
    }
  }

  /** Reads the output and error files; every request gets an answer (a failure when the files have none). */
  private async download(job: TeacherBatchJob): Promise<void> {
    const o = this.options;
    const parsed = { answers: new Map<string, BatchAnswer>(), problems: [] as string[] };
    if (job.outputFileId) parseOutputFile(await o.api.content(job.outputFileId, o.signal), `the output file of batch ${job.batchId}`, parsed);
    if (job.errorFileId) parseOutputFile(await o.api.content(job.errorFileId, o.signal), `the error file of batch ${job.batchId}`, parsed);
    const answers: Record<string, BatchAnswer> = {};
    for (const [id, answer] of parsed.answers) {
      if (!job.requests[id]) {
        parsed.problems.push(`batch ${job.batchId} answered custom_id ${id}, which it was not asked: ignored`);
        continue;
      }
      answers[id] = job.status === 'cancelled' && !answer.ok ? { ...answer, retryable: false } : answer;
    }
    for (const id of Object.keys(job.requests)) answers[id] ??= missingAnswer(job);
    for (const message of parsed.problems) o.onEvent?.({ type: 'problem', message });
    await o.jobs.saveAnswers(job.id, answers);
    job.downloaded = true;
    await o.jobs.put(job);
    const failed = Object.values(answers).filter((a) => !a.ok).length;
    o.onEvent?.({ type: 'downloaded', batchId: job.batchId!, answered: Object.keys(answers).length - failed, failed });
  }

  /** Copies what the server says about a batch into its job; true when anything changed. */
  private update(job: TeacherBatchJob, batch: Batch): boolean {
    const before = JSON.stringify([job.status, job.counts, job.outputFileId, job.errorFileId]);
    job.batchId = batch.id;
    job.status = batch.status;
    if (batch.request_counts) job.counts = { total: batch.request_counts.total, completed: batch.request_counts.completed, failed: batch.request_counts.failed };
    if (batch.output_file_id) job.outputFileId = batch.output_file_id;
    if (batch.error_file_id) job.errorFileId = batch.error_file_id;
    const errors = (batch.errors?.data ?? []).map((e) => `${e.line ? `input line ${e.line}: ` : ''}${e.message ?? e.code ?? 'error'}`);
    if (errors.length > 0) job.errors = errors;
    return JSON.stringify([job.status, job.counts, job.outputFileId, job.errorFileId]) !== before;
  }
}

/** What a request gets when neither file of its batch mentions it. */
function missingAnswer(job: TeacherBatchJob): BatchAnswer {
  const id = job.batchId ?? job.id;
  if (job.status === 'failed') return { ok: false, retryable: false, message: `batch ${id} failed${job.errors ? `: ${job.errors.join('; ')}` : ''}` };
  if (job.status === 'cancelled') return { ok: false, retryable: false, message: `batch ${id} was cancelled before this request ran` };
  return { ok: false, retryable: true, message: `batch ${id} (${job.status}) returned no result for this request` };
}

/** Runs `work` on every item, `concurrency` at a time; the first error stops new work and is thrown once the rest is done. */
async function eachAtOnce<T>(items: readonly T[], concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let stop: { error: unknown } | undefined;
  const lane = async (): Promise<void> => {
    while (stop === undefined && next < items.length) {
      const item = items[next++];
      try {
        await work(item);
      } catch (error) {
        stop ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, lane));
  if (stop) throw stop.error;
}
