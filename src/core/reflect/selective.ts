/**
 * Selective Reflection-Tuning (METHODS §4.1-4.3): the teacher rewrites, the student decides.
 *
 * - Instruction stage: the teacher writes a new, harder instruction and its answer; the student
 *   scores the original and the rewrite and the pair with the HIGHER IFD is kept (Eq. 6).
 * - Response stage: the teacher writes a better answer to the kept pair's instruction; the pair with
 *   the LOWER r-IFD is kept (Eq. 9).
 *
 * Every score comes from `scoreRecords` (the metrics of src/core/metrics, through the score store),
 * so a candidate's numbers are exactly what `sift score` reports for the same pair. A comparison
 * only ever chooses a candidate with a value: an unscorable candidate (null metric), a rewrite the
 * teacher could not deliver, or a rewrite with a fallback field never wins, and the decision says
 * why. The released script's extra rule (keep only rewritten pairs with IFD < 1 and r-IFD < 1,
 * METHODS §4.3) is the `releasedGate` option.
 */
import type { TrainingPair } from '../dataset/types';
import { METHOD_VERSION } from '../metrics/version';
import { formatNumber } from '../metrics/scores';
import type { MetricResult } from '../metrics/types';
import type { ScoringConfig } from '../scoring/plan';
import { toRecordScore, type RecordScore } from '../scoring/recordScore';
import { scoreRecords, type RecordLossResult } from '../scoring/scoreRecords';
import type { TokenScorer } from '../scoring/types';
import type { ScoreStore } from '../store/scoreStore';
import type { ReflectionSession } from './reflection';
import { TeacherError } from './teacher';
import type {
  Candidate,
  CandidateId,
  GateResult,
  RecordReflection,
  ReflectionKind,
  ReflectionMode,
  StageDecision,
} from './types';

/** The student that judges the candidates. */
export interface StudentScoring {
  scorer: TokenScorer;
  store: ScoreStore;
  /** Template, boundary and ratio variant; the metrics are always IFD and r-IFD. */
  config: Pick<ScoringConfig, 'template' | 'boundary' | 'ifdVariant'>;
  /** Default: the current METHOD_VERSION. */
  methodVersion?: string;
}

export interface ReflectorOptions {
  /** The teacher side: teacher, prompts, cache (one per configuration, see ReflectionSession). */
  session: ReflectionSession;
  student: StudentScoring;
  /** The released selection script's extra rule (METHODS §4.3); off by default. */
  releasedGate?: boolean;
}

export interface RecordRunOptions {
  signal?: AbortSignal;
  /** Called as each stage starts, for a status line. */
  onStage?: (stage: 'score-original' | ReflectionKind) => void;
}

export interface BatchItem {
  /** The caller's handle (a line number, a document position). */
  id: number;
  pair: TrainingPair;
}

export interface BatchOptions {
  signal?: AbortSignal;
  /** Records in flight at once (default 4). The teacher client limits its own calls too. */
  concurrency?: number;
  /** Each record's result, as it finishes (any order). */
  onRecord?: (id: number, result: RecordReflection) => void;
  /** Records finished so far. */
  onProgress?: (done: number) => void;
}

export interface BatchSummary {
  records: number;
  changed: number;
  failed: number;
  dropped: number;
  usage: { calls: number; promptTokens: number; completionTokens: number; cachedReflections: number };
}

/** What a batch will cost, shown before it runs. */
export interface ReflectionEstimate {
  records: number;
  /** Teacher calls at most (a selective run's response stage is counted for every record). */
  calls: number;
  /** Reflections answered by the cache (no call). */
  cachedCalls: number;
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
  /** The output format the calls will ask for. */
  structured: boolean;
}

const LABEL: Record<CandidateId, string> = {
  original: 'the original pair',
  'instruction-reflected': 'the instruction-reflected pair',
  'response-reflected': 'the response-reflected pair',
};

export class Reflector {
  readonly session: ReflectionSession;
  private readonly student: StudentScoring;
  private readonly releasedGate: boolean;

  constructor(options: ReflectorOptions) {
    this.session = options.session;
    this.student = options.student;
    this.releasedGate = options.releasedGate ?? false;
  }

