export { SglangScorer } from './client';
export type { SglangScorerOptions } from './client';
export * from './protocol';
