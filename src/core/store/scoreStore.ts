import { createHash } from 'node:crypto';
import { AppendLog } from '../io/appendLog';

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

/** Entries waiting in memory at most this long before they are appended: what a crash can lose. */
export const STORE_FLUSH_DELAY_MS = 1000;
/** Or this many, whichever comes first (one append per batch keeps fast runs cheap). */
const STORE_FLUSH_ENTRIES = 256;

/** Told when appends start failing (with the error) and when they work again (undefined); see AppendLog. */
export type StoreWriteListener = (error: Error | undefined) => void;

/**
 * An append-only JSONL file of scores, one entry per line: {"k": key, "v": [...], "t": 0|1, "at": ms}.
 * Crash-safe: a write is a whole line appended; on load a torn or unreadable line is skipped (a
 * crash mid-append leaves at most one), and the next append starts on a fresh line. Later entries win.
 * Entries reach the file within `STORE_FLUSH_DELAY_MS` of being put. A failed append keeps its
 * entries for the next one, so a store that becomes writable again loses nothing, and it never
 * stops the scoring that uses the store.
 */
export class ScoreStore {
  private readonly entries = new Map<string, StoredLosses>();
  private readonly file: AppendLog | undefined;
  private flushTimer: NodeJS.Timeout | undefined;
  /** Lines that could not be read at load time (torn writes, hand edits). */
  skippedLines = 0;
  onWriteStatus: StoreWriteListener | undefined;

  private constructor(readonly path: string | undefined) {
    this.file = path === undefined ? undefined : new AppendLog(path, (error) => this.onWriteStatus?.(error));
  }

  /** A store that keeps nothing on disk (`--no-cache`). */
  static memory(): ScoreStore {
    return new ScoreStore(undefined);
  }

  static async open(path: string): Promise<ScoreStore> {
    const store = new ScoreStore(path);
    await store.file!.readLines((line) => store.loadLine(line));
    return store;
  }

  get size(): number {
    return this.entries.size;
  }

  /** Why the last append failed; undefined once one works. */
  get writeError(): Error | undefined {
    return this.file?.writeError;
  }

  /** Entries put but not on disk yet (waiting, or kept after a failed append). */
  get unsaved(): number {
    return this.file?.unsaved ?? 0;
  }

  get(key: string): StoredLosses | undefined {
    return this.entries.get(key);
  }

  put(key: string, value: StoredLosses): void {
    this.entries.set(key, value);
    if (!this.file) return;
    this.file.add(JSON.stringify({ k: key, v: value.losses.map(finiteOrNull), t: value.truncated ? 1 : 0, at: value.at, u: value.unscorable, n: value.notes }));
    if (this.file.unsaved >= STORE_FLUSH_ENTRIES) void this.flush();
    else this.flushTimer ??= setTimeout(() => void this.flush(), STORE_FLUSH_DELAY_MS).unref();
  }

  /** Forget every entry in memory and start the file anew (the `clear scores` command). */
  async clear(): Promise<void> {
    await this.flush();
    this.entries.clear();
    await this.file?.truncate();
  }

  /**
   * Append everything put so far; resolves when it is on disk or the append failed (then
   * `writeError` says why and the entries wait for the next flush). Writes are serialized.
   */
  flush(): Promise<void> {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    return this.file ? this.file.flush() : Promise.resolve();
  }

  async close(): Promise<void> {
    await this.flush();
  }

  private loadLine(line: string): void {
    try {
      const entry = JSON.parse(line) as { k?: unknown; v?: unknown; t?: unknown; at?: unknown; u?: unknown; n?: unknown };
      if (typeof entry.k !== 'string' || !Array.isArray(entry.v)) throw new Error('not an entry');
      const losses = entry.v.map((x) => (typeof x === 'number' ? x : Number.NaN));
      const stored: StoredLosses = { losses, truncated: entry.t === 1, at: typeof entry.at === 'number' ? entry.at : 0 };
      if (Array.isArray(entry.u)) stored.unscorable = entry.u.map((x) => (typeof x === 'string' ? x : null));
      if (Array.isArray(entry.n)) stored.notes = entry.n.filter((x): x is string => typeof x === 'string');
      this.entries.set(entry.k, stored);
    } catch {
      this.skippedLines++;
    }
  }
}

/** JSON has no NaN: an empty span's NaN mean is written as null and read back as NaN. */
function finiteOrNull(x: number): number | null {
  return Number.isFinite(x) ? x : null;
}
