import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

/**
 * Sift's per-user cache folder (pulled models, remembered model hashes): `$SIFT_CACHE_DIR`, else
 * `$XDG_CACHE_HOME/sift`, else `~/.cache/sift`. Nothing in it belongs to a dataset, so it is never
 * committed with one; `SIFT_CACHE_DIR` lets tests and sandboxes keep it elsewhere.
 */
export function userCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.SIFT_CACHE_DIR) return resolve(env.SIFT_CACHE_DIR);
  return join(env.XDG_CACHE_HOME ? resolve(env.XDG_CACHE_HOME) : join(homedir(), '.cache'), 'sift');
}
