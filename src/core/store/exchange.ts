import { existsSync, realpathSync } from 'node:fs';
import { decodeKey, encodeKey, IMPORTED_ORIGIN, StoreDatabase } from './database';
import { decodeScore, encodeScore, parseScoreLine } from './scoreStore';
import { encodeReflection, parseReflectionLine } from '../reflect/cache';

/**
 * The store as JSON lines, for sharing and review (`sift store export` / `import`), and the merge of
 * several stores (`sift store merge`, e.g. the stores of n machines that each scored one shard).
 *
 * An export is deterministic: the same entries give the same bytes. Scores come first, then
 * reflections, each sorted by key; fields in a fixed order; the datasets of a score sorted. Where an
 * entry came from (its origin) is not exported: whoever imports it gets it as `imported`.
 *   {"type":"score","k":KEY,"v":[mean,n,...],"t":0|1,"at":MS,"u"?:[...],"n"?:[...],"model"?:ID,"metric"?:NAME,"datasets"?:[...]}
 *   {"type":"reflection","k":KEY,"v":{"critique":...,"instruction"?:...,"response":...,"usage":{...},"structured":bool},"at":MS}
 * The legacy `scores.jsonl` / `reflections.jsonl` lines (no "type") are read too.
 *
 * When an entry is in both (import or merge), the later `at` wins; on a tie the entry already there
 * stays. Entries are content-addressed, so stores scored on disjoint shards never conflict.
 */

/** The page cache of an import or a merge, in KiB (SQLite's default is 2 MiB): bounds its memory. */
const BULK_CACHE_KIB = 256 * 1024;

export interface ExchangeCounts {
  scores: number;
  reflections: number;
}

/** Every entry of the store at `path`, as export lines (without newlines), in export order. */
export function* exportLines(path: string): Generator<string> {
  if (!existsSync(path)) throw new Error(`${path}: no such store`);
  const db = StoreDatabase.open(path);
  try {
    const scores = db.db.prepare(
      `SELECT s.key, s.v, s.t, s.at, s.x, s.metric, (SELECT name FROM names WHERE id = s.model) AS model,
        (SELECT json_group_array(name) FROM (SELECT n.name FROM members m JOIN names n ON n.id = m.dataset WHERE m.key = s.key ORDER BY n.name)) AS datasets
       FROM scores s ORDER BY s.key`,
    );
    for (const row of scores.iterate() as Iterable<{ key: unknown; v: string; t: number; at: number; x: string | null; metric: string | null; model: string | null; datasets: string }>) {
      const value = decodeScore(row);
      const datasets = JSON.parse(row.datasets) as string[];
      yield JSON.stringify({
        type: 'score',
        k: decodeKey(row.key),
        v: JSON.parse(row.v) as unknown,
        t: value.truncated ? 1 : 0,
        at: value.at,
        ...(value.unscorable ? { u: value.unscorable } : {}),
        ...(value.notes ? { n: value.notes } : {}),
        ...(row.model !== null ? { model: row.model } : {}),
        ...(row.metric !== null ? { metric: row.metric } : {}),
        ...(datasets.length > 0 ? { datasets } : {}),
      });
    }
    const reflections = db.db.prepare('SELECT key, v, at FROM reflections ORDER BY key');
    for (const row of reflections.iterate() as Iterable<{ key: unknown; v: string; at: number | bigint }>) {
      yield `{"type":"reflection","k":${JSON.stringify(decodeKey(row.key))},"v":${row.v},"at":${Number(row.at)}}`;
    }
  } finally {
    db.close();
  }
}

/** Thrown for a line of an import file that is not an entry: names the line. */
export class ImportLineError extends Error {}

/**
 * Imports export (or legacy) lines into the store at `path` (created when missing), in one
 * transaction: a bad line stops the import with its line number and nothing is imported.
 */
