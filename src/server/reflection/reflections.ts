import { basename, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FormatSpec } from '../../core/dataset/types';
import {
  FileTeacherBatchJobs,
  PriceFileError,
  Reflector,
  TeacherError,
  estimateCost,
  estimateReflection,
  jobDatasetName,
  jobsOf,
  runTeacherBatch,
  type RecordReflection,
  type ReflectionSession,
  type StudentScoring,
  type TeacherBatchOutcome,
} from '../../core/reflect';
import type { PendingTeacherBatch, ReflectionBatchParams, ReflectionBatchResult, ReflectionCost, ReflectionEstimate, ReflectionSettings, SiftSettings } from '../../protocol';
import type { ReflectionMode, ReflectionView } from '../../protocol/reflectionView';
import type { SiftDocument } from '../document';
import type { Scorers, Stores } from '../resources';
import { scoringConfig } from '../settings';
import { ReflectionRequestError, checkMode } from './errors';
import { selectRecords, selectedRecord, type IfdScores, type SelectedRecord } from './selection';
import { TeacherSessions } from './sessions';
import { batchProgress, pendingTeacherBatches } from './teacherBatches';
import { reflectionView } from './views';

export interface ReflectionDeps {
  scorers: Scorers;
  stores: Stores;
  settings(): SiftSettings;
  /** The folder a dataset's relative setting paths (the teacher's `promptsFile`) are taken from. */
  folderOf(doc: SiftDocument): string | undefined;
  ifdScores: IfdScores;
  info(text: string): void;
}

/** Called as a reflection advances: a short message and, for batches, a percentage. */
export type ReportProgress = (message: string, percentage?: number) => void;

/** The first wait between polls of a teacher batch; it grows to 2 min while nothing changes. */
const BATCH_POLL_MS = 15_000;

const STAGE_MESSAGES = {
  'score-original': 'the student scores the original',
  instruction: 'the teacher rewrites the instruction; the student compares',
  response: 'the teacher rewrites the response; the student compares',
} as const;

/**
 * Teacher reflection for the language server: the teacher side comes from `TeacherSessions`, and
 * the student is the server's current scorer and score store.
 */
export class Reflections {
  private readonly teachers: TeacherSessions;

  constructor(private readonly deps: ReflectionDeps) {
    this.teachers = new TeacherSessions(
      (doc) => deps.folderOf(doc),
      (text) => deps.info(text),
    );
  }

  /** New settings and/or key (`apiKey` undefined: unchanged; '' clears it). Returns true when the teacher changed. */
  configure(settings: ReflectionSettings, apiKey?: string): boolean {
    return this.teachers.configure(settings, apiKey);
  }

  /** The workspace trust (see ReflectionTeachers.setTrusted). */
  setTrusted(trusted: boolean): void {
    this.teachers.setTrusted(trusted);
  }

  /** The teacher for log lines: model and endpoint, never a key. */
  describe(): string {
    return this.teachers.describe();
  }

  /** Why reflection cannot run, or undefined when a teacher is configured. */
  missing(): string | undefined {
    return this.teachers.missing();
  }

  /** Finished reflections still being written; resolves when they are on disk. */
  flush(): Promise<void> {
    return this.teachers.flush();
  }

  /** The pipeline for one record, as the diff view shows it. */
  async reflectOne(doc: SiftDocument, index: number, mode: ReflectionMode, signal: AbortSignal, report: ReportProgress): Promise<ReflectionView> {
    checkMode(mode);
    const session = await this.teachers.session(doc);
    const record = selectedRecord(doc, index);
    const version = doc.version;
    const format = doc.records.format;
    const { result, model } = await this.run(session, doc, async (reflector) =>
      reflector.reflectRecord(record.pair, mode, { signal, onStage: (stage) => report(STAGE_MESSAGES[stage]) }),
    );
    return this.view(doc, record, version, result, session, model, format);
  }

  /** What a batch will cost, and exactly which lines it covers. */
  async estimate(doc: SiftDocument, params: ReflectionBatchParams, signal: AbortSignal): Promise<ReflectionEstimate> {
    checkMode(params?.mode);
    const session = await this.teachers.session(doc);
    const { records, skipped } = await selectRecords(doc, params, this.deps.ifdScores, signal);
    const estimate = estimateReflection(session, records.map((r) => r.pair), params.mode);
    const { cost, costNote } = await this.cost(doc, session.teacher.model, estimate);
    return {
      lines: records.map((r) => r.line),
      version: doc.version,
      skipped,
      mode: params.mode,
      calls: estimate.calls,
      cachedCalls: estimate.cachedCalls,
      promptTokens: estimate.promptTokens,
      completionTokens: estimate.completionTokens,
      estimatedTokens: estimate.totalTokens,
      structured: estimate.structured,
      teacher: { model: session.teacher.model, endpoint: session.teacher.endpoint },
      cost,
      costNote,
      pendingBatches: doc.path ? (await jobsOf(FileTeacherBatchJobs.forDataset(doc.path), jobDatasetName(doc.path), session.teacher)).length : 0,
    };
  }

