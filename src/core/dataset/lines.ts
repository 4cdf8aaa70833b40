import { createReadStream } from 'node:fs';
import { isUtf8 } from 'node:buffer';
import type { SourceLine } from './types';
import { firstInvalidUtf8Byte } from './utf8';

type Eol = NonNullable<SourceLine['eol']>;

/**
 * Splits an in-memory document into lines exactly as VS Code's text model does, so that line
 * numbers agree with the editor: `\r\n`, `\n` and a lone `\r` all end a line, and a text ending in
 * a terminator has one more, empty, last line (as the editor shows it). Offsets are UTF-16 code
 * units into `text`; a leading BOM is not part of line 1's text (its offset is then 1).
 */
export function splitDocumentLines(text: string): SourceLine[] {
  const out: SourceLine[] = [];
  let start = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  // The next LF and CR are cached and only searched again once passed, so a file with no CR at
  // all costs one failed search, not one per line.
  let nextLF = text.indexOf('\n', start);
  let nextCR = text.indexOf('\r', start);
  let line = 1;
  for (;;) {
    if (nextLF !== -1 && nextLF < start) nextLF = text.indexOf('\n', start);
    if (nextCR !== -1 && nextCR < start) nextCR = text.indexOf('\r', start);
    let end: number;
    let eol: Eol;
    if (nextCR !== -1 && (nextLF === -1 || nextCR < nextLF)) {
      end = nextCR;
      eol = nextLF === end + 1 ? '\r\n' : '\r';
    } else if (nextLF !== -1) {
      end = nextLF;
      eol = '\n';
    } else {
      out.push({ line, text: text.slice(start), offset: start, eol: '' });
      return out;
    }
    out.push({ line: line++, text: text.slice(start, end), offset: start, eol });
    start = end + eol.length;
  }
}

/** The line terminator to use when inserting lines into `text`: the one its first line ends with. */
export function lineEndingOf(text: string): '\r\n' | '\n' {
  const lf = text.indexOf('\n');
  return lf > 0 && text.charCodeAt(lf - 1) === 0x0d ? '\r\n' : '\n';
}

export interface ReadLinesOptions {
  signal?: AbortSignal;
}

/**
 * Streams the lines of a file. Offsets are bytes; memory is bounded by the longest line, not the
 * file. Unlike `splitDocumentLines`, nothing is yielded for the empty remainder after a final
 * terminator (a file "a\n" has one line, as `wc -l` and every JSONL reader count it); every other
 * line has the same number as in the editor.
 */
export async function* readFileLines(path: string, opts: ReadLinesOptions = {}): AsyncGenerator<SourceLine> {
  for await (const batch of readFileLineBatches(path, opts)) yield* batch;
}

/**
 * The lines of a file, one array per chunk read (about 1 MiB). Consumers on the hot path iterate
 * this to pay one `await` per chunk instead of one per line.
 */
export function readFileLineBatches(path: string, opts: ReadLinesOptions = {}): AsyncGenerator<SourceLine[]> {
  const stream = createReadStream(path, { highWaterMark: 1 << 20, signal: opts.signal });
  return readStreamLineBatches(stream, opts);
}

/** `readFileLineBatches` over any byte stream (stdin, a socket, a test's array of chunks). */
export async function* readStreamLineBatches(
  source: AsyncIterable<Uint8Array>,
  opts: ReadLinesOptions = {},
): AsyncGenerator<SourceLine[]> {
  const splitter = new ByteLineSplitter();
  for await (const chunk of source) {
    opts.signal?.throwIfAborted();
    if (typeof chunk === 'string') throw new TypeError('readStreamLineBatches needs a byte stream, not a text stream');
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const lines = splitter.push(buf);
    if (lines.length > 0) yield lines;
  }
  opts.signal?.throwIfAborted();
  const last = splitter.end();
  if (last.length > 0) yield last;
}

const LF = 0x0a;
const CR = 0x0d;

/**
 * Incremental byte-level line splitter. A line split across chunks is kept as a list of pieces and
 * joined once when its end arrives, so a 5 MB line read in 1 MiB chunks is copied once, not
 * repeatedly. Line breaks are ASCII, so they can be found in raw bytes before any decoding.
 */
