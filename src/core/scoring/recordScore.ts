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

/** The first reason a requested metric has no value, if any. */
export function firstProblem(score: RecordScore): string | undefined {
  if (score.error) return score.error;
  for (const result of Object.values(score.metrics)) {
    if (result && result.value === null) return result.reason;
  }
  return undefined;
}
