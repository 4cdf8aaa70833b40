export { VllmScorer, planBatches, detectBos, DEFAULT_VLLM_MODE } from './client';
export type { VllmScorerOptions, VllmServerInfo } from './client';
export * from './protocol';
export type { HttpEvent, HttpStats, HttpFailureKind, HttpPoolOptions } from '../http/pool';
