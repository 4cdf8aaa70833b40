import { createHash } from 'node:crypto';
import { dirname, relative, sep } from 'node:path';
import { encodeKey, IMPORTED_ORIGIN, isStoreFileError, StoreDatabase } from './database';
import { installationOrigin } from './origin';

/** What the store keeps for one (record, metric): the span losses as [mean, n] pairs, and when. */
export interface StoredLosses {
  /** Flat [mean0, n0, mean1, n1, ...] in the metric's fixed order (see scoring/recordScore.ts). */
  losses: number[];
  /** True when a sequence had to be cut to fit the model context. */
  truncated: boolean;
  /** Epoch milliseconds when it was computed. */
  at: number;
  /** Per span, in the same order: why it has no scored token (n = 0), when the text is the cause. */
  unscorable?: (string | null)[];
  /** How the sequences were built when it differs from the rule (a chat template's token-prefix fallback). */
  notes?: string[];
  /** Set on look-up when the entry was not computed by this installation (imported, merged, committed by someone else). */
  foreign?: true;
}

/** Key parts a writer can pass along with an entry, so entries can be cleared by model. */
export interface StoredEntryInfo {
  modelId?: string;
  metric?: string;
}

export interface StoreKeyParts {
  /** Every text the metric's sequences depend on, in a fixed order. */
  texts: string[];
  template: string;
  metric: string;
  modelId: string;
  methodVersion: string;
  boundary: string;
}

/**
 * The content address of one metric of one record. A record whose scored text is unchanged keeps its
 * score wherever it moves (another line, another file); any change to the text, the template, the
 * model or the method gives a new key. Parts are length-prefixed so no two part lists collide.
 */
export function storeKey(parts: StoreKeyParts): string {
  const hash = createHash('sha256');
  for (const part of [parts.methodVersion, parts.modelId, parts.metric, parts.template, parts.boundary, ...parts.texts]) {
    hash.update(`${part.length}:`);
    hash.update(part);
  }
  return hash.digest('hex').slice(0, 32);
}

/** Entries waiting in memory at most this long before they are written: what a crash can lose. */
export const STORE_FLUSH_DELAY_MS = 1000;
/** Or this many, whichever comes first (one transaction per batch keeps fast runs cheap). */
export const STORE_FLUSH_ENTRIES = 256;
/** A memory store (`--no-cache`, untitled buffers) keeps at most this many entries, dropping the oldest. */
export const MEMORY_STORE_LIMIT = 200_000;
/**
 * A command-line run with `--no-cache` keeps only this many (a record repeated nearby is still
 * scored once): a stored entry costs about 1.6 kB, and at the editor's limit the entries were a
 * third of the client's memory on a 200k-record run (821 MB peak, 497 MB with this limit).
 */
export const NO_CACHE_STORE_LIMIT = 10_000;
/** The name of the legacy append-only file imported on first open (see README, "The score store"). */
export const LEGACY_SCORES_FILE = 'scores.jsonl';

/** Told when writes start failing (with the error) and when they work again (undefined). */
export type StoreWriteListener = (error: Error | undefined) => void;

interface PendingEntry {
  value: StoredLosses;
  info: StoredEntryInfo | undefined;
}

interface ScoreRow {
  v: string;
  t: number | bigint;
  at: number | bigint;
  x: string | null;
  origin: number | bigint | null;
  mine: number | bigint;
}

export interface ScoreStoreOptions {
  /** The dataset the scores are for: entries written or found are recorded as its, for *Clear Scores*. */
  dataset?: string;
}

/**
 * Scores in the store database (see database.ts), looked up one key at a time. Entries put are
 * written in one transaction per batch, within `STORE_FLUSH_DELAY_MS` or every `STORE_FLUSH_ENTRIES`
 * entries (a kill -9 loses at most the batch in flight); until then `get` finds them in memory.
 * A failed write keeps its entries for the next one, so a store that becomes writable again loses
 * nothing, and it never stops the scoring that uses the store. Later entries win.
 */
export class ScoreStore {
  private readonly pending = new Map<string, PendingEntry>();
  /** Keys found in the database that are not recorded as this dataset's yet. */
  private readonly claims = new Set<string>();
  /** The memory store's entries (no database). */
  private readonly memoryEntries: Map<string, StoredLosses> | undefined;
  private flushTimer: NodeJS.Timeout | undefined;
  private datasetId: number | undefined;
  private originId: number | undefined;
  private ownOrigin = installationOrigin();
  /** Legacy lines that could not be read when they were imported (torn writes, hand edits). */
  skippedLines = 0;
  /** Entries imported from the legacy `scores.jsonl` by this open (0 when it was imported before). */
  importedLegacy = 0;
  writeError: Error | undefined;
  onWriteStatus: StoreWriteListener | undefined;

