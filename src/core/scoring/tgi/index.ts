export { TgiScorer } from './client';
export type { TgiScorerOptions, TgiMismatch } from './client';
export * from './protocol';
