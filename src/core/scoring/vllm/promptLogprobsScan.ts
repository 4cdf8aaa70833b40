/**
 * The log-probs of a `prompt_logprobs` answer read straight from its bytes, without decoding the
 * body to a string or building the JSON tree: vLLM writes one object per prompt position, keyed by
 * the token id as a string (`{"1234": {"logprob": -2.5, "rank": 3, "decoded_token": "abc"}}`), and
 * `JSON.parse` turns each into an object with an integer-like key (a slow, sparse layout for V8)
 * plus a nested object and a string, about half of the client's CPU time per token before this
 * scan. Reading the bytes rather than the decoded text halves the scan again (a byte of a
 * `Uint8Array` is read two to three times faster than a character of a string, and the body is
 * never decoded): this scan runs once per scored token and bounds the client's ceiling.
 *
 * The scan is a strict JSON reader for one shape: it returns exactly what {@link
 * parsePromptLogprobs} returns, or undefined whenever the body is anything else (an error body,
 * a missing choice or position, a token id that is not the one sent, a `NaN` or `Infinity` written
 * by Python, keys in another order, a duplicate key, invalid JSON). The caller then parses the text
 * the ordinary way, which gives the answer or the precise error. Numbers are the correctly rounded
 * double `JSON.parse` gives: {@link readJsonNumber} from the bytes, `Number()` of the literal when
 * that does not decide.
 */
import { lastLiteral, readJsonNumber } from './decimalLiteral';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;

/** Thrown inside the scan to give up; never escapes it. */
class NotThisShape extends Error {}
const GIVE_UP = new NotThisShape();

/**
 * A fixed piece of vLLM's output: its ASCII bytes, and the same as little-endian 32-bit words (the
 * pieces between a position's values are compared four bytes at a time).
 */
interface Piece {
  bytes: Uint8Array;
  words: Uint32Array;
}

function pieceOf(text: string): Piece {
  const bytes = Uint8Array.from(text, (c) => c.charCodeAt(0));
  const words = new Uint32Array(bytes.length >> 2);
  const asWords = new DataView(bytes.buffer);
  for (let i = 0; i < words.length; i++) words[i] = asWords.getUint32(4 * i, true);
  return { bytes, words };
}

/** The body being scanned, as 32-bit words at any offset (module state, set per scan). */
let view: DataView = new DataView(new ArrayBuffer(0));

/** Whether `piece` is at `p`. */
function at(b: Buffer, p: number, piece: Piece): boolean {
  const bytes = piece.bytes;
  if (p + bytes.length > b.length) return false;
  const words = piece.words;
  let i = 0;
  for (; i < words.length; i++) if (view.getUint32(p + 4 * i, true) !== words[i]) return false;
  for (i *= 4; i < bytes.length; i++) if (b[p + i] !== bytes[i]) return false;
  return true;
}

/**
 * The body as Latin-1 text, made when a literal first needs `Number()`: one character per byte, so
 * a byte offset is a character offset (`Number` of a slice of a string costs a third of decoding the
 * literal's bytes through `Buffer#toString`).
 */
let latin1: string | undefined;

/**
 * The number literal at `p`: its value, and {@link cursor} past it; gives up when none is there or
 * it is not finite.
 */
function numberAt(b: Buffer, p: number): number {
  let value = readJsonNumber(b, p);
  const end = lastLiteral.end;
  if (end < 0) throw GIVE_UP;
  if (!lastLiteral.decided) {
    latin1 ??= b.toString('latin1');
    value = Number(latin1.slice(p, end));
    if (!Number.isFinite(value)) throw GIVE_UP;
  }
  cursor = end;
  return value;
}

/** Whether the last literal {@link numberEnd} read had an exponent (module state, read right after). */
let lastHadExponent = false;

/**
 * A JSON number literal at `p` by the grammar (`-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`):
 * returns its end, or -1 when it is not one.
 */
function numberEnd(b: Buffer, p: number): number {
  let c = b[p] as number;
  if (c === 0x2d) c = b[++p] as number;
  if (c === 0x30) c = b[++p] as number;
  else {
    const from = p;
    while (c >= 0x30 && c <= 0x39) c = b[++p] as number;
    if (p === from) return -1;
  }
  if (c === 0x2e) {
    const from = ++p;
    c = b[p] as number;
    while (c >= 0x30 && c <= 0x39) c = b[++p] as number;
    if (p === from) return -1;
  }
  lastHadExponent = c === 0x65 || c === 0x45;
  if (lastHadExponent) {
    c = b[++p] as number;
    if (c === 0x2b || c === 0x2d) c = b[++p] as number;
    const from = p;
    while (c >= 0x30 && c <= 0x39) c = b[++p] as number;
    if (p === from) return -1;
  }
  return p;
}

/** `u` escapes take four hex digits; the others one of these letters. */
function isSimpleEscape(c: number): boolean {
  return c === QUOTE || c === BACKSLASH || c === 0x2f || c === 0x62 || c === 0x66 || c === 0x6e || c === 0x72 || c === 0x74;
}