  private constructor(
    readonly path: string | undefined,
    private readonly db: StoreDatabase | undefined,
    private readonly dataset: string | undefined,
    private readonly memoryLimit = MEMORY_STORE_LIMIT,
  ) {
    if (!db) this.memoryEntries = new Map();
  }

  /** A store that keeps nothing on disk (`--no-cache`), bounded to `limit` entries. */
  static memory(limit = MEMORY_STORE_LIMIT): ScoreStore {
    return new ScoreStore(undefined, undefined, undefined, limit);
  }

  /**
   * A store whose database could not be opened (a file where `.sift/` should be, a read-only folder):
   * entries are kept in memory for this run, `writeError` says why, `unsaved` counts them, and the
   * first put tells `onWriteStatus`. The run goes on; a re-run scores those records again.
   */
  static unavailable(path: string, error: Error): ScoreStore {
    const store = new ScoreStore(path, undefined, undefined);
    store.writeError = error;
    return store;
  }

  /** `open`, or when the database cannot be opened, `unavailable` (for runs that must not stop on the store). */
  static async openOrKeepInMemory(path: string, options: ScoreStoreOptions = {}): Promise<ScoreStore> {
    try {
      return await ScoreStore.open(path, options);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      // A file that is not a database is a mistake to report, not a folder to work around.
      if (isStoreFileError(error)) throw error;
      return ScoreStore.unavailable(path, error instanceof Error ? error : new Error(message));
    }
  }

  /** Opens the database at `path`; the first open imports a legacy `scores.jsonl` beside it. */
  static async open(path: string, options: ScoreStoreOptions = {}): Promise<ScoreStore> {
    const dataset = options.dataset === undefined ? undefined : datasetName(path, options.dataset);
    let skipped = 0;
    const { db, imported } = await StoreDatabase.openImporting(path, LEGACY_SCORES_FILE, async (database, lines, origin) => {
      const result = await importScoreLines(database, lines, origin);
      skipped = result.skipped;
      return result.imported;
    });
    const store = new ScoreStore(path, db, dataset);
    store.importedLegacy = imported;
    store.skippedLines = skipped;
    if (dataset !== undefined) store.datasetId = db.findNameId('dataset', dataset);
    return store;
  }

  /** Entries in the store (a count over the database: not for hot paths). */
  get size(): number {
    if (this.memoryEntries) return this.memoryEntries.size;
    const row = this.db!.statement('SELECT count(*) AS n FROM scores').get() as { n: number | bigint };
    return Number(row.n) + [...this.pending.keys()].filter((k) => !this.inDatabase(k)).length;
  }

  /** Entries put but not in the database yet (waiting, or kept after a failed write). */
  get unsaved(): number {
    if (this.memoryEntries && this.writeError) return this.memoryEntries.size;
    return this.pending.size;
  }

  get(key: string): StoredLosses | undefined {
    if (this.memoryEntries) return this.memoryEntries.get(key);
    const waiting = this.pending.get(key);
    if (waiting) return waiting.value;
    const row = this.db!.statement(
      'SELECT v, t, at, x, origin, EXISTS(SELECT 1 FROM members WHERE members.key = scores.key AND members.dataset = ?) AS mine FROM scores WHERE key = ?',
    ).get(this.datasetId ?? -1, encodeKey(key)) as ScoreRow | undefined;
    if (!row) return undefined;
    if (this.dataset !== undefined && !Number(row.mine)) {
      this.claims.add(key);
      if (this.claims.size >= STORE_FLUSH_ENTRIES * 16) void this.flush();
      else this.scheduleFlush();
    }
    const value = decodeScore(row);
    if (row.origin === null || this.db!.nameOf(Number(row.origin)) !== this.ownOrigin) value.foreign = true;
    return value;
  }