  /** Student scores (IFD and r-IFD) of pairs, in order, through the score store. */
  async scorePairs(pairs: TrainingPair[], signal?: AbortSignal): Promise<RecordScore[]> {
    const config: ScoringConfig = { ...this.student.config, metrics: ['ifd', 'rifd'] };
    const results: RecordLossResult[] = new Array(pairs.length);
    await scoreRecords(pairs.map((pair, id) => ({ id, pair })), {
      scorer: this.student.scorer,
      store: this.student.store,
      config,
      methodVersion: this.student.methodVersion ?? METHOD_VERSION,
      signal,
      onResult: (result) => {
        results[result.id] = result;
      },
    });
    return results.map((r) => toRecordScore(r, config.metrics, { ifdVariant: config.ifdVariant, dsRule: 'paper' }));
  }

  /** The pipeline for one record (a code action, or one line of a batch). */
  async reflectRecord(pair: TrainingPair, mode: ReflectionMode, options: RecordRunOptions = {}): Promise<RecordReflection> {
    const { signal } = options;
    const errors: string[] = [];
    options.onStage?.('score-original');
    const [originalScore] = await this.scorePairs([pair], signal);
    const original = candidateFrom('original', pair, originalScore);
    const candidates: Candidate[] = [original];
    const decisions: StageDecision[] = [];
    if (original.scoreError) errors.push(`scoring the original failed: ${original.scoreError}`);
    let current = original;
    let currentPair = pair;
    const stages: ReflectionKind[] = mode === 'selective' ? ['instruction', 'response'] : [mode];
    for (const kind of stages) {
      if (current.scoreError) break;
      options.onStage?.(kind);
      const outcome = await this.stage(kind, current, currentPair, signal);
      if (outcome.candidate) candidates.push(outcome.candidate);
      decisions.push(outcome.decision);
      if (outcome.error) errors.push(outcome.error);
      if (outcome.candidate && outcome.decision.chosen === outcome.candidate.id) {
        current = outcome.candidate;
        currentPair = outcome.pair!;
      }
    }
    const usage = { calls: 0, promptTokens: 0, completionTokens: 0, cachedReflections: 0 };
    for (const c of candidates) {
      if (!c.teacher) continue;
      usage.calls += c.teacher.calls;
      usage.promptTokens += c.teacher.usage.promptTokens;
      usage.completionTokens += c.teacher.usage.completionTokens;
      if (c.teacher.cached) usage.cachedReflections++;
    }
    const changed = currentPair.instruction !== pair.instruction || currentPair.input !== pair.input || currentPair.response !== pair.response;
    const result: RecordReflection = {
      mode,
      candidates,
      decisions,
      kept: current.id,
      keptPair: currentPair,
      changed,
      reason: outcomeReason(current.id, decisions),
      usage,
    };
    if (this.releasedGate) {
      const gate = releasedGate(mode, current);
      result.gate = gate;
      if (!gate.passed) {
        result.kept = null;
        result.keptPair = undefined;
        result.changed = true;
        result.reason = `dropped by the released selection rule: ${gate.reason}`;
      }
    }
    if (errors.length > 0) result.error = errors.join('; ');
    return result;
  }

  /**
   * The pipeline over many records, `concurrency` at a time. A fatal teacher error (bad key,
   * unknown model or URL) or an abort stops starting new records; the records in flight finish
   * (or abort) and are reported, then the error is thrown. Other failures are per record
   * (`RecordReflection.error`).
   */
  async reflectBatch(items: Iterable<BatchItem> | AsyncIterable<BatchItem>, mode: ReflectionMode, options: BatchOptions = {}): Promise<BatchSummary> {
    const summary: BatchSummary = { records: 0, changed: 0, failed: 0, dropped: 0, usage: { calls: 0, promptTokens: 0, completionTokens: 0, cachedReflections: 0 } };
    const concurrency = Math.max(1, options.concurrency ?? 4);
    const inFlight = new Set<Promise<void>>();
    let stop: unknown;
    let done = 0;
    const run = async (item: BatchItem): Promise<void> => {
      try {
        const result = await this.reflectRecord(item.pair, mode, { signal: options.signal });
        summary.records++;
        if (result.kept === null) summary.dropped++;
        else if (result.changed) summary.changed++;
        if (result.error) summary.failed++;
        summary.usage.calls += result.usage.calls;
        summary.usage.promptTokens += result.usage.promptTokens;
        summary.usage.completionTokens += result.usage.completionTokens;
        summary.usage.cachedReflections += result.usage.cachedReflections;
        options.onRecord?.(item.id, result);
        options.onProgress?.(++done);
      } catch (error) {
        stop ??= error;
      }
    };
    for await (const item of items) {
      if (stop !== undefined || options.signal?.aborted) break;
      const work = run(item);
      inFlight.add(work);
      void work.finally(() => inFlight.delete(work));
      while (inFlight.size >= concurrency) await Promise.race(inFlight);
    }
    await Promise.all(inFlight);
    if (stop === undefined && options.signal?.aborted) stop = options.signal.reason ?? new DOMException('This operation was aborted', 'AbortError');
    if (stop !== undefined) throw stop;
    return summary;
  }

