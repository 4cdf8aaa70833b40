/**
 * Index of the first byte of `bytes` that does not start (or continue) a well-formed UTF-8 sequence,
 * or -1 when the whole buffer is valid. Only called on lines that `isUtf8` already rejected, so a
 * plain loop is fine here; it follows the Unicode "well-formed byte sequences" table (no overlongs,
 * no surrogates, nothing above U+10FFFF) so it agrees with the fatal TextDecoder.
 */
export function firstInvalidUtf8Byte(bytes: Uint8Array): number {
  const n = bytes.length;
  let i = 0;
  while (i < n) {
    const b = bytes[i];
    if (b < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) need = 1;
    else if (b >= 0xe0 && b <= 0xef) {
      need = 2;
      if (b === 0xe0) lo = 0xa0;
      else if (b === 0xed) hi = 0x9f;
    } else if (b >= 0xf0 && b <= 0xf4) {
      need = 3;
      if (b === 0xf0) lo = 0x90;
      else if (b === 0xf4) hi = 0x8f;
    } else return i;
    // The first continuation byte carries the range restriction; a truncated or broken sequence is
    // reported at its lead byte, which is where the replacement character appears in decoded text.
    if (i + 1 >= n || bytes[i + 1] < lo || bytes[i + 1] > hi) return i;
    for (let k = 2; k <= need; k++) {
      const c = bytes[i + k];
      if (i + k >= n || c < 0x80 || c > 0xbf) return i;
    }
    i += need + 1;
  }
  return -1;
}
