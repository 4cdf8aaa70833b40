import { createHash } from 'node:crypto';
import type { FormatSpec, TrainingPair } from '../core/dataset/types';
import type { MetricResult, SpanLoss } from '../core/metrics/types';
import {
  ApplyPairError,
  DEFAULT_PROMPTS,
  ReflectionCache,
  ReflectionSession,
  Reflector,
  TeacherClient,
  TeacherError,
  defaultReflectionCachePath,
  estimateReflection,
  loadPromptOverride,
  recordLine,
  teacherBaseUrl,
  type Candidate,
  type PromptSet,
  type RecordReflection,
  type TeacherEvent,
} from '../core/reflect';
import { displayUrl } from '../core/net/redact';
import {
  DEFAULT_REFLECTION_SETTINGS,
  type ReflectionBatchParams,
  type ReflectionBatchResult,
  type ReflectionEstimate,
  type ReflectionSelection,
  type ReflectionSettings,
  type SiftSettings,
} from '../protocol';
import { REFLECTION_SETTINGS, normalizeGroup } from '../protocol/settings';
import { REFLECTION_MODES, type CandidateView, type LossView, type MetricView, type ReflectionMode, type ReflectionView } from '../protocol/reflectionView';
import type { SiftDocument } from './document';
import type { Scorers, Stores } from './resources';
import type { JobItem } from './scheduler';
import { resolveSettingPath, scoringConfig } from './settings';

/** Reflection was asked for, but no teacher is configured. */
export class NoTeacherError extends Error {
  override name = 'NoTeacherError';
}

/** A request that cannot be served as asked (bad arguments, a changed document): the message says why. */
export class ReflectionRequestError extends Error {
  override name = 'ReflectionRequestError';
}

export const NO_TEACHER_MESSAGE =
  'No teacher is configured: set sift.teacher.baseUrl and sift.teacher.model (and the teacher\'s API key, if the endpoint needs one).';

/** Every field checked against the settings schema (any LSP client may send these). */
export function normalizeReflectionSettings(raw: unknown): ReflectionSettings {
  const r = (raw && typeof raw === 'object' ? raw : {}) as Record<string, unknown>;
  return normalizeGroup(REFLECTION_SETTINGS, (_spec, field) => r[field]);
}

/**
 * `{ teacher: {...}, reflection: {...} }` as a generic client's `workspace/didChangeConfiguration`
 * sends the `sift` section (the shape of VS Code's `sift.teacher.*` / `sift.reflection.*`).
 */
export function reflectionSettingsFromSection(section: Record<string, unknown>, base: ReflectionSettings): ReflectionSettings | undefined {
  const teacher = section.teacher;
  const reflection = section.reflection;
  if ((!teacher || typeof teacher !== 'object') && (!reflection || typeof reflection !== 'object')) return undefined;
  return normalizeReflectionSettings({ ...base, ...(teacher as object | undefined), ...(reflection as object | undefined) });
}

export interface ReflectionDeps {
  scorers: Scorers;
  stores: Stores;
  settings(): SiftSettings;
  workspaceRoot(): string | undefined;
  /** IFD of each item (by text), scoring what the store lacks; null when a record has none. */
  ifdScores(doc: SiftDocument, items: JobItem[], signal: AbortSignal): Promise<Map<string, number | null>>;
  info(text: string): void;
}

/** Called as a reflection advances: a short message and, for batches, a percentage. */
export type ReportProgress = (message: string, percentage?: number) => void;

interface Selected {
  line: number;
  text: string;
  pair: TrainingPair;
}

const STAGE_MESSAGES = {
  'score-original': 'the student scores the original',
  instruction: 'the teacher rewrites the instruction; the student compares',
  response: 'the teacher rewrites the response; the student compares',
} as const;

/**
 * Teacher reflection for the language server: one teacher client per configuration (its
 * concurrency limit covers every document), one ReflectionSession per dataset (each with the
 * reflection cache beside its dataset, `.sift/reflections.jsonl`, shared with `sift reflect`), and
 * the student is the server's current scorer and score store. The key is kept here only, never
 * logged or returned.
 */
export class Reflections {
  private settings: ReflectionSettings = DEFAULT_REFLECTION_SETTINGS;
  private apiKey: string | undefined;
  private identity = '';
  private teacher: TeacherClient | undefined;
  private prompts: Promise<PromptSet> | undefined;
  private readonly sessions = new Map<string, Promise<ReflectionSession>>();

