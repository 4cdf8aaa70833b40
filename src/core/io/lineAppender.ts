import { appendFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * Appends whole lines to a JSONL file (the score store, the reflection cache). Appends are
 * serialized; a failed append keeps its lines for the next flush instead of failing every later one,
 * so a file that becomes writable again loses nothing, and a caller is never stopped by it: the
 * failure is in `writeError`, and `onStatus` hears when appends start failing and when they work
 * again (once per change, so a read-only folder is reported once).
 */
export class LineAppender {
  private pending: string[] = [];
  private writing: Promise<void> = Promise.resolve();
  /** The file does not end with a newline (a torn last line): the next append starts a new one. */
  needsLeadingNewline = false;
  writeError: Error | undefined;

  constructor(
    readonly path: string,
    private readonly onStatus: (error: Error | undefined) => void,
  ) {}

  add(line: string): void {
    this.pending.push(line);
  }

  /** Lines added but not on disk yet (waiting, or kept after a failed append). */
  get unsaved(): number {
    return this.pending.length;
  }

  /** Forgets the lines not written yet. */
  discard(): void {
    this.pending = [];
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
