import { isScorable, parseFile } from '../dataset/parse';
import type { FormatSpec, TrainingPair } from '../dataset/types';
import { writeAtomically } from '../io/atomicWrite';
import { ApplyPairError, recordLine } from './applyPair';
import { jobDatasetName } from './batch/jobs';
import { runTeacherBatch, type TeacherBatchOutcome, type TeacherBatchRun } from './batch/run';
import type { ReflectionMode } from './modes';
import type { ReflectionSession } from './reflection';
import { rewriteLines, type LineEdit } from './rewriteLines';
import { Reflector, type StudentScoring } from './selective';
import type { RecordReflection } from './types';

/** A record chosen for reflection, with what the output pass needs to write it back. */
export interface SelectedRecord {
  /** 1-based line number. */
  line: number;
  /** Byte offset of the line in the file. */
  offset: number;
  text: string;
  value: unknown;
  pair: TrainingPair;
}

export interface LineFailure {
  line: number;
  error: string;
}

export interface FileSelectionOptions {
  /** Default: detected from the file. */
  format?: FormatSpec;
  /** Which 1-based lines to reflect; default every record. */
  lines?: (line: number) => boolean;
}

export interface FileReflectionRun {
  session: ReflectionSession;
  student: StudentScoring;
  /** The released selection script's extra rule (METHODS §4.3). */
  releasedGate?: boolean;
  signal?: AbortSignal;
  /** Records in flight at once. */
  concurrency?: number;
  /** Each record's result, as it finishes (any order); it is in `results` by then. */
  onRecord?: (line: number, result: RecordReflection) => void;
  /** Records finished so far. */
  onProgress?: (done: number) => void;
}

/** How a file's reflection goes through the Batch API (see `batch/run.ts`). */
export type FileBatchOptions = Pick<TeacherBatchRun, 'api' | 'jobs' | 'retry' | 'maxAttempts' | 'pollMs' | 'maxPollMs' | 'onEvent'>;

/** What a finished run did, counted over its results. */
export interface ReflectionTotals {
  changed: number;
  unchanged: number;
  dropped: number;
  /** Records whose instruction stage chose the rewrite (and were not dropped). */
  instructionKept: number;
  responseKept: number;
  /** Fields where the teacher's output fell back to the original text. */
  fallbacks: number;
  cachedReflections: number;
}

/**
 * Reflection over a JSONL file, as `scoreFile` is scoring over one: pass 1 reads the dataset and
 * keeps the selected records, `reflect` asks the teacher and lets the student choose, and pass 2
 * writes the output atomically. Only the selected records are held in memory; every other line is
 * copied byte for byte from the file when the output is written.
 */
export class FileReflection {
  /** Each finished record's result, by line. */
  readonly results = new Map<number, RecordReflection>();
  /** Selected records left as they are, and why (a batch was asked for other text on their line). */
  private readonly notReflected: LineFailure[] = [];

  private constructor(
    readonly path: string,
    /** The records to reflect, in file order. */
    readonly selected: readonly SelectedRecord[],
    /** Selected lines that are not records that can be reflected, and why. */
    readonly invalid: readonly LineFailure[],
    /** The dataset's record format (the kept pairs are written back in it). */
    readonly format: FormatSpec,
  ) {}

  /** Pass 1: the selected records (blank lines and lines outside the selection are left alone). */
  static async read(path: string, options: FileSelectionOptions = {}): Promise<FileReflection> {
    let format: FormatSpec | undefined = options.format;
    const selected: SelectedRecord[] = [];
    const invalid: LineFailure[] = [];
    for await (const record of parseFile(path, options.format, { onFormat: (f) => (format = f) })) {
      if (record.blank || (options.lines && !options.lines(record.line))) continue;
      if (!isScorable(record) || !record.pair || record.offset === undefined) {
        const problem = record.problems.find((p) => p.severity === 'error') ?? record.problems[0];
        invalid.push({ line: record.line, error: problem?.reason ?? problem?.message ?? 'not a scorable record' });
        continue;
      }
      selected.push({ line: record.line, offset: record.offset, text: record.text, value: record.value, pair: record.pair });
    }
    return new FileReflection(path, selected, invalid, format ?? { name: 'alpaca' });
  }

  get pairs(): TrainingPair[] {
    return this.selected.map((r) => r.pair);
  }