  /**
   * The pipeline over the selected records. Cancelling keeps what finished (and the reflection
   * cache keeps every finished teacher call), so running the same batch again resumes.
   */
  async reflectBatch(doc: SiftDocument, params: ReflectionBatchParams, signal: AbortSignal, report: ReportProgress): Promise<ReflectionBatchResult> {
    checkMode(params?.mode);
    if (params.batch === true) return this.reflectThroughBatches(doc, params, signal, report);
    const session = await this.teachers.session(doc);
    const { records } = await selectRecords(doc, params, this.deps.ifdScores, signal);
    const version = doc.version;
    const format = doc.records.format;
    const byLine = new Map(records.map((r) => [r.line, r]));
    const finished = new Map<number, RecordReflection>();
    const outcome: ReflectionBatchResult = {
      results: [],
      failed: [],
      cancelled: false,
      summary: { records: 0, changed: 0, dropped: 0, failed: 0, calls: 0, promptTokens: 0, completionTokens: 0, cachedReflections: 0 },
    };
    const total = records.length;
    report(`0 / ${total} records`, 0);
    let model: string;
    try {
      ({ model } = await this.run(session, doc, (reflector) =>
        reflector.reflectBatch(
          records.map((r) => ({ id: r.line, pair: r.pair })),
          params.mode,
          {
            signal,
            concurrency: this.teachers.settings.maxConcurrency,
            onRecord: (line, result) => finished.set(line, result),
            onProgress: (done) => report(`${done} / ${total} records`, total > 0 ? Math.floor((100 * done) / total) : 100),
          },
        ),
      ));
    } catch (error) {
      if (signal.aborted) outcome.cancelled = true;
      else if (error instanceof TeacherError) outcome.error = error.message;
      else throw error;
      model = this.deps.scorers.knownModelId ?? '';
    }
    this.collect(outcome, finished, (line, result) => this.view(doc, byLine.get(line)!, version, result, session, model, format));
    return outcome;
  }

  /**
   * The same pipeline with the teacher's requests sent through the Batch API: the dataset's pending
   * batches are picked up, new ones submitted and polled (progress says what they do), and the
   * student decides as in a synchronous batch. Cancelling stops waiting; the batch goes on at the
   * teacher and running the same command picks it up (the client does so when it starts).
   */
  private async reflectThroughBatches(doc: SiftDocument, params: ReflectionBatchParams, signal: AbortSignal, report: ReportProgress): Promise<ReflectionBatchResult> {
    if (!doc.path) throw new ReflectionRequestError('save the dataset first: a teacher batch is recorded beside its file, so that it can be picked up later');
    const session = await this.teachers.session(doc);
    const { records } = await selectRecords(doc, params, this.deps.ifdScores, signal);
    const version = doc.version;
    const format = doc.records.format;
    const byLine = new Map(records.map((r) => [r.line, r]));
    const finished = new Map<number, RecordReflection>();
    const outcome: ReflectionBatchResult = {
      results: [],
      failed: [],
      cancelled: false,
      summary: { records: 0, changed: 0, dropped: 0, failed: 0, calls: 0, promptTokens: 0, completionTokens: 0, cachedReflections: 0 },
      batch: { batchIds: [], submittedRequests: 0, pending: false },
    };
    let model = this.deps.scorers.knownModelId ?? '';
    let ran: TeacherBatchOutcome | undefined;
    report(`${records.length} record(s): the student scores the originals, then the teacher's requests go in a batch`, 0);
    try {
      ran = await runTeacherBatch({
        session,
        api: this.teachers.batchApi(),
        jobs: FileTeacherBatchJobs.forDataset(doc.path),
        dataset: jobDatasetName(doc.path),
        mode: params.mode,
        records: records.map((r) => ({ line: r.line + 1, text: r.text, pair: r.pair })),
        student: (use) => this.withStudent(doc, (student, modelId) => {
          model = modelId;
          return use(student);
        }),
        releasedGate: this.teachers.settings.gateBothBelowOne,
        concurrency: this.teachers.settings.maxConcurrency,
        pollMs: BATCH_POLL_MS,
        signal,
        onEvent: (event) => {
          const progress = batchProgress(event);
          this.deps.info(progress.message);
          report(progress.message, progress.percentage);
        },
        onRecord: (line, result) => finished.set(line - 1, result),
      });
    } catch (error) {
      if (signal.aborted) {
        outcome.cancelled = true;
        outcome.batch!.pending = true;
      } else if (error instanceof TeacherError) outcome.error = error.message;
      else throw error;
    } finally {
      await session.cache?.flush().catch(() => undefined);
    }
    if (ran) {
      outcome.batch = { batchIds: ran.batchIds, submittedRequests: ran.submittedRequests, pending: false };
      for (const changed of ran.changed) outcome.failed.push({ line: changed.line - 1, error: changed.error });
    }
    this.collect(outcome, finished, (line, result) => this.view(doc, byLine.get(line)!, version, result, session, model, format));
    outcome.failed.sort((a, b) => a.line - b.line);
    return outcome;
  }

