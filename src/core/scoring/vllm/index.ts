export { VllmScorer, planBatches, detectBos } from './client';
export { DEFAULT_VLLM_MODE } from '../backends';
export type { VllmScorerOptions, VllmServerInfo } from './client';
export * from './protocol';
export type { HttpEvent, HttpStats, HttpFailureKind, HttpPoolOptions } from '../http/pool';