  /** Remembers an entry; it is written with the next batch. `info` records its model and metric. */
  put(key: string, value: StoredLosses, info?: StoredEntryInfo): void {
    if (this.memoryEntries) {
      if (this.writeError && this.memoryEntries.size === 0) this.onWriteStatus?.(this.writeError);
      this.memoryEntries.delete(key);
      this.memoryEntries.set(key, value);
      // Oldest first: Map iteration follows insertion order.
      while (this.memoryEntries.size > this.memoryLimit) this.memoryEntries.delete(this.memoryEntries.keys().next().value!);
      return;
    }
    this.pending.delete(key);
    this.pending.set(key, { value, info });
    if (this.pending.size >= STORE_FLUSH_ENTRIES) void this.flush();
    else this.scheduleFlush();
  }

  /**
   * Forgets this dataset's scores: entries recorded as its and as no other dataset's (an entry
   * another dataset also uses stays, and this dataset finds it again). A store opened without a
   * dataset forgets every score. Reflections are not touched.
   */
  async clear(): Promise<void> {
    await this.flush();
    if (this.memoryEntries) {
      this.memoryEntries.clear();
      return;
    }
    this.pending.clear();
    this.claims.clear();
    const db = this.db!;
    if (this.dataset === undefined) {
      db.write(() => {
        db.statement('DELETE FROM scores').run();
        db.statement('DELETE FROM members').run();
      });
      return;
    }
    const id = db.findNameId('dataset', this.dataset);
    if (id === undefined) return;
    db.write(() => {
      db.statement(
        'DELETE FROM scores WHERE key IN (SELECT key FROM members WHERE dataset = ?1) AND NOT EXISTS (SELECT 1 FROM members m WHERE m.key = scores.key AND m.dataset <> ?1)',
      ).run(id);
      db.statement('DELETE FROM members WHERE dataset = ?').run(id);
    });
  }

  /** Forgets every score computed with this model identity (and metric, when given); returns how many. */
  async clearModel(modelId: string, metric?: string): Promise<number> {
    await this.flush();
    if (!this.db) return 0;
    const db = this.db;
    const id = db.findNameId('model', modelId);
    if (id === undefined) return 0;
    return db.write(() => {
      const where = metric === undefined ? 'model = ?' : 'model = ? AND metric = ?';
      const args = metric === undefined ? [id] : [id, metric];
      db.statement(`DELETE FROM members WHERE key IN (SELECT key FROM scores WHERE ${where})`).run(...args);
      return Number(db.statement(`DELETE FROM scores WHERE ${where}`).run(...args).changes);
    });
  }

  /**
   * Writes everything put so far in one transaction; resolves when it is committed or the write
   * failed (then `writeError` says why and the entries wait for the next flush).
   */
  flush(): Promise<void> {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    if (!this.db || (this.pending.size === 0 && this.claims.size === 0)) return Promise.resolve();
    const db = this.db;
    const batch = [...this.pending];
    const claims = [...this.claims];
    try {
      db.write(() => {
        this.originId ??= db.nameId('origin', this.ownOrigin);
        if (this.dataset !== undefined) this.datasetId ??= db.nameId('dataset', this.dataset);
        const insert = db.statement(
          'INSERT INTO scores(key, v, t, at, x, model, metric, origin) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ' +
            'ON CONFLICT(key) DO UPDATE SET v = excluded.v, t = excluded.t, at = excluded.at, x = excluded.x, model = excluded.model, metric = excluded.metric, origin = excluded.origin',
        );
        const member = db.statement('INSERT OR IGNORE INTO members(key, dataset) VALUES (?, ?)');
        for (const [key, { value, info }] of batch) {
          const encoded = encodeKey(key);
          const columns = encodeScore(value);
          insert.run(encoded, columns.v, columns.t, columns.at, columns.x, info?.modelId === undefined ? null : db.nameId('model', info.modelId), info?.metric ?? null, this.originId);
          if (this.datasetId !== undefined) member.run(encoded, this.datasetId);
        }
        if (this.datasetId !== undefined) for (const key of claims) member.run(encodeKey(key), this.datasetId);
      });
    } catch (error) {
      this.reportWrite(error instanceof Error ? error : new Error(String(error)));
      this.scheduleFlush();
      return Promise.resolve();
    }
    // Entries put again while writing (none: the write is synchronous) would stay; remove exactly what was written.
    for (const [key, entry] of batch) if (this.pending.get(key) === entry) this.pending.delete(key);
    for (const key of claims) this.claims.delete(key);
    this.reportWrite(undefined);
    return Promise.resolve();
  }

  /** Changes when another process commits to the database (undefined for a memory store); see StoreDatabase.foreignCommits. */
  foreignCommits(): number | undefined {
    return this.db?.foreignCommits();
  }

  async close(): Promise<void> {
    await this.flush();
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    // Entries that could not be written stay counted in `unsaved`; the connection closes.
    this.db?.close();
  }

