export { HttpEndpointPool, normaliseBaseUrl, runAll } from './pool';
export type { HttpCall, HttpEvent, HttpFailureKind, HttpPoolOptions, HttpStats } from './pool';
export { planBatches, prepareSequences, finishLogprobs, isSequenceRefusal, SPLITTABLE_STATUSES } from './batching';
export { detectBos, discoverServedModel } from './discovery';
export type { ModelCardLike } from './discovery';
export { HttpScorer, BatchingHttpScorer } from './scorer';
