import type { RecordMetrics } from './recordMetrics';
import type { MetricName, MetricResult } from './types';

/**
 * A multi-turn record's score from its assistant turns' (`turnScore` mean or min; `last` needs no
 * combining): the mean or min of each metric over the turns that have a value; no value when no
 * turn has one.
 */
export function combineTurns(turns: readonly RecordMetrics[], metrics: readonly MetricName[], how: 'mean' | 'min'): RecordMetrics {
  const combined: RecordMetrics = {};
  for (const metric of metrics) {
    const values = turns.map((t) => t[metric]?.value).filter((v): v is number => typeof v === 'number');
    if (values.length === 0) {
      combined[metric] = turns[turns.length - 1][metric] ?? { value: null, reason: 'no turn has a score' };
      continue;
    }
    const value: MetricResult = { value: how === 'min' ? Math.min(...values) : values.reduce((a, b) => a + b, 0) / values.length };
    combined[metric] = value;
  }
  return combined;
}
