export type { DsRule, MetricName, MetricResult, RatioVariant, RecordLosses, Score, SpanLoss, TemplateName } from './types';
export { METHOD_VERSION } from './version';
export { meanNll, perplexity, sumNll, type SpanSum } from './nll';
export { ifd, rifd } from './ifd';
export { dsWeight, validMean, type DsResult, type ValidMean } from './ds';
export {
  dsKeep,
  keepBelow,
  nearestRankPercentile,
  topCount,
  topFraction,
  type RankOptions,
  type RankOrder,
  type Selection,
  type SelectionDecision,
  type ThresholdOptions,
  type TieRule,
} from './select';
export {
  extractNumericAnswer,
  majorityVote,
  selfConsistency,
  type AnswerOptions,
  type Candidate,
  type ConsistencyResult,
  type Vote,
} from './consistency';
export { TEMPLATE_NAMES, TEXT_TEMPLATE_NAMES, directResponsePrefix, instructionText, isTemplateName, renderPrompt, renderReversePrompt } from './templates';
export { histogram, percentileRank, quantiles, type Histogram } from './summary';
export { formatNumber, scoreValue } from './scores';
