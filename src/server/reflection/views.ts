import type { FormatSpec } from '../../core/dataset/types';
import type { MetricResult, SpanLoss } from '../../core/metrics/types';
import { ApplyPairError, recordLine, type Candidate, type RecordReflection, type ReflectionSession } from '../../core/reflect';
import type { CandidateView, LossView, MetricView, ReflectionView } from '../../protocol/reflectionView';
import type { SelectedRecord } from './selection';

/** What a view shows besides the record and its result. */
export interface ViewContext {
  uri: string;
  /** The document's version when the reflection started (Accept checks it). */
  version: number;
  format: FormatSpec;
  session: ReflectionSession;
  student: { model: string; template: string; ifdVariant: string };
}

/** One record's reflection as the diff view shows it (plain JSON; see protocol/reflectionView.ts). */
export function reflectionView(record: SelectedRecord, result: RecordReflection, context: ViewContext): ReflectionView {
  const value: unknown = JSON.parse(record.text);
  const original = result.candidates[0];
  const { session } = context;
  return {
    uri: context.uri,
    line: record.line,
    version: context.version,
    originalText: record.text,
    format: context.format.name,
    mode: result.mode,
    candidates: result.candidates.map((c) => candidateView(c, original, record.text, value, context.format)),
    decisions: result.decisions.map((d) => ({ ...d, between: [...d.between] })),
    kept: result.kept,
    changed: result.changed,
    reason: result.reason,
    gate: result.gate,
    usage: { ...result.usage },
    error: result.error,
    teacher: { model: session.teacher.model, endpoint: session.teacher.endpoint, promptVersion: session.prompts.version },
    student: context.student,
  };
}

function metricView(result: MetricResult): MetricView {
  return result.value === null ? { value: null, reason: result.reason } : { value: result.value };
}

function lossView(loss: SpanLoss | undefined): LossView | undefined {
  if (!loss) return undefined;
  return { mean: Number.isFinite(loss.mean) ? loss.mean : null, n: loss.n };
}

function candidateView(c: Candidate, original: Candidate, text: string, value: unknown, format: FormatSpec): CandidateView {
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
    view.line = recordLine(text, value, format, c);
    const instructionChanged = c.instruction !== original.instruction || c.input !== original.input;
    const responseChanged = c.response !== original.response;
    if (instructionChanged && responseChanged) {
      view.instructionOnlyLine = recordLine(text, value, format, { instruction: c.instruction, input: c.input, response: original.response });
      view.responseOnlyLine = recordLine(text, value, format, { instruction: original.instruction, input: original.input, response: c.response });
    }
  } catch (error) {
    if (!(error instanceof ApplyPairError)) throw error;
    view.lineError = `the pair cannot be written back into this record: ${error.message}`;
  }
  return view;
}