function isHex(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46);
}

/**
 * From `p` (just after an opening quote): the index of the closing quote. Gives up on a raw control
 * character, an invalid escape or the end of the body. UTF-8 continuation bytes are >= 0x80 and
 * never look like a quote or a backslash.
 */
function stringEnd(b: Buffer, p: number): number {
  for (;;) {
    const c = b[p];
    if (c === QUOTE) return p;
    if (c === undefined || c < 0x20) throw GIVE_UP;
    if (c === BACKSLASH) {
      const e = b[p + 1] as number;
      if (isSimpleEscape(e)) p += 2;
      else if (e === 0x75 && isHex(b[p + 2] as number) && isHex(b[p + 3] as number) && isHex(b[p + 4] as number) && isHex(b[p + 5] as number)) p += 6;
      else throw GIVE_UP;
    } else p++;
  }
}

class Reader {
  pos = 0;
  constructor(readonly b: Buffer) {}

  ws(): void {
    const b = this.b;
    let p = this.pos;
    for (;;) {
      const c = b[p];
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) p++;
      else break;
    }
    this.pos = p;
  }

  expect(code: number): void {
    this.ws();
    if (this.b[this.pos] !== code) throw GIVE_UP;
    this.pos++;
  }

  /** Consumes `code` (after whitespace) if it is next. */
  accept(code: number): boolean {
    this.ws();
    if (this.b[this.pos] !== code) return false;
    this.pos++;
    return true;
  }

  /** A string's value (escapes and UTF-8 decoded). */
  string(): string {
    this.expect(QUOTE);
    const start = this.pos;
    const end = stringEnd(this.b, start);
    this.pos = end + 1;
    const raw = this.b.toString('utf8', start - 1, end + 1);
    try {
      return JSON.parse(raw) as string;
    } catch {
      throw GIVE_UP;
    }
  }

  number(): number {
    this.ws();
    const value = numberAt(this.b, this.pos);
    this.pos = cursor;
    return value;
  }

  literal(word: Piece): boolean {
    this.ws();
    if (!at(this.b, this.pos, word)) return false;
    this.pos += word.bytes.length;
    return true;
  }

  /** Skips any JSON value. */
  skip(): void {
    this.ws();
    const c = this.b[this.pos];
    if (c === QUOTE) {
      this.pos = stringEnd(this.b, this.pos + 1) + 1;
    } else if (c === OPEN_BRACE) {
      this.pos++;
      if (this.accept(CLOSE_BRACE)) return;
      do {
        this.string();
        this.expect(COLON);
        this.skip();
      } while (this.accept(COMMA));
      this.expect(CLOSE_BRACE);
    } else if (c === OPEN_BRACKET) {
      this.pos++;
      if (this.accept(CLOSE_BRACKET)) return;
      do this.skip();
      while (this.accept(COMMA));
      this.expect(CLOSE_BRACKET);
    } else if (!(this.literal(NULL) || this.literal(TRUE) || this.literal(FALSE))) this.number();
  }

  /** Calls `onKey` for each key of an object (positioned at its value); duplicate keys give up. */
  object(onKey: (key: string) => void): void {
    this.expect(OPEN_BRACE);
    if (this.accept(CLOSE_BRACE)) return;
    const seen = new Set<string>();
    do {
      const key = this.string();
      if (seen.has(key)) throw GIVE_UP;
      seen.add(key);
      this.expect(COLON);
      onKey(key);
    } while (this.accept(COMMA));
    this.expect(CLOSE_BRACE);
  }
}

const NULL = pieceOf('null');
const TRUE = pieceOf('true');
const FALSE = pieceOf('false');
/** What follows the token id of a position, up to its log-prob. */
const ENTRY_HEAD = pieceOf('":{"logprob":');
const LOGPROB_KEY = pieceOf('"logprob"');
/** The fields vLLM writes after the log-prob, in its order (the common case, read first). */
const RANK_HEAD = pieceOf(',"rank":');
const DECODED_HEAD = pieceOf(',"decoded_token":');

/** A literal without an exponent this long or shorter is finite (the largest double has 309 digits). */
const MAX_PLAIN_LITERAL = 300;

/** Where {@link position} leaves the scan: module state, not an allocation per position. */
let cursor = 0;

/** Past a string, `null` or a number at `p`; -1 when none is there. */
function afterScalar(b: Buffer, p: number): number {
  const c = b[p];
  if (c === QUOTE) return stringEnd(b, p + 1) + 1;
  if (c === 0x6e) return at(b, p, NULL) ? p + 4 : -1;
  return numberEnd(b, p);
}

/**
 * One position as vLLM writes it, compact (`JSONResponse` dumps with `separators=(",", ":")`):
 * `{"<id>":{"logprob":<x>,"rank":<r>,"decoded_token":<s>}}`, the entry's fields after `logprob` in
 * any order and of scalar values. Returns the log-prob and leaves {@link cursor} past the position;
 * anything else (another key, whitespace, a second `logprob`) gives up. vLLM's own field order is
 * read without the generic loop.
 */
