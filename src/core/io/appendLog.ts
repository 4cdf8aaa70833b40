import { appendFile, mkdir, open, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * An append-only JSONL file (the score store, the reflection cache): whole lines are appended, and
 * read back tolerant of a torn last line (a crash mid-append leaves at most one; the reader's parse
 * rejects it, and the next append starts on a fresh line). Appends are serialized; a failed append
 * keeps its lines for the next flush instead of failing every later one, so a file that becomes
 * writable again loses nothing, and a caller is never stopped by it: the failure is in
 * `writeError`, and `onStatus` hears when appends start failing and when they work again (once per
 * change, so a read-only folder is reported once).
 */
export class AppendLog {
  private pending: string[] = [];
  private writing: Promise<void> = Promise.resolve();
  /** The file does not end with a newline (a torn last line): the next append starts a new one. */
  private needsLeadingNewline = false;
  writeError: Error | undefined;

  constructor(
    readonly path: string,
    private readonly onStatus: (error: Error | undefined) => void,
  ) {}

  /** Passes every non-empty line already in the file to `onLine`, in order; a missing file has none. */
  async readLines(onLine: (line: string) => void): Promise<void> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      // Nothing written yet (ENOTDIR: a file where the directory should be; appends will report it).
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return;
      throw error;
    }
    this.needsLeadingNewline = text.length > 0 && !text.endsWith('\n');
    // Scanned rather than split: a large file's lines are not all held at once.
    let start = 0;
    while (start < text.length) {
      let end = text.indexOf('\n', start);
      if (end === -1) end = text.length;
      if (end > start) onLine(text.slice(start, end));
      start = end + 1;
    }
  }

  add(line: string): void {
    this.pending.push(line);
  }

  /** Lines added but not on disk yet (waiting, or kept after a failed append). */
  get unsaved(): number {
    return this.pending.length;
  }

  /** Empties the file and forgets the lines not written yet. */
  async truncate(): Promise<void> {
    this.pending = [];
    const handle = await open(this.path, 'w');
    await handle.close();
    this.needsLeadingNewline = false;
  }

  /** Appends every line added so far; resolves when they are on disk or the append failed. */
  flush(): Promise<void> {
    this.writing = this.writing.then(async () => {
      if (this.pending.length === 0) return;
      const lines = this.pending;
      this.pending = [];
      try {
        await mkdir(dirname(this.path), { recursive: true });
        await appendFile(this.path, (this.needsLeadingNewline ? '\n' : '') + lines.join('\n') + '\n', 'utf8');
        this.needsLeadingNewline = false;
        if (this.writeError) this.setWriteError(undefined);
      } catch (error) {
        // A partial append may have left a torn line: the retry starts on a fresh one.
        this.needsLeadingNewline = true;
        this.pending = [...lines, ...this.pending];
        this.setWriteError(error instanceof Error ? error : new Error(String(error)));
      }
    });
    return this.writing;
  }

  private setWriteError(error: Error | undefined): void {
    const changed = (error === undefined) !== (this.writeError === undefined);
    this.writeError = error;
    if (changed) this.onStatus(error);
  }
}