  /** Adds the finished records to a batch result, in line order. */
  private collect(outcome: ReflectionBatchResult, finished: Map<number, RecordReflection>, view: (line: number, result: RecordReflection) => ReflectionView): void {
    for (const [line, result] of [...finished].sort((a, b) => a[0] - b[0])) {
      outcome.results.push(view(line, result));
      const s = outcome.summary;
      s.records++;
      if (result.kept === null) s.dropped++;
      else if (result.changed) s.changed++;
      if (result.error) {
        s.failed++;
        outcome.failed.push({ line, error: result.error });
      }
      s.calls += result.usage.calls;
      s.promptTokens += result.usage.promptTokens;
      s.completionTokens += result.usage.completionTokens;
      s.cachedReflections += result.usage.cachedReflections;
    }
  }

  /** The runs a `.sift/teacher-batches.json` records (its URI), for a client picking them up. */
  pendingBatches(jobsFileUri: string): Promise<PendingTeacherBatch[]> {
    let path: string;
    try {
      path = fileURLToPath(jobsFileUri);
    } catch {
      throw new ReflectionRequestError(`not a file URI: ${jobsFileUri}`);
    }
    if (basename(path) !== 'teacher-batches.json' || basename(dirname(path)) !== '.sift') throw new ReflectionRequestError(`not a teacher batch file (.sift/teacher-batches.json): ${jobsFileUri}`);
    return pendingTeacherBatches(path, this.teachers.configuredTeacher());
  }

  /** The estimate in money, or why there is none. */
  private async cost(doc: SiftDocument, model: string, tokens: { promptTokens: number; completionTokens: number }): Promise<{ cost?: ReflectionCost; costNote?: string }> {
    try {
      const prices = await this.teachers.prices(doc);
      const cost = estimateCost(prices, model, tokens);
      if (!cost) return { costNote: `no price for ${model} in ${prices.source === 'built-in' ? "Sift's price table" : prices.source} (add it in a price file: sift.teacher.priceFile)` };
      return { cost: { currency: cost.currency, sync: cost.sync, batch: cost.batch, priced: cost.priced, input: cost.price.input, output: cost.price.output, asOf: cost.asOf, source: cost.source } };
    } catch (error) {
      if (error instanceof PriceFileError) return { costNote: error.message };
      throw error;
    }
  }

  private async run<T>(session: ReflectionSession, doc: SiftDocument, use: (reflector: Reflector) => Promise<T>): Promise<{ result: T; model: string }> {
    try {
      return await this.withStudent(doc, async (student, model) => {
        const reflector = new Reflector({ session, student, releasedGate: this.teachers.settings.gateBothBelowOne });
        return { result: await use(reflector), model };
      });
    } finally {
      await session.cache?.flush().catch(() => undefined);
    }
  }

  /** The server's scorer and the dataset's score store, for as long as `use` runs. */
  private withStudent<T>(doc: SiftDocument, use: (student: StudentScoring, model: string) => Promise<T>): Promise<T> {
    return this.deps.scorers.with(async (scorer) => {
      const store = await this.deps.stores.get(doc.path);
      try {
        return await use({ scorer, store, config: scoringConfig(this.deps.settings()) }, scorer.modelId);
      } finally {
        await store.flush().catch(() => undefined);
      }
    });
  }

  private view(
    doc: SiftDocument,
    record: SelectedRecord,
    version: number,
    result: RecordReflection,
    session: ReflectionSession,
    model: string,
    format: FormatSpec,
  ): ReflectionView {
    const settings = this.deps.settings();
    return reflectionView(record, result, { uri: doc.uri, version, format, session, student: { model, template: settings.template, ifdVariant: settings.ifdVariant } });
  }
}
