export { LocalScorer, type LocalScorerOptions } from './localScorer';
export { ggufIdentity } from './modelIdentity';
