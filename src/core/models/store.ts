import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { writeFileAtomic } from '../io/atomicWrite';
import { userCacheDir } from '../io/userCacheDir';
import { catalogueModel } from './catalogue';

/**
 * The models folder: every pulled file, and `models.json`, which says where each came from and
 * what its sha256 is. Resolution reads only this file (no network), so `--model NAME` is instant.
 */
export const MANIFEST_FILE = 'models.json';

/** How a pulled file's checksum is known: published (catalogue), given with `--sha256`, or taken from its first download. */
export type ChecksumOrigin = 'catalogue' | 'given' | 'first download';

export interface PulledModel {
  /** What was pulled: a `hf:` URI or a URL (a catalogue name is stored as its URI). */
  source: string;
  /** The file's name in the models folder. */
  file: string;
  bytes: number;
  sha256: string;
  checksum: ChecksumOrigin;
}

interface Manifest {
  models: PulledModel[];
}

/** `$SIFT_MODELS_DIR`, else `models` in the user's cache folder (`$XDG_CACHE_HOME/sift/models` or `~/.cache/sift/models`). */
export function defaultModelsDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.SIFT_MODELS_DIR) return resolve(env.SIFT_MODELS_DIR);
  return join(userCacheDir(env), 'models');
}

export function readManifest(dir: string): PulledModel[] {
  const path = join(dir, MANIFEST_FILE);
  if (!existsSync(path)) return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new Error(`${path}: not valid JSON (${(error as Error).message}); delete it and pull the models again`, { cause: error });
  }
  const models = (parsed as Partial<Manifest> | null)?.models;
  return Array.isArray(models) ? models.filter((m): m is PulledModel => typeof m?.source === 'string' && typeof m.file === 'string') : [];
}

/** Adds or replaces the entry for `entry.source`. */
export async function recordPulled(dir: string, entry: PulledModel): Promise<void> {
  const models = readManifest(dir).filter((m) => m.source !== entry.source);
  models.push(entry);
  await writeFileAtomic(join(dir, MANIFEST_FILE), JSON.stringify({ models }, null, 2) + '\n');
}

/** The source a name stands for: a catalogue name becomes its `hf:` URI; URIs and URLs stay as they are. */
export function sourceOf(name: string): string {
  return catalogueModel(name)?.uri ?? name.trim();
}

export function isRemoteSource(name: string): boolean {
  return /^(hf:|huggingface:|https?:\/\/)/i.test(name.trim());
}

export type ModelResolution =
  | { kind: 'file'; path: string }
  | { kind: 'not pulled'; message: string }
  | { kind: 'unknown'; message: string };

/**
 * What `--model X` names: a GGUF file on disk, or a catalogue name / `hf:` URI / URL pulled before
 * into `dir`. Nothing is downloaded here: a model not pulled yet is an error that says how to pull it.
 */
export function resolveModel(name: string, dir: string = defaultModelsDir()): ModelResolution {
  const asPath = resolve(name);
  if (existsSync(asPath) && statSync(asPath).isFile()) return { kind: 'file', path: asPath };
  if (!catalogueModel(name) && !isRemoteSource(name)) {
    return { kind: 'unknown', message: `model not found: ${name} (give a GGUF file, a name from \`sift model list\`, a hf: URI or a URL)` };
  }
  const source = sourceOf(name);
  const entry = readManifest(dir).find((m) => m.source === source);
  const pull = `run \`sift model pull ${name}\` first`;
  if (!entry) return { kind: 'not pulled', message: `model ${name} is not downloaded yet: ${pull}` };
  const path = join(dir, entry.file);
  if (!existsSync(path)) return { kind: 'not pulled', message: `model ${name}: ${path} is gone: ${pull}` };
  // A cheap check on every use; the full checksum is checked by every pull.
  if (statSync(path).size !== entry.bytes) return { kind: 'not pulled', message: `model ${name}: ${path} has changed size since it was pulled: ${pull}` };
  return { kind: 'file', path };
}

/** The pulled entry whose file is `path`, if any (to name a model by its source rather than its file). */
export function pulledEntryFor(path: string, dir: string): PulledModel | undefined {
  const absolute = resolve(path);
  return readManifest(dir).find((m) => join(dir, m.file) === absolute);
}