class ByteLineSplitter {
  private parts: Buffer[] = [];
  private partsLength = 0;
  /** Byte offset in the source of the first byte of `parts` (or of the next chunk). */
  private base = 0;
  private line = 1;

  push(chunk: Buffer): SourceLine[] {
    const out: SourceLine[] = [];
    if (this.parts.length === 0) {
      this.scan(chunk, false, out);
      return out;
    }
    const last = this.parts[this.parts.length - 1];
    const pendingCR = last[last.length - 1] === CR;
    if (!pendingCR && chunk.indexOf(LF) === -1 && chunk.indexOf(CR) === -1) {
      this.parts.push(chunk);
      this.partsLength += chunk.length;
      return out;
    }
    const joined = Buffer.concat([...this.parts, chunk], this.partsLength + chunk.length);
    this.parts = [];
    this.partsLength = 0;
    this.scan(joined, false, out);
    return out;
  }

  end(): SourceLine[] {
    const out: SourceLine[] = [];
    if (this.parts.length > 0) {
      const rest = this.parts.length === 1 ? this.parts[0] : Buffer.concat(this.parts, this.partsLength);
      this.parts = [];
      this.partsLength = 0;
      this.scan(rest, true, out);
    }
    return out;
  }

  private scan(buf: Buffer, eof: boolean, out: SourceLine[]): void {
    const n = buf.length;
    // One native validity check for all the complete lines of this buffer; only when it fails are
    // lines checked (and decoded) one by one.
    const regionEnd = eof ? n : Math.max(buf.lastIndexOf(LF), buf.lastIndexOf(CR)) + 1;
    const regionValid = regionEnd > 0 && isUtf8(regionEnd === n ? buf : buf.subarray(0, regionEnd));
    let pos = 0;
    let nextLF = buf.indexOf(LF);
    let nextCR = buf.indexOf(CR);
    for (;;) {
      if (nextLF !== -1 && nextLF < pos) nextLF = buf.indexOf(LF, pos);
      if (nextCR !== -1 && nextCR < pos) nextCR = buf.indexOf(CR, pos);
      let end: number;
      let eol: Eol;
      if (nextCR !== -1 && (nextLF === -1 || nextCR < nextLF)) {
        end = nextCR;
        // A CR that ends the buffer may be the first half of a CRLF split across chunks.
        if (end === n - 1 && !eof) break;
        eol = nextLF === end + 1 ? '\r\n' : '\r';
      } else if (nextLF !== -1) {
        end = nextLF;
        eol = '\n';
      } else {
        if (eof && pos < n) {
          this.emit(buf, pos, n, '', regionValid && n <= regionEnd, out);
          pos = n;
        }
        break;
      }
      this.emit(buf, pos, end, eol, regionValid && end <= regionEnd, out);
      pos = end + eol.length;
    }
    this.base += pos;
    if (pos < n) {
      const rest = buf.subarray(pos);
      this.parts.push(rest);
      this.partsLength += rest.length;
    }
  }

  private emit(buf: Buffer, start: number, end: number, eol: Eol, known: boolean, out: SourceLine[]): void {
    if (this.line === 1 && end - start >= 3 && buf[start] === 0xef && buf[start + 1] === 0xbb && buf[start + 2] === 0xbf) {
      start += 3;
    }
    const offset = this.base + start;
    const line = this.line++;
    if (known || isUtf8(buf.subarray(start, end))) {
      out.push({ line, text: buf.toString('utf8', start, end), offset, eol });
      return;
    }
    const bytes = buf.subarray(start, end);
    const byteColumn = Math.max(0, firstInvalidUtf8Byte(bytes));
    const column = buf.toString('utf8', start, start + byteColumn).length;
    out.push({ line, text: lenientDecoder.decode(bytes), offset, eol, invalidUtf8: { byteColumn, column } });
  }
}

/** Replaces bad bytes with U+FFFD the way every browser and VS Code do (WHATWG "maximal subpart"). */
const lenientDecoder = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });
