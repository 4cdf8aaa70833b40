/**
 * The log-probs of a `prompt_logprobs` answer read straight from its text, without building the
 * JSON tree: vLLM writes one object per prompt position, keyed by the token id as a string
 * (`{"1234": {"logprob": -2.5, "rank": 3, "decoded_token": "abc"}}`), and `JSON.parse` turns each
 * into an object with an integer-like key (a slow, sparse layout for V8) plus a nested object and a
 * string, about half of the client's CPU time per token before this scan.
 *
 * The scan is a strict JSON reader for one shape: it returns exactly what {@link
 * parsePromptLogprobs} returns, or undefined whenever the text is anything else (an error body,
 * a missing choice or position, a token id that is not the one sent, a `NaN` or `Infinity` written
 * by Python, keys in another order, a duplicate key, invalid JSON). The caller then parses the text
 * the ordinary way, which gives the answer or the precise error. Numbers are read by `Number()` of
 * their literal, the same correctly rounded double `JSON.parse` gives.
 */

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

/** Past one or more digits from `p` (none gives up). */
function digits(t: string, p: number): number {
  const from = p;
  for (let c = t.charCodeAt(p); c >= 0x30 && c <= 0x39; c = t.charCodeAt(++p));
  if (p === from) throw GIVE_UP;
  return p;
}

class Reader {
  pos = 0;
  constructor(readonly text: string) {}

