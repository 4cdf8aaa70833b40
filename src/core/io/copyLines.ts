import { createReadStream } from 'node:fs';

/**
 * Copies the selected 1-based lines of a file, byte for byte with their own line terminators, to
 * `write`. Works on raw bytes so nothing is re-encoded: a kept record is exactly the input record.
 */
export async function copySelectedLines(path: string, keep: ReadonlySet<number>, write: (bytes: Buffer) => Promise<void>): Promise<void> {
  let line = 1;
  let carry: Buffer[] = [];
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    let start = 0;
    let at = chunk.indexOf(0x0a);
    const out: Buffer[] = [];
    while (at !== -1) {
      if (keep.has(line)) {
        if (carry.length > 0) out.push(...carry);
        out.push(chunk.subarray(start, at + 1));
      }
      carry = [];
      line++;
      start = at + 1;
      at = chunk.indexOf(0x0a, start);
    }
    if (start < chunk.length && keep.has(line)) carry.push(Buffer.from(chunk.subarray(start)));
    if (out.length > 0) await write(Buffer.concat(out));
  }
  if (carry.length > 0) await write(Buffer.concat(carry));
}