  constructor(private readonly deps: ReflectionDeps) {}

  /** New settings and/or key (`apiKey` undefined: unchanged; '' clears it). Returns true when the teacher changed. */
  configure(settings: ReflectionSettings, apiKey?: string): boolean {
    this.settings = settings;
    if (apiKey !== undefined) this.apiKey = apiKey || undefined;
    const keyHash = this.apiKey ? createHash('sha256').update(this.apiKey).digest('hex').slice(0, 12) : '';
    const identity = JSON.stringify([settings.baseUrl, settings.model, settings.structuredOutput, settings.maxConcurrency, settings.promptsFile, keyHash]);
    if (identity === this.identity) return false;
    this.identity = identity;
    this.teacher = undefined;
    this.prompts = undefined;
    const old = [...this.sessions.values()];
    this.sessions.clear();
    for (const session of old) void session.then((s) => s.cache?.close()).catch(() => undefined);
    return true;
  }

  /** The teacher for log lines: model and endpoint, never a key. */
  describe(): string {
    if (this.missing()) return 'no teacher configured';
    let where: string;
    try {
      where = displayUrl(teacherBaseUrl(this.settings.baseUrl));
    } catch {
      where = '(invalid URL)';
    }
    return `teacher ${this.settings.model} at ${where}${this.apiKey ? ' (a key is set)' : ''}${this.settings.gateBothBelowOne ? ', released gate on' : ''}`;
  }

  /** Why reflection cannot run, or undefined when a teacher is configured. */
  missing(): string | undefined {
    if (!this.settings.baseUrl || !this.settings.model) return NO_TEACHER_MESSAGE;
    try {
      teacherBaseUrl(this.settings.baseUrl);
    } catch {
      return `sift.teacher.baseUrl is not an http(s) URL: ${displayUrl(this.settings.baseUrl)}`;
    }
    return undefined;
  }

  /** Finished reflections still being written; resolves when they are on disk. */
  async flush(): Promise<void> {
    const sessions = await Promise.allSettled(this.sessions.values());
    await Promise.allSettled(sessions.map((s) => (s.status === 'fulfilled' ? s.value.cache?.flush() : undefined)));
  }

  /** The pipeline for one record, as the diff view shows it. */
  async reflectOne(doc: SiftDocument, index: number, mode: ReflectionMode, signal: AbortSignal, report: ReportProgress): Promise<ReflectionView> {
    checkMode(mode);
    const session = await this.session(doc);
    const record = this.selected(doc, index);
    const version = doc.version;
    const format = doc.records.format;
    const { result, model } = await this.run(session, doc, async (reflector) =>
      reflector.reflectRecord(record.pair, mode, { signal, onStage: (stage) => report(STAGE_MESSAGES[stage]) }),
    );
    return this.view(doc.uri, record, version, format, result, session, model);
  }

