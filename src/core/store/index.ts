export { ScoreStore, storeKey, type StoreKeyParts, type StoredLosses } from './scoreStore';
export { defaultStorePath } from './location';
