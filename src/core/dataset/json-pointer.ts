/**
 * Locating values in raw JSON text by JSON pointer, so that a schema problem reported by ajv on
 * the parsed value can be underlined where it is in the line. Only runs for lines that have a
 * problem, so clarity wins over speed, except that strings are skipped with `indexOf` because
 * records are mostly long strings.
 */

/** A half-open range of UTF-16 offsets into a text. */
export interface TextRange {
  start: number;
  end: number;
}

const QUOTE = 0x22;
const COMMA = 0x2c;
const COLON = 0x3a;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;
const LBRACE = 0x7b;
const RBRACE = 0x7d;
const BACKSLASH = 0x5c;

/** Splits a JSON pointer (RFC 6901) into unescaped reference tokens; undefined if malformed. */
export function parsePointer(pointer: string): string[] | undefined {
  if (pointer === '') return [];
  if (pointer.charCodeAt(0) !== 0x2f) return undefined;
  return pointer
    .slice(1)
    .split('/')
    .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** Builds a JSON pointer from reference tokens, escaping `~` and `/` as RFC 6901 requires. */
export function joinPointer(tokens: ReadonlyArray<string | number>): string {
  let out = '';
  for (const t of tokens) out += '/' + String(t).replace(/~/g, '~0').replace(/\//g, '~1');
  return out;
}

/**
 * The range of the value that `pointer` designates in the JSON `text`, or undefined when the
 * pointer does not lead to a value (missing member, index out of range, text not JSON). With
 * duplicate keys the last one wins, as it does in `JSON.parse`.
 */
export function jsonPointerRange(text: string, pointer: string): TextRange | undefined {
  const tokens = parsePointer(pointer);
  if (!tokens) return undefined;
  let i = skipWs(text, 0);
  if (i >= text.length) return undefined;
  for (const token of tokens) {
    const c = text.charCodeAt(i);
    let found: number;
    if (c === LBRACE) found = findMember(text, i, token);
    else if (c === LBRACKET && /^(0|[1-9]\d*)$/.test(token)) found = findElement(text, i, Number(token));
    else return undefined;
    if (found < 0) return undefined;
    i = found;
  }
  return { start: i, end: skipValue(text, i) };
}

function findMember(t: string, open: number, key: string): number {
  let j = skipWs(t, open + 1);
  let match = -1;
  while (j < t.length && t.charCodeAt(j) === QUOTE) {
    const keyEnd = skipString(t, j);
    let name = t.slice(j + 1, keyEnd - 1);
    if (name.includes('\\')) {
      try {
        name = JSON.parse(t.slice(j, keyEnd)) as string;
      } catch {
        return match;
      }
    }
    j = skipWs(t, keyEnd);
    if (t.charCodeAt(j) !== COLON) return match;
    j = skipWs(t, j + 1);
    if (name === key) match = j;
    j = skipWs(t, skipValue(t, j));
    if (t.charCodeAt(j) !== COMMA) break;
    j = skipWs(t, j + 1);
  }
  return match;
}

function findElement(t: string, open: number, index: number): number {
  let j = skipWs(t, open + 1);
  if (t.charCodeAt(j) === RBRACKET) return -1;
  for (let k = 0; j < t.length; k++) {
    if (k === index) return j;
    j = skipWs(t, skipValue(t, j));
    if (t.charCodeAt(j) !== COMMA) return -1;
    j = skipWs(t, j + 1);
  }
  return -1;
}

/** Index just past the value starting at `i` (lenient: never throws, stops at the text's end). */
function skipValue(t: string, i: number): number {
  const c = t.charCodeAt(i);
  if (c === QUOTE) return skipString(t, i);
  if (c === LBRACE || c === LBRACKET) {
    let depth = 0;
    for (let j = i; j < t.length; j++) {
      const d = t.charCodeAt(j);
      if (d === QUOTE) j = skipString(t, j) - 1;
      else if (d === LBRACE || d === LBRACKET) depth++;
      else if ((d === RBRACE || d === RBRACKET) && --depth === 0) return j + 1;
    }
    return t.length;
  }
  let j = i;
  while (j < t.length) {
    const d = t.charCodeAt(j);
    if (d === COMMA || d === RBRACE || d === RBRACKET || isWs(d)) break;
    j++;
  }
  return j;
}

/** Index just past the closing quote of the string opening at `i`. */
function skipString(t: string, i: number): number {
  let from = i + 1;
  for (;;) {
    const q = t.indexOf('"', from);
    if (q === -1) return t.length;
    let k = q - 1;
    while (t.charCodeAt(k) === BACKSLASH) k--;
    // An even run of backslashes escapes itself, so the quote ends the string.
    if ((q - 1 - k) % 2 === 0) return q + 1;
    from = q + 1;
  }
}

function isWs(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}

function skipWs(t: string, i: number): number {
  while (i < t.length && isWs(t.charCodeAt(i))) i++;
  return i;
}
