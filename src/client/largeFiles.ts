import { MAX_DOCUMENT_CHARS } from '../protocol/datasets';

export { isDatasetPath } from '../protocol/datasets';

/** Files longer than this are not served in the editor (the server's limit, just under what VS Code syncs at all). */
export const SYNC_LIMIT_CHARS = MAX_DOCUMENT_CHARS;

/**
 * A UTF-8 file has at least as many bytes as UTF-16 code units (the characters VS Code counts), so a
 * file smaller than the limit in bytes is never too large; a larger one is too large unless VS Code
 * did give us its document (multi-byte text can stay under the limit, and the server then decides).
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
