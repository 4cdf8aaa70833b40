import { open, type FileHandle } from 'node:fs/promises';

/**
 * A change to one line of a file, located by the byte offset and byte length of its text (without
 * terminator), as `parseFile` reports them (`ParsedRecord.offset`, the UTF-8 length of `text`).
 */
export interface LineEdit {
  offset: number;
  /** The line's text as it was read; the bytes there must still be exactly these. */
  original: string;
  /** The new text of the line (no terminator), or undefined to drop the line with its terminator. */
  replacement: string | undefined;
}

/** The file changed between reading it and writing the edits; nothing may be written to the wrong line. */
export class FileChangedError extends Error {
  override name = 'FileChangedError';
}

const CHUNK = 1 << 20;

/**
 * Copies a file to `write`, replacing or dropping the edited lines. Everything else (other lines,
 * line terminators, a byte order mark, invalid UTF-8, a missing final newline) is copied byte for
 * byte. A dropped line takes its own terminator with it. Throws `FileChangedError`, before writing
 * past the edit, when an edited line's bytes are not what was read.
 */
export async function rewriteLines(path: string, edits: readonly LineEdit[], write: (bytes: Buffer) => Promise<void>): Promise<void> {
  const sorted = [...edits].sort((a, b) => a.offset - b.offset);
  const handle = await open(path, 'r');
  try {
    const { size } = await handle.stat();
    let pos = 0;
    for (const edit of sorted) {
      if (edit.offset < pos) throw new RangeError('overlapping line edits');
      await copyRange(handle, pos, edit.offset, write);
      const expected = Buffer.from(edit.original, 'utf8');
      const actual = Buffer.alloc(expected.length);
      const { bytesRead } = await handle.read(actual, 0, expected.length, edit.offset);
      if (bytesRead !== expected.length || !actual.equals(expected)) {
        throw new FileChangedError(`${path} changed since it was read (the line at byte ${edit.offset} is different); nothing was written`);
      }
      pos = edit.offset + expected.length;
      if (edit.replacement !== undefined) {
        await write(Buffer.from(edit.replacement, 'utf8'));
        continue;
      }
      const eol = Buffer.alloc(2);
      const peek = await handle.read(eol, 0, 2, pos);
      if (peek.bytesRead >= 1 && eol[0] === 0x0d) pos += peek.bytesRead === 2 && eol[1] === 0x0a ? 2 : 1;
      else if (peek.bytesRead >= 1 && eol[0] === 0x0a) pos += 1;
    }
    await copyRange(handle, pos, size, write);
  } finally {
    await handle.close();
  }
}

async function copyRange(handle: FileHandle, start: number, end: number, write: (bytes: Buffer) => Promise<void>): Promise<void> {
  let pos = start;
  while (pos < end) {
    const buffer = Buffer.alloc(Math.min(CHUNK, end - pos));
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, pos);
    if (bytesRead === 0) throw new FileChangedError('the file got shorter while it was being copied');
    await write(bytesRead === buffer.length ? buffer : buffer.subarray(0, bytesRead));
    pos += bytesRead;
  }
}
