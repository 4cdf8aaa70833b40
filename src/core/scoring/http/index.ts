export { HttpEndpointPool, normaliseBaseUrl, runAll } from './pool';
export type { HttpCall, HttpEvent, HttpFailureKind, HttpPoolOptions, HttpStats } from './pool';
export { planBatches, detectBos, prepareSequences, discoverServedModel, finishLogprobs, isSequenceRefusal, SPLITTABLE_STATUSES } from './common';
export type { ModelCardLike } from './common';