  ws(): void {
    const t = this.text;
    let p = this.pos;
    for (;;) {
      const c = t.charCodeAt(p);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) p++;
      else break;
    }
    this.pos = p;
  }

  expect(code: number): void {
    this.ws();
    if (this.text.charCodeAt(this.pos) !== code) throw GIVE_UP;
    this.pos++;
  }

  /** Consumes `code` (after whitespace) if it is next. */
  accept(code: number): boolean {
    this.ws();
    if (this.text.charCodeAt(this.pos) !== code) return false;
    this.pos++;
    return true;
  }

  /** A string's value (escapes decoded). */
  string(): string {
    this.expect(QUOTE);
    const t = this.text;
    const start = this.pos;
    let p = start;
    let escaped = false;
    for (;;) {
      const c = t.charCodeAt(p);
      if (Number.isNaN(c) || c < 0x20) throw GIVE_UP;
      if (c === QUOTE) break;
      if (c === BACKSLASH) {
        escaped = true;
        p += 2;
      } else p++;
    }
    this.pos = p + 1;
    if (!escaped) return t.slice(start, p);
    try {
      return JSON.parse(t.slice(start - 1, p + 1)) as string;
    } catch {
      throw GIVE_UP;
    }
  }

  number(): number {
    this.ws();
    const t = this.text;
    const start = this.pos;
    let p = start;
    if (t.charCodeAt(p) === 0x2d) p++;
    if (t.charCodeAt(p) === 0x30) p++;
    else p = digits(t, p);
    if (t.charCodeAt(p) === 0x2e) p = digits(t, p + 1);
    const e = t.charCodeAt(p);
    if (e === 0x65 || e === 0x45) {
      p++;
      const sign = t.charCodeAt(p);
      if (sign === 0x2b || sign === 0x2d) p++;
      p = digits(t, p);
    }
    this.pos = p;
    const value = Number(t.slice(start, p));
    if (!Number.isFinite(value)) throw GIVE_UP;
    return value;
  }

  literal(word: string): boolean {
    this.ws();
    if (!this.text.startsWith(word, this.pos)) return false;
    this.pos += word.length;
    return true;
  }

  /** Skips any JSON value. */
  skip(): void {
    this.ws();
    const c = this.text.charCodeAt(this.pos);
    if (c === QUOTE) this.string();
    else if (c === OPEN_BRACE) {
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
    } else if (!(this.literal('null') || this.literal('true') || this.literal('false'))) this.number();
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

/**
 * From `p`, past the end of a string whose opening quote is at `p - 1`: the index after its closing
 * quote. Escaped quotes are skipped (a quote preceded by an odd number of backslashes).
 */
function afterString(t: string, p: number): number {
  for (;;) {
    const q = t.indexOf('"', p);
    if (q < 0) throw GIVE_UP;
    let backslashes = 0;
    while (t.charCodeAt(q - 1 - backslashes) === BACKSLASH) backslashes++;
    if (backslashes % 2 === 0) return q + 1;
    p = q + 1;
  }
}

/** The end of a JSON number literal starting at `p` (checked by `Number` afterwards). */
function afterNumber(t: string, p: number): number {
  for (;;) {
    const c = t.charCodeAt(p);
    // digits, '-', '+', '.', 'e', 'E'
    if ((c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x2b || c === 0x2e || c === 0x65 || c === 0x45) p++;
    else return p;
  }
}

/** What follows the token id of a position, up to its log-prob. */
const ENTRY_HEAD = '":{"logprob":';

/**
 * One position as vLLM writes it, compact (`JSONResponse` dumps with `separators=(",", ":")`):
 * `{"<id>":{"logprob":<x>,"rank":<r>,"decoded_token":<s>}}`, the entry's fields after `logprob` in
 * any order and of scalar values. Returns the log-prob and moves past the position; anything else
 * (another key, whitespace, a second `logprob`) gives up.
 */
function position(r: Reader, id: number): number {
  const t = r.text;
  let p = r.pos;
  if (t.charCodeAt(p) !== OPEN_BRACE || t.charCodeAt(p + 1) !== QUOTE) throw GIVE_UP;
  // The key: the id's decimal digits, no leading zero.
  p += 2;
  let key = 0;
  const from = p;
  for (let c = t.charCodeAt(p); c >= 0x30 && c <= 0x39; c = t.charCodeAt(++p)) key = key * 10 + (c - 0x30);
  if (p === from || key !== id || (t.charCodeAt(from) === 0x30 && p - from > 1) || p - from > 15) throw GIVE_UP;
  if (!t.startsWith(ENTRY_HEAD, p)) throw GIVE_UP;
  r.pos = p + ENTRY_HEAD.length;
  const value = r.number();
  p = r.pos;
  while (t.charCodeAt(p) === COMMA) {
    p++;
    if (t.charCodeAt(p) !== QUOTE || t.startsWith('"logprob"', p)) throw GIVE_UP;
    p = afterString(t, p + 1);
    if (t.charCodeAt(p) !== COLON) throw GIVE_UP;
    p++;
    const c = t.charCodeAt(p);
    if (c === QUOTE) p = afterString(t, p + 1);
    else if (t.startsWith('null', p)) p += 4;
    else {
      const end = afterNumber(t, p);
      if (end === p) throw GIVE_UP;
      p = end;
    }
  }
  if (t.charCodeAt(p) !== CLOSE_BRACE || t.charCodeAt(p + 1) !== CLOSE_BRACE) throw GIVE_UP;
  r.pos = p + 2;
  return value;
}

function promptLogprobs(r: Reader, ids: readonly number[]): Float64Array {
  const out = new Float64Array(ids.length - 1);
  r.expect(OPEN_BRACKET);
  r.skip(); // position 0 predicts nothing (vLLM writes null)
  const t = r.text;
  for (let j = 1; j < ids.length; j++) {
    if (t.charCodeAt(r.pos) !== COMMA) throw GIVE_UP;
    r.pos++;
    out[j - 1] = position(r, ids[j] as number);
  }
  r.expect(CLOSE_BRACKET);
  return out;
}

/** The log-probs of every sequence, as parsePromptLogprobs gives them, or undefined (see above). */
export function scanPromptLogprobs(text: string, sequences: readonly (readonly number[])[]): Float64Array[] | undefined {
  const r = new Reader(text);
  const results: (Float64Array | undefined)[] = new Array(sequences.length).fill(undefined);
  let choices = 0;
  try {
    r.object((key) => {
      if (key === 'error') throw GIVE_UP;
      if (key === 'object') {
        r.ws();
        if (r.text.charCodeAt(r.pos) !== QUOTE) return r.skip();
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
            results[index] = promptLogprobs(r, sequences[index] as readonly number[]);
            done = true;
          } else r.skip();
        });
        if (!done) throw GIVE_UP;
        choices++;
      } while (r.accept(COMMA));
      r.expect(CLOSE_BRACKET);
    });
    r.ws();
    if (r.pos !== text.length) return undefined;
  } catch (e) {
    if (e === GIVE_UP) return undefined;
    throw e;
  }
  if (choices !== sequences.length || results.some((x) => x === undefined)) return undefined;
  return results as Float64Array[];
}
