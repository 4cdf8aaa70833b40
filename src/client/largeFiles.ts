/**
 * VS Code does not sync a document longer than this many characters to extensions (its
 * `_MODEL_SYNC_LIMIT`, 50 * 1024 * 1024): no extension, Sift included, ever sees such a file.
 */
export const SYNC_LIMIT_CHARS = 50 * 1024 * 1024;

/** Paths Sift handles: `.jsonl` and `.ndjson`, any case. */
export function isDatasetPath(path: string): boolean {
  return /\.(jsonl|ndjson)$/i.test(path);
}

/**
 * A UTF-8 file has at least as many bytes as UTF-16 code units (the characters VS Code counts), so a
 * file smaller than the limit in bytes is always synced; a larger one is too large unless VS Code
 * did give us its document (multi-byte text can stay under the limit).
 */
export function isTooLargeToSync(sizeBytes: number, hasDocument: boolean): boolean {
  return !hasDocument && sizeBytes > SYNC_LIMIT_CHARS;
}

export function largeFileMessage(fileName: string): string {
  return `${fileName}: this file is too large for VS Code to share with extensions (over 50M characters); use \`sift score FILE\` on the command line.`;
}

/** The command line to suggest, with the path quoted for a POSIX shell. */
export function cliCommandFor(path: string): string {
  return `sift score '${path.replace(/'/g, `'\\''`)}'`;
}
