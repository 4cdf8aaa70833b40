import { createHash } from 'node:crypto';
import { encodeKey, isStoreFileError, StoreDatabase } from '../store/database';
import { defaultStorePath } from '../store/location';
import { installationOrigin } from '../store/origin';
import type { ReflectionKind, TokenUsage } from './types';

/** Finished reflections live in the store database beside the dataset, with the scores (see store/database.ts). */
export function defaultReflectionCachePath(datasetPath: string): string {
  return defaultStorePath(datasetPath);
}

/** The legacy append-only file imported on first open (see README, "The score store"). */
export const LEGACY_REFLECTIONS_FILE = 'reflections.jsonl';

export interface ReflectionKeyParts {
  /** `PromptSet.version`: the built-in prompt version or an override's content hash. */
  promptVersion: string;
  teacherModel: string;
  kind: ReflectionKind;
  /** Sampling settings change the answer. */
  temperature: number;
  instruction: string;
  input: string;
  response: string;
}

/**
 * The content address of one teacher reflection. Parts are length-prefixed so no two part lists
 * collide. The endpoint URL is not part of it (the same model behind another URL gives the same
 * kind of answer, and URLs can carry credentials); nor is the API key, ever.
 */
export function reflectionKey(parts: ReflectionKeyParts): string {
  const hash = createHash('sha256');
  for (const part of ['reflection', parts.promptVersion, parts.teacherModel, parts.kind, String(parts.temperature), parts.instruction, parts.input, parts.response]) {
    hash.update(`${part.length}:`);
    hash.update(part);
  }
  return hash.digest('hex').slice(0, 32);
}

/** A finished reflection: the teacher's usable output, as parsed. */
export interface CachedReflection {
  critique: string;
  /** The new instruction (instruction reflections only). */
  instruction?: string;
  response: string;
  /** What the call cost when it was made. */
  usage: TokenUsage;
  structured: boolean;
  /** Epoch ms. */
  at: number;
  /** Set on look-up when the reflection was not made by this installation (imported, committed by someone else). */
  foreign?: true;
}

/**
 * Finished reflections in the store database (table `reflections`, see store/database.ts), looked up
 * one key at a time. Each is written as soon as it is finished (teacher calls are slow and cost
 * money, so nothing is held back). Later entries win. Only usable output is cached: a reflection
 * that needed a fallback is asked again next run. A cache that cannot be written never fails a
 * reflection (it was paid for): the entry is kept and written by the next write that works.
 */
export class ReflectionCache {
  private readonly pending = new Map<string, CachedReflection>();
  private readonly memoryEntries: Map<string, CachedReflection> | undefined;
  private readonly ownOrigin = installationOrigin();
  private originId: number | undefined;
  /** Told when writes start failing (with the error) and when they work again (undefined). */
  onWriteStatus: ((error: Error | undefined) => void) | undefined;
  /** Legacy lines that could not be read when they were imported (torn writes, hand edits). */
  skippedLines = 0;
  writeError: Error | undefined;
  /**
   * Whether reflections this installation did not make (imported, committed with the folder) are
   * served. A restricted workspace sets false: those are asked of the teacher again, never written
   * into a dataset unchecked.
   */
  acceptForeign = true;

  private constructor(
    readonly path: string | undefined,
    private readonly db: StoreDatabase | undefined,
  ) {
    if (!db) this.memoryEntries = new Map();
  }

  /** A cache that keeps nothing on disk. */
  static memory(): ReflectionCache {
    return new ReflectionCache(undefined, undefined);
  }

  /**
   * `open`, or when the database cannot be opened (a file where `.sift/` should be, a read-only
   * folder), a cache that keeps this run's reflections in memory: `writeError` says why, `unsaved`
   * counts them, and the first put tells `onWriteStatus`.
   */
  static async openOrKeepInMemory(path: string): Promise<ReflectionCache> {
    try {
      return await ReflectionCache.open(path);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      if (isStoreFileError(error)) throw error;
      const cache = new ReflectionCache(path, undefined);
      cache.writeError = error instanceof Error ? error : new Error(message);
      return cache;
    }
  }

  /** Opens the database at `path`; the first open imports a legacy `reflections.jsonl` beside it. */
  static async open(path: string): Promise<ReflectionCache> {
    let skipped = 0;
    const { db } = await StoreDatabase.openImporting(path, LEGACY_REFLECTIONS_FILE, async (database, lines, origin) => {
      const insert = database.statement(
        'INSERT INTO reflections(key, v, at, origin) VALUES (?, ?, ?, ?) ON CONFLICT(key) DO UPDATE SET v = excluded.v, at = excluded.at, origin = excluded.origin',
      );
      let imported = 0;
      for await (const line of lines) {
        if (line.trim() === '') continue;
        try {
          const { key, value } = parseReflectionLine(JSON.parse(line) as Record<string, unknown>);
          insert.run(encodeKey(key), encodeReflection(value), value.at, origin);
          imported++;
        } catch {
          skipped++;
        }
      }
      return imported;
    });
    const cache = new ReflectionCache(path, db);
    cache.skippedLines = skipped;
    return cache;
  }

