import { dsWeight } from './ds';
import { ifd, rifd } from './ifd';
import type { DsRule, MetricName, MetricResult, RatioVariant, RecordLosses, TurnScore } from './types';

export interface MetricSettings {
  ifdVariant: RatioVariant;
  dsRule: DsRule;
  /** Mean loss of the DS valid set; DS weight is unavailable without one. */
  validMeanLoss?: number;
  /** A multi-turn record's score from its turns' (default `last`; scoring/recordScore.ts). */
  turnScore?: TurnScore;
}

export type RecordMetrics = Partial<Record<MetricName, MetricResult>>;

/** Every requested metric of one record from its span losses (METHODS §2, §4.1, §5.2). */
export function computeRecordMetrics(losses: RecordLosses, metrics: MetricName[], settings: MetricSettings): RecordMetrics {
  const result: RecordMetrics = {};
  for (const metric of metrics) {
    switch (metric) {
      case 'ifd':
        result.ifd = losses.yGivenX && losses.y
          ? ifd(losses.yGivenX, losses.y, settings.ifdVariant)
          : { value: null, reason: 'IFD losses missing' };
        break;
      case 'rifd':
        result.rifd = losses.xGivenY && losses.x
          ? rifd(losses.xGivenY, losses.x, settings.ifdVariant)
          : { value: null, reason: 'r-IFD losses missing' };
        break;
      case 'ds':
        if (settings.validMeanLoss === undefined) result.ds = { value: null, reason: 'no DS valid set configured' };
        else if (!losses.xy || losses.xy.n === 0 || !Number.isFinite(losses.xy.mean)) result.ds = { value: null, reason: losses.xy?.unscorable ?? 'no tokens to score' };
        else {
          const ds = dsWeight(losses.xy.mean, settings.validMeanLoss, settings.dsRule);
          result.ds = ds.value === null ? { value: null, reason: ds.reason } : { value: ds.value };
        }
        break;
    }
  }
  return result;
}