function position(b: Buffer, p: number, id: number, needed: boolean): number {
  if (b[p] !== OPEN_BRACE || b[p + 1] !== QUOTE) throw GIVE_UP;
  // The key: the id's decimal digits, no leading zero.
  p += 2;
  let key = 0;
  const from = p;
  for (let c = b[p] as number; c >= 0x30 && c <= 0x39; c = b[++p] as number) key = key * 10 + (c - 0x30);
  if (p === from || key !== id || (b[from] === 0x30 && p - from > 1) || p - from > 15) throw GIVE_UP;
  if (!at(b, p, ENTRY_HEAD)) throw GIVE_UP;
  p += ENTRY_HEAD.bytes.length;
  // A position the caller does not need is checked to be a number but not converted (the
  // conversion is most of the scan's time); one that might overflow is converted all the same, so
  // that what gives up does not depend on what is needed.
  let value = Number.NaN;
  if (needed) {
    value = numberAt(b, p);
    p = cursor;
  } else {
    const end = numberEnd(b, p);
    if (end < 0) throw GIVE_UP;
    if (lastHadExponent || end - p > MAX_PLAIN_LITERAL) numberAt(b, p);
    p = end;
  }
  if (at(b, p, RANK_HEAD)) {
    // vLLM's order: rank (an integer or null), then decoded_token (a string or null).
    const afterRank = afterScalar(b, p + RANK_HEAD.bytes.length);
    if (afterRank > 0 && at(b, afterRank, DECODED_HEAD)) {
      const last = afterScalar(b, afterRank + DECODED_HEAD.bytes.length);
      if (last > 0 && b[last] === CLOSE_BRACE && b[last + 1] === CLOSE_BRACE) {
        cursor = last + 2;
        return value;
      }
    }
  }
  while (b[p] === COMMA) {
    p++;
    if (b[p] !== QUOTE || at(b, p, LOGPROB_KEY)) throw GIVE_UP;
    p = stringEnd(b, p + 1) + 1;
    if (b[p] !== COLON) throw GIVE_UP;
    p = afterScalar(b, p + 1);
    if (p < 0) throw GIVE_UP;
  }
  if (b[p] !== CLOSE_BRACE || b[p + 1] !== CLOSE_BRACE) throw GIVE_UP;
  cursor = p + 2;
  return value;
}

function promptLogprobs(r: Reader, ids: readonly number[], needFrom: number): Float64Array {
  const out = new Float64Array(ids.length - 1);
  r.expect(OPEN_BRACKET);
  r.skip(); // position 0 predicts nothing (vLLM writes null)
  const b = r.b;
  for (let j = 1; j < ids.length; j++) {
    if (b[r.pos] !== COMMA) throw GIVE_UP;
    out[j - 1] = position(b, r.pos + 1, ids[j] as number, j >= needFrom);
    r.pos = cursor;
  }
  r.expect(CLOSE_BRACKET);
  return out;
}

/**
 * The log-probs of every sequence, as parsePromptLogprobs gives them, or undefined (see above).
 * `body` is the response's bytes (a string is encoded first, for tests and callers holding text).
 * `needFrom[i]` (TokenScorer.logprobs): the first token of sequence i whose log-prob is needed;
 * earlier ones are checked but left NaN.
 */
export function scanPromptLogprobs(
  body: Uint8Array | string,
  sequences: readonly (readonly number[])[],
  needFrom?: readonly number[],
): Float64Array[] | undefined {
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const r = new Reader(bytes);
  const results: (Float64Array | undefined)[] = new Array(sequences.length).fill(undefined);
  let choices = 0;
  try {
    r.object((key) => {
      if (key === 'error') throw GIVE_UP;
      if (key === 'object') {
        r.ws();
        if (r.b[r.pos] !== QUOTE) return r.skip();
        if (r.string() === 'error') throw GIVE_UP;
        return;
      }
      if (key !== 'choices') return r.skip();
      r.expect(OPEN_BRACKET);
      if (r.accept(CLOSE_BRACKET)) return;
      do {
        let index: number | undefined;
        let done = false;
        r.object((field) => {
          if (field === 'index') {
            index = r.number();
            if (!Number.isInteger(index) || index < 0 || index >= sequences.length || results[index] !== undefined) throw GIVE_UP;
          } else if (field === 'prompt_logprobs') {
            if (index === undefined) throw GIVE_UP;
            results[index] = promptLogprobs(r, sequences[index] as readonly number[], needFrom?.[index] ?? 1);
            done = true;
          } else r.skip();
        });
        if (!done) throw GIVE_UP;
        choices++;
      } while (r.accept(COMMA));
      r.expect(CLOSE_BRACKET);
    });
    r.ws();
    if (r.pos !== bytes.length) return undefined;
  } catch (e) {
    if (e === GIVE_UP) return undefined;
    throw e;
  } finally {
    latin1 = undefined; // neither is kept alive until the next body
    view = new DataView(new ArrayBuffer(0));
  }
  if (choices !== sequences.length || results.some((x) => x === undefined)) return undefined;
  return results as Float64Array[];
}