  /** What a batch will cost, before it runs (see `estimateReflection`). */
  estimate(pairs: Iterable<TrainingPair>, mode: ReflectionMode): ReflectionEstimate {
    return estimateReflection(this.session, pairs, mode);
  }

  private async stage(
    kind: ReflectionKind,
    incumbent: Candidate,
    base: TrainingPair,
    signal: AbortSignal | undefined,
  ): Promise<{ candidate?: Candidate; pair?: TrainingPair; decision: StageDecision; error?: string }> {
    const metric = kind === 'instruction' ? 'ifd' : 'rifd';
    const rule = kind === 'instruction' ? 'higher' : 'lower';
    const id: CandidateId = kind === 'instruction' ? 'instruction-reflected' : 'response-reflected';
    const decision = (chosen: CandidateId, reason: string): StageDecision => ({ stage: kind, metric, rule, between: [incumbent.id, id], chosen, reason });
    const incumbentValue = incumbent.scores?.[metric];
    // Nothing could be compared with the rewrite: don't pay for it.
    if (!incumbentValue || incumbentValue.value === null) {
      const why = incumbentValue?.value === null ? incumbentValue.reason : 'not scored';
      return { decision: decision(incumbent.id, `${LABEL[incumbent.id]} has no ${metricName(metric)} (${why}), so no rewrite could be compared with it; the teacher was not asked`) };
    }
    let reflection;
    try {
      reflection = await this.session.reflect(kind, base, signal);
    } catch (error) {
      if (signal?.aborted || !(error instanceof TeacherError) || error.fatal) throw error;
      const candidate: Candidate = {
        id,
        instruction: base.instruction,
        input: base.input,
        response: base.response,
        scores: null,
        fallbacks: [],
        notes: [],
        teacherError: error.message,
      };
      return { candidate, decision: decision(incumbent.id, `no rewrite: the teacher call failed (${error.message})`), error: `${kind} reflection: ${error.message}` };
    }
    const [score] = await this.scorePairs([reflection.pair], signal);
    const candidate = candidateFrom(id, reflection.pair, score);
    candidate.critique = reflection.critique;
    candidate.fallbacks = reflection.fallbacks;
    candidate.notes = reflection.notes;
    candidate.teacher = reflection.teacher;
    const needed = kind === 'instruction' ? 2 : 1;
    if (reflection.fallbacks.length >= needed) {
      candidate.ineligible = `the teacher gave no usable rewrite (${reflection.fallbacks.map((f) => f.reason).join('; ')}); the original text was kept`;
    } else if (reflection.fallbacks.length > 0) {
      const f = reflection.fallbacks[0];
      candidate.ineligible = `partial rewrite: the ${f.field} fell back to the original (${f.reason}), so the pair would mix old and new text`;
    }
    const error = candidate.scoreError ? `scoring the ${kind}-reflected pair failed: ${candidate.scoreError}` : undefined;
    return { candidate, pair: reflection.pair, decision: decision(...compare(incumbent, candidate, metric, rule)), error };
  }
}

/**
 * Teacher calls and tokens a batch will take at most, before it runs (no student needed): every
 * stage a mode runs is one call per record unless the cache already holds that reflection. A
 * selective run's response stage is estimated on the original pair (the pair stage 1 keeps is not
 * known yet) and counts as cached only when both possible pairs are cached.
 */
export function estimateReflection(session: ReflectionSession, pairs: Iterable<TrainingPair>, mode: ReflectionMode): ReflectionEstimate {
  const estimate: ReflectionEstimate = { records: 0, calls: 0, cachedCalls: 0, promptTokens: 0, completionTokens: 0, totalTokens: 0, structured: session.structured };
  const add = (kind: ReflectionKind, pair: TrainingPair, cached: boolean): void => {
    if (cached) {
      estimate.cachedCalls++;
      return;
    }
    const cost = session.estimate(kind, pair);
    estimate.calls++;
    estimate.promptTokens += cost.promptTokens;
    estimate.completionTokens += cost.completionTokens;
  };
  for (const pair of pairs) {
    estimate.records++;
    if (mode === 'response') {
      add('response', pair, session.isCached('response', pair));
      continue;
    }
    const firstCached = session.isCached('instruction', pair);
    add('instruction', pair, firstCached);
    if (mode === 'selective') {
      let secondCached = false;
      const entry = firstCached ? session.cache?.get(session.cacheKey('instruction', pair)) : undefined;
      if (entry) {
        const rewritten: TrainingPair = { ...pair, instruction: entry.instruction ?? pair.instruction, input: '', response: entry.response };
        secondCached = session.isCached('response', pair) && session.isCached('response', rewritten);
      }
      add('response', pair, secondCached);
    }
  }
  estimate.totalTokens = estimate.promptTokens + estimate.completionTokens;
  return estimate;
}

