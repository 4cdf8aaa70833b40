import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readFile, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { writeFileAtomic } from '../../io/atomicWrite';
import { userCacheDir } from '../../io/userCacheDir';

/** The file in the user's cache folder that remembers each model file's hash. */
export const MODEL_HASH_CACHE_FILE = 'model-hashes.json';

/** Files remembered at most; the ones hashed longest ago are forgotten first. */
const MAX_CACHED_FILES = 256;

interface CachedHash {
  size: number;
  /** Modification time in nanoseconds, as a decimal string (a double loses nanoseconds). */
  mtimeNs: string;
  sha256: string;
  /** When it was hashed (ms since the epoch), to forget the oldest first. */
  hashedAt: number;
}

export interface ModelIdentityOptions {
  /** The folder of the hash cache; the user's cache folder (`userCacheDir`) by default. */
  cacheDir?: string;
}

/**
 * A content identity for a GGUF file, used in score-store keys so that scores follow the weights,
 * not the path: `gguf:<base name>:<first 16 hex digits of the file's sha256>`. The whole file is
 * hashed (two fine-tunes of one base can share their header and last tensors, so a partial hash
 * would let them share scores), once per version of the file: see `modelFileSha256`.
 */
export async function ggufIdentity(modelPath: string, options: ModelIdentityOptions = {}): Promise<string> {
  const sha256 = await modelFileSha256(modelPath, options);
  return `gguf:${basename(modelPath)}:${sha256.slice(0, 16)}`;
}

/** Hashes in progress in this process, so that two callers of one file share one read. */
const inFlight = new Map<string, Promise<string>>();

/**
 * The sha256 of a file, remembered by (absolute path, size, modification time) in the user's cache
 * folder, outside any dataset: a multi-GB model is read once, not on every start, and a file
 * rewritten in place (another mtime or size) is hashed again. The cache is only a shortcut: an
 * unreadable or corrupt one is ignored and rewritten, and failing to write it costs a re-hash later.
 */
export async function modelFileSha256(path: string, options: ModelIdentityOptions = {}): Promise<string> {
  const absolute = resolve(path);
  const before = await stat(absolute, { bigint: true });
  const version = { size: Number(before.size), mtimeNs: before.mtimeNs.toString() };
  const key = `${absolute}\0${version.size}\0${version.mtimeNs}`;
  const pending = inFlight.get(key);
  if (pending) return pending;
  const cachePath = join(options.cacheDir ?? userCacheDir(), MODEL_HASH_CACHE_FILE);
  const cached = (await readHashCache(cachePath)).get(absolute);
  if (cached && cached.size === version.size && cached.mtimeNs === version.mtimeNs) return cached.sha256;
  const hashing = (async () => {
    const sha256 = await hashFile(absolute);
    const after = await stat(absolute, { bigint: true });
    // A file written while it was read has a hash of no version of it: return it, but remember nothing.
    if (Number(after.size) === version.size && after.mtimeNs.toString() === version.mtimeNs) {
      await rememberHash(cachePath, absolute, { ...version, sha256, hashedAt: Date.now() }).catch(() => undefined);
    }
    return sha256;
  })().finally(() => inFlight.delete(key));
  inFlight.set(key, hashing);
  return hashing;
}

async function hashFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** The cache's entries; empty when it is missing, unreadable or not the shape written here. */
async function readHashCache(cachePath: string): Promise<Map<string, CachedHash>> {
  const entries = new Map<string, CachedHash>();
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(cachePath, 'utf8'));
  } catch {
    return entries;
  }
  const files = (parsed as { files?: unknown } | null)?.files;
  if (typeof files !== 'object' || files === null) return entries;
  for (const [path, value] of Object.entries(files)) {
    const entry = value as Partial<CachedHash> | null;
    if (
      Number.isSafeInteger(entry?.size) &&
      typeof entry?.mtimeNs === 'string' &&
      /^\d+$/.test(entry.mtimeNs) &&
      typeof entry.sha256 === 'string' &&
      /^[0-9a-f]{64}$/.test(entry.sha256) &&
      Number.isFinite(entry.hashedAt)
    ) {
      entries.set(path, entry as CachedHash);
    }
  }
  return entries;
}

/** Adds one file's hash to the cache (read again just before, so other processes' entries stay), atomically. */
async function rememberHash(cachePath: string, path: string, entry: CachedHash): Promise<void> {
  const entries = await readHashCache(cachePath);
  entries.delete(path);
  entries.set(path, entry);
  const kept = [...entries].sort((a, b) => b[1].hashedAt - a[1].hashedAt).slice(0, MAX_CACHED_FILES);
  kept.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  await mkdir(dirname(cachePath), { recursive: true });
  await writeFileAtomic(cachePath, JSON.stringify({ files: Object.fromEntries(kept) }, null, 1) + '\n');
}
