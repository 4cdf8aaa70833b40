import { existsSync } from 'node:fs';
import { DatabaseSync } from 'node:sqlite';

/**
 * Rows of a table of a store database (`.sift/sift.db`), read with a connection of the test's own,
 * as another process sees them; 0 when the database does not exist yet.
 */
export function storeRows(path: string, table: 'scores' | 'reflections' | 'members' = 'scores'): number {
  if (!existsSync(path)) return 0;
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    db.exec('PRAGMA busy_timeout = 5000');
    return Number((db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number | bigint }).n);
  } catch (error) {
    // Created but the schema not committed yet.
    if (/no such table/.test(String(error))) return 0;
    throw error;
  } finally {
    db.close();
  }
}

/** The keys (hex) of a table, sorted. */
export function storeKeys(path: string, table: 'scores' | 'reflections' = 'scores'): string[] {
  if (!existsSync(path)) return [];
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    db.exec('PRAGMA busy_timeout = 5000');
    return (db.prepare(`SELECT key FROM ${table} ORDER BY key`).all() as { key: Uint8Array | string }[]).map((r) =>
      typeof r.key === 'string' ? r.key : Buffer.from(r.key).toString('hex'),
    );
  } finally {
    db.close();
  }
}