  private inDatabase(key: string): boolean {
    return this.db!.statement('SELECT 1 FROM scores WHERE key = ?').get(encodeKey(key)) !== undefined;
  }

  private scheduleFlush(): void {
    this.flushTimer ??= setTimeout(() => void this.flush(), STORE_FLUSH_DELAY_MS).unref();
  }

  private reportWrite(error: Error | undefined): void {
    const changed = (error === undefined) !== (this.writeError === undefined);
    this.writeError = error;
    if (changed) this.onWriteStatus?.(error);
  }
}

/**
 * How a dataset is named in the store: its path relative to the folder that holds `.sift/`, with
 * `/` separators, so a store moved or committed with its folder keeps its datasets apart.
 */
export function datasetName(storePath: string, datasetPath: string): string {
  const rel = relative(dirname(dirname(storePath)), datasetPath);
  return (rel.startsWith('..') ? datasetPath : rel).split(sep).join('/');
}

export interface ScoreColumns {
  v: string;
  t: number;
  at: number;
  x: string | null;
}

/** JSON has no NaN: an empty span's NaN mean is written as null and read back as NaN. */
export function encodeScore(value: StoredLosses): ScoreColumns {
  const extra = value.unscorable || value.notes?.length ? JSON.stringify({ ...(value.unscorable ? { u: value.unscorable } : {}), ...(value.notes?.length ? { n: value.notes } : {}) }) : null;
  return { v: JSON.stringify(value.losses.map((x) => (Number.isFinite(x) ? x : null))), t: value.truncated ? 1 : 0, at: value.at, x: extra };
}

export function decodeScore(row: { v: string; t: number | bigint; at: number | bigint; x: string | null }): StoredLosses {
  const losses = (JSON.parse(row.v) as unknown[]).map((x) => (typeof x === 'number' ? x : Number.NaN));
  const value: StoredLosses = { losses, truncated: Number(row.t) === 1, at: Number(row.at) };
  if (row.x !== null) {
    const extra = JSON.parse(row.x) as { u?: unknown; n?: unknown };
    if (Array.isArray(extra.u)) value.unscorable = extra.u.map((x) => (typeof x === 'string' ? x : null));
    if (Array.isArray(extra.n)) value.notes = extra.n.filter((x): x is string => typeof x === 'string');
  }
  return value;
}

/**
 * Reads one entry of the JSON-lines form (the legacy `scores.jsonl` line, or a `sift store export`
 * score line): {"k": key, "v": [...], "t": 0|1, "at": ms, "u"?: [...], "n"?: [...]}.
 */
export function parseScoreLine(entry: Record<string, unknown>): { key: string; value: StoredLosses } {
  if (typeof entry.k !== 'string' || !Array.isArray(entry.v)) throw new Error('not a score entry (needs "k" and "v")');
  const losses = entry.v.map((x) => (typeof x === 'number' ? x : Number.NaN));
  const value: StoredLosses = { losses, truncated: entry.t === 1, at: typeof entry.at === 'number' ? entry.at : 0 };
  if (Array.isArray(entry.u)) value.unscorable = entry.u.map((x) => (typeof x === 'string' ? x : null));
  if (Array.isArray(entry.n)) value.notes = entry.n.filter((x): x is string => typeof x === 'string');
  return { key: entry.k, value };
}

/** Imports legacy score lines (inside the caller's transaction); unreadable lines are counted, later lines win. */
async function importScoreLines(db: StoreDatabase, lines: AsyncIterable<string>, origin: number): Promise<{ imported: number; skipped: number }> {
  const insert = db.statement(
    'INSERT INTO scores(key, v, t, at, x, model, metric, origin) VALUES (?, ?, ?, ?, ?, NULL, NULL, ?) ' +
      'ON CONFLICT(key) DO UPDATE SET v = excluded.v, t = excluded.t, at = excluded.at, x = excluded.x, origin = excluded.origin',
  );
  let imported = 0;
  let skipped = 0;
  for await (const line of lines) {
    if (line.trim() === '') continue;
    try {
      const { key, value } = parseScoreLine(JSON.parse(line) as Record<string, unknown>);
      const columns = encodeScore(value);
      insert.run(encodeKey(key), columns.v, columns.t, columns.at, columns.x, origin);
      imported++;
    } catch {
      skipped++;
    }
  }
  return { imported, skipped };
}

export { IMPORTED_ORIGIN };