export async function importLines(path: string, lines: AsyncIterable<string>, name: string): Promise<ExchangeCounts> {
  const db = StoreDatabase.open(path);
  const counts: ExchangeCounts = { scores: 0, reflections: 0 };
  try {
    // One large transaction of random keys: a page cache that holds the tree writes each page once.
    db.db.exec(`PRAGMA cache_size = -${BULK_CACHE_KIB}`);
    return await db.writeStreaming(async () => {
      const origin = db.nameId('origin', IMPORTED_ORIGIN);
      const score = db.statement(
        'INSERT INTO scores(key, v, t, at, x, model, metric, origin) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ' +
          'ON CONFLICT(key) DO UPDATE SET v = excluded.v, t = excluded.t, at = excluded.at, x = excluded.x, model = excluded.model, metric = excluded.metric, origin = excluded.origin WHERE excluded.at > scores.at',
      );
      const member = db.statement('INSERT OR IGNORE INTO members(key, dataset) VALUES (?, ?)');
      // An open editor sees the import as another process's commit and looks its scores up again.
      db.countCommit();
      const reflection = db.statement(
        'INSERT INTO reflections(key, v, at, origin) VALUES (?, ?, ?, ?) ON CONFLICT(key) DO UPDATE SET v = excluded.v, at = excluded.at, origin = excluded.origin WHERE excluded.at > reflections.at',
      );
      let lineNumber = 0;
      for await (const line of lines) {
        lineNumber++;
        if (line.trim() === '') continue;
        let entry: Record<string, unknown>;
        try {
          entry = JSON.parse(line) as Record<string, unknown>;
          if (!entry || typeof entry !== 'object' || Array.isArray(entry)) throw new Error('not a JSON object');
        } catch (error) {
          throw new ImportLineError(`${name}:${lineNumber}: invalid JSON (${error instanceof Error ? error.message : String(error)})`);
        }
        const type = entry.type ?? (Array.isArray(entry.v) ? 'score' : 'reflection');
        try {
          if (type === 'score') {
            const { key, value } = parseScoreLine(entry);
            const columns = encodeScore(value);
            const encoded = encodeKey(key);
            const model = typeof entry.model === 'string' ? db.nameId('model', entry.model) : null;
            score.run(encoded, columns.v, columns.t, columns.at, columns.x, model, typeof entry.metric === 'string' ? entry.metric : null, origin);
            if (Array.isArray(entry.datasets)) for (const d of entry.datasets) if (typeof d === 'string') member.run(encoded, db.nameId('dataset', d));
            counts.scores++;
          } else if (type === 'reflection') {
            const { key, value } = parseReflectionLine(entry);
            reflection.run(encodeKey(key), encodeReflection(value), value.at, origin);
            counts.reflections++;
          } else {
            throw new Error(`unknown entry type ${JSON.stringify(type)} (expected "score" or "reflection")`);
          }
        } catch (error) {
          throw new ImportLineError(`${name}:${lineNumber}: ${error instanceof Error ? error.message : String(error)}`);
        }
      }
      return counts;
    });
  } finally {
    db.close();
  }
}

/**
 * Copies every entry of each source store into the target store (created when missing), one
 * transaction per source. Origins, models and datasets are kept by name.
 */
export function mergeStores(target: string, sources: string[]): ExchangeCounts {
  for (const source of sources) {
    if (!existsSync(source)) throw new Error(`${source}: no such store`);
    if (existsSync(target) && realpathSync(source) === realpathSync(target)) throw new Error(`${source} is the target store itself`);
    // Opening checks it is a store and brings its schema up to date before it is attached.
    StoreDatabase.open(source).close();
  }
  const db = StoreDatabase.open(target);
  const counts: ExchangeCounts = { scores: 0, reflections: 0 };
  try {
    db.db.exec(`PRAGMA cache_size = -${BULK_CACHE_KIB}`);
    for (const source of sources) {
      db.db.prepare('ATTACH DATABASE ? AS src').run(source);
      try {
        db.write(() => {
          db.db.exec('INSERT OR IGNORE INTO main.names(kind, name) SELECT kind, name FROM src.names');
          const mapped = (column: string): string => `(SELECT t.id FROM main.names t JOIN src.names f ON f.kind = t.kind AND f.name = t.name WHERE f.id = ${column})`;
          counts.scores += Number(
            db.db
              .prepare(
                `INSERT INTO main.scores(key, v, t, at, x, model, metric, origin)
                 SELECT s.key, s.v, s.t, s.at, s.x, ${mapped('s.model')}, s.metric, ${mapped('s.origin')} FROM src.scores s WHERE true
                 ON CONFLICT(key) DO UPDATE SET v = excluded.v, t = excluded.t, at = excluded.at, x = excluded.x, model = excluded.model, metric = excluded.metric, origin = excluded.origin
                 WHERE excluded.at > main.scores.at`,
              )
              .run().changes,
          );
          db.db.exec(`INSERT OR IGNORE INTO main.members(key, dataset) SELECT m.key, ${mapped('m.dataset')} FROM src.members m`);
          counts.reflections += Number(
            db.db
              .prepare(
                `INSERT INTO main.reflections(key, v, at, origin) SELECT r.key, r.v, r.at, ${mapped('r.origin')} FROM src.reflections r WHERE true
                 ON CONFLICT(key) DO UPDATE SET v = excluded.v, at = excluded.at, origin = excluded.origin WHERE excluded.at > main.reflections.at`,
              )
              .run().changes,
          );
        });
      } finally {
        db.db.exec('DETACH DATABASE src');
      }
    }
    return counts;
  } finally {
    db.close();
  }
}
