export { HttpEndpointPool, normaliseBaseUrl, runAll } from './pool';
export type { HttpCall, HttpEvent, HttpFailureKind, HttpPoolOptions, HttpStats } from './pool';
export { MalformedResponseError, displayUrl, parseJsonBody, redact, serverErrorMessage, describeNetworkError } from './errors';
export { backoffDelayMs, parseRetryAfterMs, sleep, abortReason, throwIfAborted } from './retry';
export { planBatches, detectBos, prepareSequences, discoverServedModel, finishLogprobs, isSequenceRefusal, SPLITTABLE_STATUSES } from './common';
export type { ModelCardLike } from './common';