  /** What a batch will cost, and exactly which lines it covers. */
  async estimate(doc: SiftDocument, params: ReflectionBatchParams, signal: AbortSignal): Promise<ReflectionEstimate> {
    checkMode(params?.mode);
    const session = await this.session(doc);
    const { records, skipped } = await this.select(doc, params, signal);
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
    const session = await this.session(doc);
    const { records } = await this.select(doc, params, signal);
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
            concurrency: this.settings.maxConcurrency,
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
      outcome.results.push(this.view(doc.uri, byLine.get(line)!, version, format, result, session, model));
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

  // ---- internals -------------------------------------------------------------------------------

  private async run<T>(session: ReflectionSession, doc: SiftDocument, use: (reflector: Reflector) => Promise<T>): Promise<{ result: T; model: string }> {
    try {
      return await this.deps.scorers.with(async (scorer) => {
        const store = await this.deps.stores.get(doc.path);
        try {
          const reflector = new Reflector({
            session,
            student: { scorer, store, config: scoringConfig(this.deps.settings()) },
            releasedGate: this.settings.gateBothBelowOne,
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

  /** The session for a dataset: the current teacher and prompts, and the dataset's reflection cache. */
  private session(doc: SiftDocument): Promise<ReflectionSession> {
    const missing = this.missing();
    if (missing) return Promise.reject(new NoTeacherError(missing));
    const key = doc.path === undefined ? '' : defaultReflectionCachePath(doc.path);
    let session = this.sessions.get(key);
    if (!session) {
      const identity = this.identity;
      session = this.makeSession(key);
      this.sessions.set(key, session);
      // A session that could not be made (an unreadable prompt file) is tried again next time.
      session.catch(() => {
        if (this.identity === identity && this.sessions.get(key) === session) this.sessions.delete(key);
      });
    }
    return session;
  }

  private async makeSession(cachePath: string): Promise<ReflectionSession> {
    const s = this.settings;
    this.teacher ??= new TeacherClient({
      url: s.baseUrl,
      model: s.model,
      apiKey: this.apiKey,
      concurrency: s.maxConcurrency,
      onEvent: (event) => this.deps.info(describeTeacherEvent(event)),
    });
    // JSON only: a prompt module would run code in the language server.
    this.prompts ??= s.promptsFile ? loadPromptOverride(resolveSettingPath(s.promptsFile, this.deps.workspaceRoot()), { allowCode: false }) : Promise.resolve(DEFAULT_PROMPTS);
    const prompts = await this.prompts.catch((error: unknown) => {
      this.prompts = undefined;
      throw new ReflectionRequestError(error instanceof Error ? error.message : String(error));
    });
    const cache = cachePath ? await ReflectionCache.open(cachePath) : ReflectionCache.memory();
    if (cache.skippedLines > 0) this.deps.info(`reflection cache ${cachePath}: ${cache.skippedLines} unreadable line(s) ignored`);
    const structured = s.structuredOutput === 'auto' ? 'auto' : s.structuredOutput === 'on';
    this.deps.info(`reflection: ${this.describe()}, prompts ${prompts.version}, cache ${cachePath || 'in memory'}`);
    return new ReflectionSession({ teacher: this.teacher, prompts, cache, structured });
  }

  private selected(doc: SiftDocument, index: number): Selected {
    const line = doc.records.line(index);
    if (!line) throw new ReflectionRequestError(`there is no line ${index + 1}`);
    if (!line.scorable || !line.pair) {
      const problem = line.problems.find((p) => p.severity === 'error') ?? line.problems[0];
      const why = line.blank ? 'it is blank' : (problem?.reason ?? problem?.message ?? 'it is not a record with an instruction and a response');
      throw new ReflectionRequestError(`line ${index + 1} cannot be reflected: ${why}`);
    }
    return { line: index, text: line.text, pair: line.pair };
  }

  /** The records a batch covers, in file order, and how many selected lines were left out. */
  private async select(doc: SiftDocument, selection: ReflectionSelection, signal: AbortSignal): Promise<{ records: Selected[]; skipped: number }> {
    const records: Selected[] = [];
    let skipped = 0;
    const take = (index: number): void => {
      const line = doc.records.line(index);
      if (line?.scorable && line.pair) records.push({ line: index, text: line.text, pair: line.pair });
      else if (line && !line.blank) skipped++;
    };
    if (Array.isArray(selection.lines)) {
      const lines = [...new Set(selection.lines)].sort((a, b) => a - b);
      for (const index of lines) {
        if (!Number.isInteger(index) || index < 0) throw new ReflectionRequestError(`not a 0-based line number: ${String(index)}`);
        if (index >= doc.records.lineCount) throw new ReflectionRequestError(`there is no line ${index + 1}`);
        take(index);
      }
      return { records, skipped };
    }
    if (selection.lowest !== undefined) {
      const n = selection.lowest;
      if (typeof n !== 'number' || !Number.isInteger(n) || n < 1) throw new ReflectionRequestError(`lowest must be a positive integer, got ${String(n)}`);
      const all: Selected[] = [];
      for (let i = 0; i < doc.records.lineCount; i++) {
        const line = doc.records.line(i)!;
        if (line.scorable && line.pair) all.push({ line: i, text: line.text, pair: line.pair });
      }
      const unique = new Map(all.map((r) => [r.text, { text: r.text, pair: r.pair }]));
      const ifd = await this.deps.ifdScores(doc, [...unique.values()], signal);
      const ranked = all
        .map((r) => ({ r, value: ifd.get(r.text) }))
        .filter((x): x is { r: Selected; value: number } => typeof x.value === 'number' && Number.isFinite(x.value))
        .sort((a, b) => a.value - b.value || a.r.line - b.r.line);
      const chosen = ranked.slice(0, n).map((x) => x.r);
      return { records: chosen.sort((a, b) => a.line - b.line), skipped: all.length - ranked.length };
    }
    if (selection.all === true) {
      for (let i = 0; i < doc.records.lineCount; i++) take(i);
      return { records, skipped };
    }
    throw new ReflectionRequestError('say which records to reflect: lines, lowest or all');
  }

  private view(uri: string, record: Selected, version: number, format: FormatSpec, result: RecordReflection, session: ReflectionSession, model: string): ReflectionView {
    const value: unknown = JSON.parse(record.text);
    const original = result.candidates[0];
    const settings = this.deps.settings();
    return {
      uri,
      line: record.line,
      version,
      originalText: record.text,
      format: format.name,
      mode: result.mode,
      candidates: result.candidates.map((c) => candidateView(c, original, value, format)),
      decisions: result.decisions.map((d) => ({ ...d, between: [...d.between] })),
      kept: result.kept,
      changed: result.changed,
      reason: result.reason,
      gate: result.gate,
      usage: { ...result.usage },
      error: result.error,
      teacher: { model: session.teacher.model, endpoint: session.teacher.endpoint, promptVersion: session.prompts.version },
      student: { model, template: settings.template, ifdVariant: settings.ifdVariant },
    };
  }
}

function checkMode(mode: unknown): asserts mode is ReflectionMode {
  if (!(REFLECTION_MODES as readonly unknown[]).includes(mode)) {
    throw new ReflectionRequestError(`mode must be one of ${REFLECTION_MODES.join(', ')}, got ${String(mode)}`);
  }
}

function metricView(result: MetricResult): MetricView {
  return result.value === null ? { value: null, reason: result.reason } : { value: result.value };
}

function lossView(loss: SpanLoss | undefined): LossView | undefined {
  if (!loss) return undefined;
  return { mean: Number.isFinite(loss.mean) ? loss.mean : null, n: loss.n };
}

function candidateView(c: Candidate, original: Candidate, value: unknown, format: FormatSpec): CandidateView {
  const view: CandidateView = {
    id: c.id,
    instruction: c.instruction,
    input: c.input,
    response: c.response,
    losses: { yGivenX: lossView(c.losses?.yGivenX), y: lossView(c.losses?.y), xGivenY: lossView(c.losses?.xGivenY), x: lossView(c.losses?.x) },
    fallbacks: c.fallbacks.map((f) => ({ field: f.field, reason: f.reason })),
    notes: [...c.notes],
  };
  if (c.scores) view.scores = { ifd: metricView(c.scores.ifd), rifd: metricView(c.scores.rifd) };
  if (c.critique !== undefined) view.critique = c.critique;
  if (c.teacher) {
    const t = c.teacher;
    view.teacher = { calls: t.calls, attempts: t.attempts, promptTokens: t.usage.promptTokens, completionTokens: t.usage.completionTokens, cached: t.cached, structured: t.structured };
  }
  if (c.teacherError !== undefined) view.teacherError = c.teacherError;
  if (c.ineligible !== undefined) view.ineligible = c.ineligible;
  if (c.scoreError !== undefined) view.scoreError = c.scoreError;
  if (c.id === 'original' || c.teacherError !== undefined) return view;
  try {
    view.line = recordLine(value, format, c);
    const instructionChanged = c.instruction !== original.instruction || c.input !== original.input;
    const responseChanged = c.response !== original.response;
    if (instructionChanged && responseChanged) {
      view.instructionOnlyLine = recordLine(value, format, { instruction: c.instruction, input: c.input, response: original.response });
      view.responseOnlyLine = recordLine(value, format, { instruction: original.instruction, input: original.input, response: c.response });
    }
  } catch (error) {
    if (!(error instanceof ApplyPairError)) throw error;
    view.lineError = `the pair cannot be written back into this record: ${error.message}`;
  }
  return view;
}

function describeTeacherEvent(event: TeacherEvent): string {
  if (event.type === 'retry') return `teacher: ${event.message}; retrying in ${(event.delayMs / 1000).toFixed(1)} s (attempt ${event.attempt} of ${event.maxAttempts})`;
  return `teacher: ${event.message}; giving up after ${event.attempts} attempts`;
}
