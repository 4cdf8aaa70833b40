import type { MetricSettings } from '../metrics/recordMetrics';
import type { MetricName, Score } from '../metrics/types';
import type { ScoringConfig } from '../scoring/plan';
import { toRecordScore, type RecordScore } from '../scoring/recordScore';
import { scoreRecords, type RunStats } from '../scoring/scoreRecords';
import type { TokenScorer } from '../scoring/types';
import type { ScoreStore } from '../store/scoreStore';
import type { SourcedCandidate } from './readCandidates';

export interface CandidateScoringOptions {
  scorer: TokenScorer;
  store: ScoreStore;
  config: ScoringConfig;
  metricSettings: MetricSettings;
  methodVersion: string;
  signal?: AbortSignal;
  chunkTokens?: number;
  concurrency?: number | (() => number);
  /** Called after each candidate is scored (for progress). */
  onScored?: (score: RecordScore) => void;
}

/**
 * Scores each candidate as the record {instruction: question, response: candidate} through the
 * ordinary pipeline (store, de-duplication, template), so its DS weight is the one `sift filter`
 * gives the same question and answer. Returns one score per candidate, in input order.
 */
export async function scoreCandidates(candidates: readonly SourcedCandidate[], options: CandidateScoringOptions): Promise<{ scores: RecordScore[]; stats: RunStats }> {
  const scores = new Array<RecordScore>(candidates.length);
  const metrics: MetricName[] = options.config.metrics;
  const stats = await scoreRecords(
    candidates.map((c, id) => ({ id, pair: { instruction: c.record.question, input: '', response: c.record.candidate, history: [] } })),
    {
      scorer: options.scorer,
      store: options.store,
      config: options.config,
      methodVersion: options.methodVersion,
      signal: options.signal,
      chunkTokens: options.chunkTokens,
      concurrency: options.concurrency,
      onResult: (result) => {
        const score = toRecordScore(result, metrics, options.metricSettings);
        scores[result.id] = score;
        options.onScored?.(score);
      },
    },
  );
  return { scores, stats };
}

/** What a weighted vote weighs a candidate by. */
export const VOTE_WEIGHTS = ['logprob', 'ds'] as const;
export type VoteWeight = (typeof VOTE_WEIGHTS)[number];

/** Metrics a vote weight needs: the conditioned loss L(y|x) comes with IFD, DS weight with DS. */
export function metricsForWeight(weight: VoteWeight): MetricName[] {
  return weight === 'logprob' ? ['ifd'] : ['ds'];
}

/**
 * A candidate's score in (0, 1] for the weighted vote:
 * - `logprob`: exp(−L(y|x)), the student's length-normalised probability of the candidate after the
 *   templated question (Wang et al.'s normalised weight, METHODS §7);
 * - `ds`: 1 / DS weight, 1 for a candidate as typical as the valid set, smaller the farther it is.
 * Null when the candidate has no such score.
 */
export function voteScore(score: RecordScore | undefined, weight: VoteWeight): number | null {
  if (score === undefined) return null;
  if (weight === 'logprob') {
    const loss = score.losses.yGivenX;
    return loss && loss.n > 0 && Number.isFinite(loss.mean) ? Math.exp(-loss.mean) : null;
  }
  const ds = score.metrics.ds;
  return ds && ds.value !== null && ds.value > 0 ? 1 / ds.value : null;
}

/** The DS weight of a scored candidate, as the selection rules take it. */
export function dsScore(score: RecordScore | undefined): Score {
  if (score === undefined) return { value: null, reason: 'not scored' };
  return score.metrics.ds ?? { value: null, reason: 'no DS weight' };
}