  /**
   * The teacher rewrites and the student judges every selected record. An abort or a fatal teacher
   * error throws once the records in flight are done; what finished is in `results` either way.
   */
  async reflect(mode: ReflectionMode, run: FileReflectionRun): Promise<void> {
    const reflector = new Reflector({ session: run.session, student: run.student, releasedGate: run.releasedGate });
    await reflector.reflectBatch(
      this.selected.map((r) => ({ id: r.line, pair: r.pair })),
      mode,
      {
        signal: run.signal,
        concurrency: run.concurrency,
        onRecord: (line, result) => {
          this.results.set(line, result);
          run.onRecord?.(line, result);
        },
        onProgress: run.onProgress,
      },
    );
  }

  /**
   * `reflect` with the teacher's requests sent through the Batch API: the same pipeline, the same
   * results for the same teacher answers; resumes the dataset's pending batches. A record whose
   * text changed since a batch was asked for it is left as it is and reported.
   */
  async reflectInBatches(mode: ReflectionMode, run: FileReflectionRun, batch: FileBatchOptions): Promise<TeacherBatchOutcome> {
    let done = 0;
    const outcome = await runTeacherBatch({
      ...batch,
      session: run.session,
      student: run.student,
      releasedGate: run.releasedGate,
      signal: run.signal,
      concurrency: run.concurrency,
      mode,
      dataset: jobDatasetName(this.path),
      records: this.selected.map((r) => ({ line: r.line, text: r.text, pair: r.pair })),
      onRecord: (line, result) => {
        this.results.set(line, result);
        run.onRecord?.(line, result);
        run.onProgress?.(++done);
      },
    });
    this.notReflected.push(...outcome.changed);
    return outcome;
  }

  /**
   * Pass 2: the output, atomically: kept rewrites replace their line, records the released gate
   * dropped are left out, every other line is copied byte for byte. Returns every failure by line
   * (the invalid lines among them); a kept pair that cannot be written back into its record keeps
   * the original line and its result gets the error.
   */
  async write(outPath: string): Promise<LineFailure[]> {
    const edits: LineEdit[] = [];
    const failures: LineFailure[] = [...this.invalid, ...this.notReflected];
    for (const record of this.selected) {
      const result = this.results.get(record.line);
      if (!result) continue;
      if (result.error) failures.push({ line: record.line, error: result.error });
      if (result.kept === null) {
        edits.push({ offset: record.offset, original: record.text, replacement: undefined });
      } else if (result.changed && result.keptPair) {
        try {
          edits.push({ offset: record.offset, original: record.text, replacement: recordLine(record.text, record.value, this.format, result.keptPair) });
        } catch (error) {
          if (!(error instanceof ApplyPairError)) throw error;
          result.error = `cannot write the kept pair back into the record: ${error.message}`;
          failures.push({ line: record.line, error: result.error });
        }
      }
    }
    await writeAtomically(outPath, (write) => rewriteLines(this.path, edits, write));
    return failures.sort((a, b) => a.line - b.line);
  }

  totals(): ReflectionTotals {
    const totals: ReflectionTotals = { changed: 0, unchanged: 0, dropped: 0, instructionKept: 0, responseKept: 0, fallbacks: 0, cachedReflections: 0 };
    for (const record of this.selected) {
      const r = this.results.get(record.line);
      if (!r) continue;
      if (r.kept === null) totals.dropped++;
      else if (r.changed) totals.changed++;
      else totals.unchanged++;
      for (const d of r.decisions) {
        if (d.chosen === d.between[1] && r.kept !== null) {
          if (d.stage === 'instruction') totals.instructionKept++;
          else totals.responseKept++;
        }
      }
      for (const c of r.candidates) totals.fallbacks += c.fallbacks.length;
      totals.cachedReflections += r.usage.cachedReflections;
    }
    return totals;
  }

  /** Every selected line's outcome, in line order: the result without the kept pair (the record has it). */
  recordReports(): ({ line: number } & Record<string, unknown>)[] {
    return [
      ...this.selected.filter((r) => !this.notReflected.some((n) => n.line === r.line)).map((r) => reportEntry(r.line, this.results.get(r.line))),
      ...this.notReflected.map((r) => ({ line: r.line, error: `not reflected: ${r.error}` })),
      ...this.invalid.map((r) => ({ line: r.line, error: `not reflected: ${r.error}` })),
    ].sort((a, b) => a.line - b.line);
  }
}

function reportEntry(line: number, result: RecordReflection | undefined): { line: number } & Record<string, unknown> {
  if (!result) return { line, error: 'not reflected' };
  const { keptPair: _keptPair, ...rest } = result;
  return { line, ...rest };
}
