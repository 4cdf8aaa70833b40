import type { FormatSpec } from '../dataset/types';
import { validMean } from '../metrics/ds';
import type { DsRule } from '../metrics/types';
import type { ScoreStore } from '../store/scoreStore';
import type { ScoringConfig } from './plan';
import { scoreFile } from './scoreFile';
import type { TokenScorer } from './types';

export interface ValidSetOptions {
  scorer: TokenScorer;
  store: ScoreStore;
  /** The dataset's scoring config; only `ds` is computed for the valid set. */
  config: ScoringConfig;
  dsRule: DsRule;
  methodVersion: string;
  format?: FormatSpec;
  signal?: AbortSignal;
}

/**
 * DS weight's anchor: the mean of the valid set's per-record mean losses (METHODS §5.2). Scores what
 * the store lacks; throws when the valid set has no scorable record. Shared by the CLI and the
 * language server so both anchor DS the same way.
 */
export async function validSetMeanLoss(validPath: string, options: ValidSetOptions): Promise<number> {
  const losses: number[] = [];
  const problems: string[] = [];
  await scoreFile(validPath, {
    format: options.format,
    scorer: options.scorer,
    store: options.store,
    config: { ...options.config, metrics: ['ds'] },
    metricSettings: { ifdVariant: options.config.ifdVariant, dsRule: options.dsRule },
    methodVersion: options.methodVersion,
    signal: options.signal,
    onInvalid: (info, found) => problems.push(`line ${info.line}: ${found[0]?.message ?? 'invalid'}`),
    onScore: (_info, score) => {
      if (score.losses.xy) losses.push(score.losses.xy.mean);
    },
  });
  const mean = validMean(losses);
  if (mean.value === null) {
    throw new Error(`the valid set ${validPath} has no scorable record${problems.length ? ` (${problems.slice(0, 3).join('; ')})` : ''}`);
  }
  return mean.value;
}