function candidateFrom(id: CandidateId, pair: TrainingPair, score: RecordScore): Candidate {
  const candidate: Candidate = {
    id,
    instruction: pair.instruction,
    input: pair.input,
    response: pair.response,
    scores: { ifd: score.metrics.ifd ?? { value: null, reason: 'not scored' }, rifd: score.metrics.rifd ?? { value: null, reason: 'not scored' } },
    losses: score.losses,
    fallbacks: [],
    notes: [],
  };
  if (score.error) candidate.scoreError = score.error;
  return candidate;
}

function metricName(metric: 'ifd' | 'rifd'): string {
  return metric === 'ifd' ? 'IFD' : 'r-IFD';
}

/** The pairwise rule of one stage; only a candidate with a value can win. */
function compare(incumbent: Candidate, challenger: Candidate, metric: 'ifd' | 'rifd', rule: 'higher' | 'lower'): [CandidateId, string] {
  const name = metricName(metric);
  if (challenger.ineligible) return [incumbent.id, `${LABEL[challenger.id]} is not eligible: ${challenger.ineligible}`];
  if (challenger.scoreError) return [incumbent.id, `${LABEL[challenger.id]} could not be scored (${challenger.scoreError})`];
  const a: MetricResult = incumbent.scores![metric];
  const b: MetricResult = challenger.scores![metric];
  if (b.value === null) return [incumbent.id, `${LABEL[challenger.id]} has no ${name} (${b.reason}), so it cannot win`];
  if (a.value === null) return [incumbent.id, `${LABEL[incumbent.id]} has no ${name} (${a.reason}), so nothing was compared`];
  const [x, y] = [formatNumber(b.value, a.value), formatNumber(a.value, b.value)];
  if (rule === 'higher') {
    if (b.value > a.value) return [challenger.id, `${name} ${x} > ${y}: the student finds the rewritten pair harder (higher IFD wins)`];
    return [incumbent.id, `${name} ${x} ${b.value === a.value ? '=' : '<'} ${y}: the rewrite is not harder for the student (higher IFD wins)`];
  }
  if (b.value < a.value) return [challenger.id, `${name} ${x} < ${y}: the new response makes the instruction easier to predict (lower r-IFD wins)`];
  return [incumbent.id, `${name} ${x} ${b.value === a.value ? '=' : '>'} ${y}: the new response does not make the instruction easier to predict (lower r-IFD wins)`];
}

function outcomeReason(kept: CandidateId, decisions: StageDecision[]): string {
  const why = decisions.map((d) => `${d.stage} stage: ${d.reason}`).join('; ');
  return `kept ${LABEL[kept]}${why ? ` (${why})` : ''}`;
}

/**
 * METHODS §4.3: the released script keeps a record only when its last stage chose the rewrite and
 * that pair has IFD < 1 and r-IFD < 1 (a missing score fails, as NaN compares false there).
 */
function releasedGate(mode: ReflectionMode, kept: Candidate): GateResult {
  const required: CandidateId = mode === 'instruction' ? 'instruction-reflected' : 'response-reflected';
  if (kept.id !== required) return { passed: false, reason: `${LABEL[required]} was not chosen` };
  const ifd = kept.scores?.ifd;
  const rifd = kept.scores?.rifd;
  if (!ifd || ifd.value === null) return { passed: false, reason: `no IFD (${ifd?.reason ?? 'not scored'})` };
  if (!rifd || rifd.value === null) return { passed: false, reason: `no r-IFD (${rifd?.reason ?? 'not scored'})` };
  if (ifd.value >= 1) return { passed: false, reason: `IFD ${formatNumber(ifd.value, 1)} >= 1` };
  if (rifd.value >= 1) return { passed: false, reason: `r-IFD ${formatNumber(rifd.value, 1)} >= 1` };
  return { passed: true, reason: `IFD ${formatNumber(ifd.value, 1)} < 1 and r-IFD ${formatNumber(rifd.value, 1)} < 1` };
}
