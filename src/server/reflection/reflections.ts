import type { FormatSpec } from '../../core/dataset/types';
import { Reflector, TeacherError, estimateReflection, type RecordReflection, type ReflectionSession } from '../../core/reflect';
import type { ReflectionBatchParams, ReflectionBatchResult, ReflectionEstimate, ReflectionSettings, SiftSettings } from '../../protocol';
import type { ReflectionMode, ReflectionView } from '../../protocol/reflectionView';
import type { SiftDocument } from '../document';
import type { Scorers, Stores } from '../resources';
import { scoringConfig } from '../settings';
import { checkMode } from './errors';
import { selectRecords, selectedRecord, type IfdScores, type SelectedRecord } from './selection';
import { TeacherSessions } from './sessions';
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
    };
  }

  /**
   * The pipeline over the selected records. Cancelling keeps what finished (and the reflection
   * cache keeps every finished teacher call), so running the same batch again resumes.
   */
  async reflectBatch(doc: SiftDocument, params: ReflectionBatchParams, signal: AbortSignal, report: ReportProgress): Promise<ReflectionBatchResult> {
    checkMode(params?.mode);
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
    for (const [line, result] of [...finished].sort((a, b) => a[0] - b[0])) {
      outcome.results.push(this.view(doc, byLine.get(line)!, version, result, session, model, format));
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
    return outcome;
  }

  private async run<T>(session: ReflectionSession, doc: SiftDocument, use: (reflector: Reflector) => Promise<T>): Promise<{ result: T; model: string }> {
    try {
      return await this.deps.scorers.with(async (scorer) => {
        const store = await this.deps.stores.get(doc.path);
        try {
          const reflector = new Reflector({
            session,
            student: { scorer, store, config: scoringConfig(this.deps.settings()) },
            releasedGate: this.teachers.settings.gateBothBelowOne,
          });
          return { result: await use(reflector), model: scorer.modelId };
        } finally {
          await store.flush().catch(() => undefined);
        }
      });
    } finally {
      await session.cache?.flush().catch(() => undefined);
    }
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
