import { computeRecordMetrics, type MetricSettings, type RecordMetrics } from '../metrics/recordMetrics';
import type { MetricName, RecordLosses } from '../metrics/types';
import type { RecordLossResult } from './scoreRecords';

/** A record's scores as every consumer (CLI output, hovers, filters) sees them. */
export interface RecordScore {
  metrics: RecordMetrics;
  losses: RecordLosses;
  truncated: boolean;
  /** Every requested metric came from the store. */
  cached: boolean;
  /** When the newest of its metrics was computed (epoch ms). */
  at: number;
  /** Why the run could not score it (endpoint failure); metric-level reasons live in `metrics`. */
  error?: string;
}

export function toRecordScore(result: RecordLossResult, metrics: MetricName[], settings: MetricSettings): RecordScore {
  const losses: RecordLosses = {};
  let truncated = false;
  let cached = true;
  let at = 0;
  let error: string | undefined;
  for (const metric of metrics) {
    const outcome = result.metrics[metric];
    if (!outcome) continue;
    if (!outcome.ok) {
      error ??= outcome.error;
      cached = false;
      continue;
    }
    Object.assign(losses, outcome.losses);
    truncated ||= outcome.truncated;
    cached &&= outcome.cached;
    at = Math.max(at, outcome.at);
  }
  const computed = computeRecordMetrics(losses, metrics, settings);
  if (error) {
    for (const metric of metrics) {
      if (result.metrics[metric]?.ok === false) computed[metric] = { value: null, reason: error };
    }
  }
  return { metrics: computed, losses, truncated, cached, at, error };
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
