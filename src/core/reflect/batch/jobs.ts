/**
 * The bookkeeping of teacher batches: which batches were submitted for a dataset, what each line of
 * them was asked for, and what came back. Behind a small interface (`TeacherBatchJobs`) so it can
 * move into another store; the file-backed one keeps `.sift/teacher-batches.json` beside the
 * dataset (beside the score store) and each downloaded batch's answers in
 * `.sift/teacher-batches/<id>.json`, every write atomic. A job outlives the process that submitted
 * it: a stopped CLI or a closed editor picks it up again.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { writeFileAtomic } from '../../io/atomicWrite';
import type { ReflectionMode } from '../types';
import type { BatchAnswer, RequestOrigin } from './wire';

/** `Batch.status` in the `openai` package's `resources/batches.d.ts`. */
export type BatchStatus = 'validating' | 'failed' | 'in_progress' | 'finalizing' | 'completed' | 'expired' | 'cancelling' | 'cancelled';
export const BATCH_STATUSES: readonly BatchStatus[] = ['validating', 'failed', 'in_progress', 'finalizing', 'completed', 'expired', 'cancelling', 'cancelled'];
/** Statuses after which a batch changes no more. */
export const FINAL_BATCH_STATUSES: readonly BatchStatus[] = ['failed', 'completed', 'expired', 'cancelled'];

/** One submitted batch. */
export interface TeacherBatchJob {
  /** Sift's id for the submission, made before the batch exists (a batch created by a run that died before saving its id is found by it). */
  id: string;
  /** The batch's id at the teacher, once created. */
  batchId?: string;
  inputFileId?: string;
  /** The dataset's file name (the job file sits in the `.sift` folder beside it). */
  dataset: string;
  /** Where and to whom the requests went (a display URL: no credentials). */
  teacher: { endpoint: string; model: string };
  /** The run it belongs to: its mode and its records (1-based lines, as ranges). */
  mode: ReflectionMode;
  lines: [number, number][];
  /** Epoch ms. */
  submittedAt: number;
  /** Last seen; undefined until the batch exists. */
  status?: BatchStatus;
  counts?: { total: number; completed: number; failed: number };
  outputFileId?: string;
  errorFileId?: string;
  /** Batch-level errors (a batch that failed validation). */
  errors?: string[];
  /** Every request of the batch, by custom_id. */
  requests: Record<string, RequestOrigin>;
  /** The answers are downloaded and saved (`answers(id)`). */
  downloaded: boolean;
}

export interface TeacherBatchJobs {
  /** Every job of this store (all datasets that share it). */
  list(): Promise<TeacherBatchJob[]>;
  /** Adds a job or replaces the one with its id. */
  put(job: TeacherBatchJob): Promise<void>;
  /** Forgets a job and its answers. */
  remove(id: string): Promise<void>;
  answers(id: string): Promise<Record<string, BatchAnswer> | undefined>;
  saveAnswers(id: string, answers: Record<string, BatchAnswer>): Promise<void>;
}

/** A new submission id. */
export function newJobId(): string {
  return `sift-${randomUUID()}`;
}

/** `[[1, 3], [7, 7]]` for lines 1, 2, 3, 7. */
export function lineRanges(lines: Iterable<number>): [number, number][] {
  const sorted = [...new Set(lines)].sort((a, b) => a - b);
  const ranges: [number, number][] = [];
  for (const line of sorted) {
    const last = ranges.at(-1);
    if (last && line === last[1] + 1) last[1] = line;
    else ranges.push([line, line]);
  }
  return ranges;
}

export function linesOf(ranges: readonly [number, number][]): number[] {
  return ranges.flatMap(([a, b]) => Array.from({ length: b - a + 1 }, (_, i) => a + i));
}

/** The job file of a dataset: `.sift/teacher-batches.json` beside it. */
export function defaultTeacherBatchJobsPath(datasetPath: string): string {
  return join(dirname(datasetPath), '.sift', 'teacher-batches.json');
}

/** The dataset name a job records (the job file is beside it). */
export function jobDatasetName(datasetPath: string): string {
  return basename(datasetPath);
}

/**
 * The file-backed store. Each change reads the file again and writes it whole, atomically, so a
 * CLI and an editor working on the same folder lose nothing but a change made in the same instant;
 * changes of one process are applied one at a time.
 */
export class FileTeacherBatchJobs implements TeacherBatchJobs {
  private queue: Promise<unknown> = Promise.resolve();

  constructor(readonly path: string) {}

  static forDataset(datasetPath: string): FileTeacherBatchJobs {
    return new FileTeacherBatchJobs(defaultTeacherBatchJobsPath(datasetPath));
  }

  async list(): Promise<TeacherBatchJob[]> {
    return (await this.read()).jobs;
  }

  put(job: TeacherBatchJob): Promise<void> {
    return this.change((jobs) => [...jobs.filter((j) => j.id !== job.id), job]);
  }

  async remove(id: string): Promise<void> {
    await this.change((jobs) => jobs.filter((j) => j.id !== id));
    await rm(this.answersPath(id), { force: true });
  }

  async answers(id: string): Promise<Record<string, BatchAnswer> | undefined> {
    try {
      return JSON.parse(await readFile(this.answersPath(id), 'utf8')) as Record<string, BatchAnswer>;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new Error(`cannot read the answers of teacher batch ${id} (${this.answersPath(id)}): ${(error as Error).message}`, { cause: error });
    }
  }

  async saveAnswers(id: string, answers: Record<string, BatchAnswer>): Promise<void> {
    await mkdir(dirname(this.answersPath(id)), { recursive: true });
    await writeFileAtomic(this.answersPath(id), JSON.stringify(answers) + '\n');
  }

  private answersPath(id: string): string {
    // Ids are Sift's own (`sift-<uuid>`); anything else is kept out of the path.
    return join(dirname(this.path), 'teacher-batches', `${id.replace(/[^A-Za-z0-9_-]/g, '_')}.json`);
  }

  private change(update: (jobs: TeacherBatchJob[]) => TeacherBatchJob[]): Promise<void> {
    const next = this.queue.then(async () => {
      const { jobs } = await this.read();
      await mkdir(dirname(this.path), { recursive: true });
      await writeFileAtomic(this.path, JSON.stringify({ version: 1, jobs: update(jobs) }, null, 1) + '\n');
    });
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async read(): Promise<{ jobs: TeacherBatchJob[] }> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { jobs: [] };
      throw error;
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      throw new Error(`${this.path}: not JSON (${(error as Error).message}); it lists the teacher batches submitted for the datasets of this folder: fix or delete it`, { cause: error });
    }
    const jobs = (value as { jobs?: unknown } | null)?.jobs;
    if (!Array.isArray(jobs)) throw new Error(`${this.path}: no "jobs" list; fix or delete it`);
    return { jobs: jobs.filter(isJob) };
  }
}

function isJob(value: unknown): value is TeacherBatchJob {
  const j = value as Partial<TeacherBatchJob> | null;
  return !!j && typeof j === 'object' && typeof j.id === 'string' && typeof j.dataset === 'string' && typeof j.requests === 'object' && j.requests !== null && Array.isArray(j.lines);
}