  /** Reflections in the cache (a count over the database: not for hot paths). */
  get size(): number {
    if (this.memoryEntries) return this.memoryEntries.size;
    const row = this.db!.statement('SELECT count(*) AS n FROM reflections').get() as { n: number | bigint };
    let extra = 0;
    for (const key of this.pending.keys()) if (this.db!.statement('SELECT 1 FROM reflections WHERE key = ?').get(encodeKey(key)) === undefined) extra++;
    return Number(row.n) + extra;
  }

  get(key: string): CachedReflection | undefined {
    if (this.memoryEntries) return this.memoryEntries.get(key);
    const waiting = this.pending.get(key);
    if (waiting) return waiting;
    const row = this.db!.statement('SELECT v, at, origin FROM reflections WHERE key = ?').get(encodeKey(key)) as
      | { v: string; at: number | bigint; origin: number | bigint | null }
      | undefined;
    if (!row) return undefined;
    const value = parseReflectionValue(JSON.parse(row.v) as Record<string, unknown>);
    value.at = Number(row.at);
    if (row.origin === null || this.db!.nameOf(Number(row.origin)) !== this.ownOrigin) {
      if (!this.acceptForeign) return undefined;
      value.foreign = true;
    }
    return value;
  }

  has(key: string): boolean {
    return this.get(key) !== undefined;
  }

  /** Remembers a reflection and writes it; resolves when it is committed or the write failed. */
  put(key: string, value: CachedReflection): Promise<void> {
    const { foreign: _foreign, ...own } = value;
    if (this.memoryEntries) {
      if (this.writeError && this.memoryEntries.size === 0) this.onWriteStatus?.(this.writeError);
      this.memoryEntries.set(key, own);
      return Promise.resolve();
    }
    this.pending.set(key, own);
    return this.flush();
  }

  /** Entries not in the database yet. */
  get unsaved(): number {
    if (this.memoryEntries && this.writeError) return this.memoryEntries.size;
    return this.pending.size;
  }

  /** Resolves when every entry put so far is committed (or the write failed). */
  flush(): Promise<void> {
    if (!this.db || this.pending.size === 0) return Promise.resolve();
    const db = this.db;
    const batch = [...this.pending];
    try {
      db.write(() => {
        this.originId ??= db.nameId('origin', this.ownOrigin);
        const insert = db.statement(
          'INSERT INTO reflections(key, v, at, origin) VALUES (?, ?, ?, ?) ON CONFLICT(key) DO UPDATE SET v = excluded.v, at = excluded.at, origin = excluded.origin',
        );
        for (const [key, value] of batch) insert.run(encodeKey(key), encodeReflection(value), value.at, this.originId);
      });
    } catch (error) {
      const failed = error instanceof Error ? error : new Error(String(error));
      if (this.writeError === undefined) this.onWriteStatus?.(failed);
      this.writeError = failed;
      return Promise.resolve();
    }
    for (const [key, value] of batch) if (this.pending.get(key) === value) this.pending.delete(key);
    if (this.writeError !== undefined) {
      this.writeError = undefined;
      this.onWriteStatus?.(undefined);
    }
    return Promise.resolve();
  }

  async close(): Promise<void> {
    await this.flush();
    this.db?.close();
  }
}

/** The stored form of a reflection (the `v` of an export line): everything but `at` and `foreign`. */
export function encodeReflection(value: CachedReflection): string {
  return JSON.stringify({
    critique: value.critique,
    ...(value.instruction !== undefined ? { instruction: value.instruction } : {}),
    response: value.response,
    usage: { promptTokens: value.usage.promptTokens, completionTokens: value.usage.completionTokens },
    structured: value.structured,
  });
}

/** Reads a reflection value; throws when it is not one. */
export function parseReflectionValue(v: Record<string, unknown>): CachedReflection {
  if (!v || typeof v !== 'object' || typeof v.response !== 'string' || typeof v.critique !== 'string') throw new Error('not a reflection entry (needs "critique" and "response")');
  const usage = (v.usage ?? {}) as Record<string, unknown>;
  return {
    critique: v.critique,
    instruction: typeof v.instruction === 'string' ? v.instruction : undefined,
    response: v.response,
    usage: {
      promptTokens: typeof usage.promptTokens === 'number' ? usage.promptTokens : 0,
      completionTokens: typeof usage.completionTokens === 'number' ? usage.completionTokens : 0,
    },
    structured: v.structured === true,
    at: typeof v.at === 'number' ? v.at : 0,
  };
}

/** One line of the JSON-lines form (legacy `reflections.jsonl`, or a `sift store export` reflection line): {"k", "v"}. */
export function parseReflectionLine(entry: Record<string, unknown>): { key: string; value: CachedReflection } {
  if (typeof entry.k !== 'string') throw new Error('not a reflection entry (needs "k")');
  const value = parseReflectionValue(entry.v as Record<string, unknown>);
  if (typeof entry.at === 'number') value.at = entry.at;
  return { key: entry.k, value };
}
