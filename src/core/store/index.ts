export { NO_CACHE_STORE_LIMIT, ScoreStore, storeKey, type StoreKeyParts, type StoredLosses, type StoredEntryInfo } from './scoreStore';
export { defaultStorePath } from './location';
