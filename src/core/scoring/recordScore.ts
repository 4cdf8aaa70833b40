import { computeRecordMetrics, type MetricSettings, type RecordMetrics } from '../metrics/recordMetrics';
import type { MetricName, RecordLosses, TurnScore } from '../metrics/types';
import { combineTurns } from '../metrics/turns';
import type { RecordLossResult, TurnOutcomes } from './scoreRecords';

export { TURN_SCORES, type TurnScore } from '../metrics/types';

/** One assistant turn's scores. */
export interface TurnScoreDetail {
  metrics: RecordMetrics;
  losses: RecordLosses;
}

/** A record's scores as every consumer (CLI output, hovers, filters) sees them. */
export interface RecordScore {
  /** The record's score: its last turn's, or the turns' mean or min (`turnScore`). */
  metrics: RecordMetrics;
  /** The last assistant turn's span losses. */
  losses: RecordLosses;
  /** Every assistant turn in order (the last one included), for records with more than one. */
  turns?: TurnScoreDetail[];
  truncated: boolean;
  /** Every requested metric came from the store. */
  cached: boolean;
  /** Some metric came from a stored entry this installation did not compute (imported, committed with the folder). */
  foreign?: true;
  /** When the newest of its metrics was computed (epoch ms). */
  at: number;
  /** Why the run could not score it (endpoint failure); metric-level reasons live in `metrics`. */
  error?: string;
  /** How a sequence was built when it departs from the rule (the chat template's token-prefix fallback). */
  notes?: string[];
}

export function toRecordScore(result: RecordLossResult, metrics: MetricName[], settings: MetricSettings, turnScore: TurnScore = settings.turnScore ?? 'last'): RecordScore {
  const turns = (result.turns ?? [result.metrics]).map((outcomes) => turnDetail(outcomes, metrics, settings));
  const last = turns[turns.length - 1];
  const notes = [...new Set(turns.flatMap((t) => t.notes))];
  const score: RecordScore = {
    metrics: turns.length > 1 && turnScore !== 'last' ? combineTurns(turns.map((t) => t.metrics), metrics, turnScore) : last.metrics,
    losses: last.losses,
    truncated: turns.some((t) => t.truncated),
    cached: turns.every((t) => t.cached),
    at: Math.max(...turns.map((t) => t.at)),
    error: turns.find((t) => t.error !== undefined)?.error,
  };
  if (turns.length > 1) score.turns = turns.map((t) => ({ metrics: t.metrics, losses: t.losses }));
  if (notes.length > 0) score.notes = notes;
  if (turns.some((t) => t.foreign)) score.foreign = true;
  return score;
}

interface TurnResult extends TurnScoreDetail {
  truncated: boolean;
  cached: boolean;
  foreign: boolean;
  at: number;
  error?: string;
  notes: string[];
}

function turnDetail(outcomes: TurnOutcomes, metrics: MetricName[], settings: MetricSettings): TurnResult {
  const losses: RecordLosses = {};
  let truncated = false;
  let cached = true;
  let foreign = false;
  let at = 0;
  let error: string | undefined;
  const notes: string[] = [];
  for (const metric of metrics) {
    const outcome = outcomes[metric];
    if (!outcome) continue;
    if (!outcome.ok) {
      error ??= outcome.error;
      cached = false;
      continue;
    }
    Object.assign(losses, outcome.losses);
    truncated ||= outcome.truncated;
    cached &&= outcome.cached;
    foreign ||= outcome.foreign === true;
    at = Math.max(at, outcome.at);
    notes.push(...(outcome.notes ?? []));
  }
  const computed = computeRecordMetrics(losses, metrics, settings);
  if (error) {
    for (const metric of metrics) {
      if (outcomes[metric]?.ok === false) computed[metric] = { value: null, reason: error };
    }
  }
  return { metrics: computed, losses, truncated, cached, foreign, at, error, notes };
}

/**
 * Requested metrics that have no value for a reason of the record's own text (an empty span, a
 * prompt longer than the model context), with that reason. These are not failures of the run:
 * metrics the run could not score carry `score.error` as their reason (see toRecordScore).
 */
export function notComputable(score: RecordScore, metrics: readonly MetricName[]): Partial<Record<MetricName, string>> {
  const reasons: Partial<Record<MetricName, string>> = {};
  for (const metric of metrics) {
    const result = score.metrics[metric];
    if (result && result.value === null && !(score.error !== undefined && result.reason === score.error)) reasons[metric] = result.reason;
  }
  return reasons;
}
