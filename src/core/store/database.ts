import { createReadStream, mkdirSync, openSync, readSync, closeSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { STORE_FILE_NAME } from './location';

/**
 * The store database: one SQLite file (`.sift/sift.db` beside the dataset) holding the scores and
 * the finished reflections, shared by every process that works on the folder (CLI runs, the
 * language server, `sift serve`). WAL mode: one writer at a time and any number of readers, across
 * processes; a writer that finds the database locked waits up to `busyTimeoutMs()`. Every process
 * looks entries up in the file (indexed, nothing loaded whole), so each sees what the others wrote.
 *
 * Schema (version 1):
 * - `scores(key, v, t, at, x, model, metric, origin)`: one metric of one record, keyed by its content
 *   address (see `storeKey`). `v` is the flat losses as a JSON array (NaN as null), `t` truncated,
 *   `x` the optional unscorable/notes as JSON, `model`/`origin` ids into `names`.
 * - `members(key, dataset)`: which dataset(s) a score was computed or found for, so *Clear Scores*
 *   of one dataset leaves the others' scores.
 * - `reflections(key, v, at, origin)`: finished teacher reflections (see reflect/cache.ts).
 * - `names(id, kind, name)`: model identities, origins and dataset paths, each stored once.
 * - `meta(name, value)`: the schema version and which legacy JSONL files were imported.
 * Keys that are 32 hex digits (every `storeKey`/`reflectionKey`) are stored as 16-byte blobs.
 */
export const BUSY_TIMEOUT_MS = 10_000;
/** The wait for another writer, in ms: `SIFT_STORE_BUSY_TIMEOUT_MS` when set (tests shorten it), else `BUSY_TIMEOUT_MS`. */
export function busyTimeoutMs(env: NodeJS.ProcessEnv = process.env): number {
  const value = Number(env.SIFT_STORE_BUSY_TIMEOUT_MS);
  return Number.isInteger(value) && value >= 0 ? value : BUSY_TIMEOUT_MS;
}
const SCHEMA_VERSION = '1';
/** Pages of WAL (4 KiB each) before a checkpoint copies them into the database: about 40 MB. */
const WAL_AUTOCHECKPOINT_PAGES = 10_000;
/** Page cache per connection, in KiB. */
const PAGE_CACHE_KIB = 16 * 1024;
const SQLITE_HEADER = 'SQLite format 3\0';

/** The origin of entries imported from a file (legacy JSONL, `sift store import`, a merge). */
export const IMPORTED_ORIGIN = 'imported';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta(name TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS names(id INTEGER PRIMARY KEY, kind TEXT NOT NULL, name TEXT NOT NULL, UNIQUE(kind, name));
CREATE TABLE IF NOT EXISTS scores(key BLOB PRIMARY KEY, v TEXT NOT NULL, t INTEGER NOT NULL, at INTEGER NOT NULL, x TEXT, model INTEGER, metric TEXT, origin INTEGER) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS scores_model ON scores(model, metric);
CREATE TABLE IF NOT EXISTS members(key BLOB NOT NULL, dataset INTEGER NOT NULL, PRIMARY KEY(key, dataset)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS reflections(key BLOB PRIMARY KEY, v TEXT NOT NULL, at INTEGER NOT NULL, origin INTEGER) WITHOUT ROWID;
`;

/** A key as stored: 32 hex digits become 16 bytes; anything else stays text. */
export function encodeKey(key: string): string | Uint8Array {
  return /^[0-9a-f]{32}$/.test(key) ? Buffer.from(key, 'hex') : key;
}

export function decodeKey(stored: unknown): string {
  return stored instanceof Uint8Array ? Buffer.from(stored).toString('hex') : String(stored);
}

/** Legacy JSONL files beside the database, imported once on first open (see `importLegacy`). */
export type LegacyImporter = (db: StoreDatabase, lines: AsyncIterable<string>, origin: number) => Promise<number>;

/**
 * Commits this process made to each database file through `countCommit`, so that a process can tell
 * its own writes (through any of its connections) from another process's: see `foreignCommits`.
 */
const OWN_COMMITS = new Map<string, number>();

/** The file opened is not a store this Sift can use (not SQLite, a newer schema): to report, never to work around. */
export class StoreFileError extends Error {}

/**
 * Whether a failure to open a store is the file's fault (StoreFileError), which a caller reports,
 * rather than the place's (a read-only folder), which a caller works around by keeping entries in memory.
 */
export function isStoreFileError(error: unknown): boolean {
  return error instanceof StoreFileError;
}

export class StoreDatabase {
  private readonly statements = new Map<string, StatementSync>();
  private readonly nameIds = new Map<string, number>();

  private constructor(
    readonly path: string,
    readonly db: DatabaseSync,
  ) {}

  /**
   * Opens (creating when missing) the database at `path`. A file that exists and is not SQLite (an
   * old `scores.jsonl` given as `--store`) is refused with what to do instead.
   */
  static open(path: string): StoreDatabase {
    mkdirSync(dirname(path), { recursive: true });
    assertSqliteOrEmpty(path);
    const db = new DatabaseSync(path);
    try {
      db.exec(`PRAGMA busy_timeout = ${busyTimeoutMs()}`);
      db.exec('PRAGMA journal_mode = WAL');
      // WAL + NORMAL: a committed transaction survives a process crash (kill -9); only a power loss
      // can take the last ones back, never corrupt the file.
      db.exec('PRAGMA synchronous = NORMAL');
      // Random keys touch a page per entry: a larger WAL between checkpoints (each one syncs) and a
      // page cache of a few MiB keep a run's batches cheap. Both bound memory and disk (see README).
      db.exec(`PRAGMA wal_autocheckpoint = ${WAL_AUTOCHECKPOINT_PAGES}`);
      db.exec(`PRAGMA cache_size = -${PAGE_CACHE_KIB}`);
      db.exec('BEGIN IMMEDIATE');
      try {
        db.exec(SCHEMA);
        db.prepare('INSERT OR IGNORE INTO meta(name, value) VALUES (?, ?)').run('schema', SCHEMA_VERSION);
        db.exec('COMMIT');
      } catch (error) {
        db.exec('ROLLBACK');
        throw error;
      }
      const schema = (db.prepare("SELECT value FROM meta WHERE name = 'schema'").get() as { value: string } | undefined)?.value;
      if (schema !== SCHEMA_VERSION) throw new StoreFileError(`${path}: store schema ${schema} is newer than this Sift understands (${SCHEMA_VERSION}); update Sift`);
    } catch (error) {
      db.close();
      throw error;
    }
    return new StoreDatabase(path, db);
  }

  /**
   * Opens the database at `path` and, when it is a folder's store (`.sift/sift.db`), imports the
   * legacy JSONL file `legacy` beside it once (see `importLegacy`); closed again if the import fails.
   */
  static async openImporting(path: string, legacy: string, importer: LegacyImporter): Promise<{ db: StoreDatabase; imported: number }> {
    const db = StoreDatabase.open(path);
    try {
      const imported = basename(path) === STORE_FILE_NAME ? await db.importLegacy(legacy, importer) : 0;
      return { db, imported };
    } catch (error) {
      db.close();
      throw error;
    }
  }

  /** A prepared statement, prepared once per connection. */
  statement(sql: string): StatementSync {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }

  /** The id of a model identity, origin or dataset path, added when new (call inside a write transaction). */
  nameId(kind: 'model' | 'origin' | 'dataset', name: string): number {
    const cacheKey = `${kind}\0${name}`;
    const known = this.nameIds.get(cacheKey);
    if (known !== undefined) return known;
    this.statement('INSERT OR IGNORE INTO names(kind, name) VALUES (?, ?)').run(kind, name);
    const id = Number((this.statement('SELECT id FROM names WHERE kind = ? AND name = ?').get(kind, name) as { id: number | bigint }).id);
    this.nameIds.set(cacheKey, id);
    return id;
  }

  /** The id of a name if it exists (no write). */
  findNameId(kind: 'model' | 'origin' | 'dataset', name: string): number | undefined {
    const row = this.statement('SELECT id FROM names WHERE kind = ? AND name = ?').get(kind, name) as { id: number | bigint } | undefined;
    return row === undefined ? undefined : Number(row.id);
  }

  nameOf(id: number | null | undefined): string | undefined {
    if (id === null || id === undefined) return undefined;
    const row = this.statement('SELECT name FROM names WHERE id = ?').get(id) as { name: string } | undefined;
    return row?.name;
  }

  /**
   * Runs asynchronous `work` (reading a file line by line) in one write transaction: all of it or,
   * when it throws, nothing. Nothing else may use this connection until it settles.
   */
  async writeStreaming<T>(work: () => Promise<T>): Promise<T> {
    this.db.exec('BEGIN IMMEDIATE');
    try {
      const result = await work();
      this.db.exec('COMMIT');
      return result;
    } catch (error) {
      if (this.db.isTransaction) this.db.exec('ROLLBACK');
      throw error;
    }
  }

  /** Runs `work` in one write transaction (BEGIN IMMEDIATE: waits for another writer up to the busy timeout). */
  write<T>(work: () => T): T {
    this.db.exec('BEGIN IMMEDIATE');
    try {
      const result = work();
      this.countCommit();
      this.db.exec('COMMIT');
      return result;
    } catch (error) {
      if (this.db.isTransaction) this.db.exec('ROLLBACK');
      throw error;
    }
  }

  /**
   * Counts a commit in the database's `commits` counter and in this process's own count (call inside
   * the write transaction). A transaction rolled back after it leaves the own count one ahead: one
   * needless look-up later, never a missed one.
   */
  countCommit(): void {
    this.statement("INSERT INTO meta(name, value) VALUES ('commits', '1') ON CONFLICT(name) DO UPDATE SET value = CAST(value AS INTEGER) + 1").run();
    OWN_COMMITS.set(this.path, (OWN_COMMITS.get(this.path) ?? 0) + 1);
  }

  /**
   * Commits other processes have made (a CLI run, another window): changes when one of them commits,
   * and never for this process's own commits through any of its connections. (SQLite's
   * `PRAGMA data_version` also changes for another connection of the same process: a language server
   * with a store per dataset of a folder then took its own writes for another process's and looked
   * every open document's scores up again, every second, while it scored.)
   */
  foreignCommits(): number {
    const row = this.statement("SELECT value FROM meta WHERE name = 'commits'").get() as { value: string } | undefined;
    return Number(row?.value ?? 0) - (OWN_COMMITS.get(this.path) ?? 0);
  }

  /**
   * Imports the legacy JSONL file `name` beside the database once: the import is recorded in `meta`
   * with the file's size and modification time, and the file itself is left as it is (it may be
   * committed; Sift never rewrites a user's file). A file that changes later (a pull) is imported
   * again; entries already in the database are replaced by the file's, as later lines won before.
   * Returns the number of entries imported (0 when there was nothing to do).
   */
  async importLegacy(name: string, importer: LegacyImporter): Promise<number> {
    const file = join(dirname(this.path), name);
    let stamp: string;
    try {
      const stat = statSync(file);
      if (!stat.isFile()) return 0;
      stamp = `${stat.size}:${Math.trunc(stat.mtimeMs)}`;
    } catch {
      return 0;
    }
    const metaName = `imported:${name}`;
    const done = (): boolean => (this.statement('SELECT value FROM meta WHERE name = ?').get(metaName) as { value: string } | undefined)?.value === stamp;
    if (done()) return 0;
    // One transaction: another process opening at the same time waits, then finds it imported.
    return this.writeStreaming(async () => {
      if (done()) return 0;
      const origin = this.nameId('origin', IMPORTED_ORIGIN);
      const lines = createInterface({ input: createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity });
      const count = await importer(this, lines, origin);
      this.statement('INSERT INTO meta(name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value').run(metaName, stamp);
      return count;
    });
  }

  close(): void {
    if (this.db.isOpen) this.db.close();
  }
}

function assertSqliteOrEmpty(path: string): void {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return;
  }
  try {
    const header = Buffer.alloc(SQLITE_HEADER.length);
    const read = readSync(fd, header, 0, header.length, 0);
    if (read === 0) return;
    if (read < header.length || header.toString('latin1') !== SQLITE_HEADER) {
      throw new StoreFileError(`${path} is not a Sift store database (stores are SQLite files now); to bring in scores from a JSON-lines file use \`sift store import ${path}\``);
    }
  } finally {
    closeSync(fd);
  }
}
