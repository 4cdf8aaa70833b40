export { ScoreStore, storeKey, type StoreKeyParts, type StoredLosses, type StoredEntryInfo } from './scoreStore';
export { defaultStorePath } from './location';
