/**
 * Where and why `JSON.parse` rejected a line. V8 names the position in most of its messages
 * ("... in JSON at position 15", Node 22 adds "(line 1 column 16)"), but not in its
 * "Unexpected token 'x', "..." is not valid JSON" form, nor at the end of the input; for those the
 * position comes from a small validating scanner, which follows the same grammar and so points at
 * the same character V8 stopped at.
 */

export interface JsonSyntaxError {
  /** 0-based UTF-16 offset of the offending character; `text.length` when the input ended early. */
  position: number;
  /** Plain-words reason, lower-case, without V8's position suffix or its quote of the input. */
  reason: string;
}

export function describeJsonSyntaxError(text: string, error: unknown): JsonSyntaxError {
  const message = error instanceof Error ? error.message : String(error);
  const at = / in JSON at position (\d+)/.exec(message);
  let reason = message
    .replace(/ in JSON at position \d+.*$/s, '')
    .replace(/, (?:\.\.\.)?".*"(?:\.\.\.)? is not valid JSON$/s, '')
    .replace(/^Unexpected end of JSON input$/, 'unexpected end of input');
  reason = reason.charAt(0).toLowerCase() + reason.slice(1);
  let position: number;
  if (at) position = Math.min(Number(at[1]), text.length);
  else position = findJsonSyntaxError(text) ?? text.length;
  if (position >= text.length) position = text.length;
  if (/^unexpected non-whitespace character after JSON/.test(reason) && /^[{[]/.test(text.slice(position))) {
    reason += ' (one record per line: is a line break missing?)';
  }
  return { position, reason };
}

const enum State {
  Value,
  ValueOrClose,
  KeyOrClose,
  Key,
  Colon,
  CommaOrClose,
  End,
}

/**
 * Offset of the first character that makes `text` invalid JSON (`text.length` when it ends too
 * early), or undefined when it is valid. Iterative, so deep nesting cannot overflow the stack.
 */
export function findJsonSyntaxError(text: string): number | undefined {
  const n = text.length;
  const stack: number[] = [];
  let state = State.Value;
  let i = 0;
  for (;;) {
    while (i < n && isWs(text.charCodeAt(i))) i++;
    if (i >= n) return state === State.End ? undefined : n;
    const c = text.charCodeAt(i);
    switch (state) {
      case State.End:
        return i;
      case State.Colon:
        if (c !== 0x3a) return i;
        i++;
        state = State.Value;
        break;
      case State.KeyOrClose:
      case State.Key:
        if (c === 0x7d && state === State.KeyOrClose) {
          stack.pop();
          i++;
          state = stack.length > 0 ? State.CommaOrClose : State.End;
        } else if (c === 0x22) {
          const r = scanString(text, i);
          if (r < 0) return -r - 1;
          i = r;
          state = State.Colon;
        } else return i;
        break;
      case State.CommaOrClose: {
        const inObject = stack[stack.length - 1] === 0x7b;
        if (c === 0x2c) {
          i++;
          state = inObject ? State.Key : State.Value;
        } else if (c === (inObject ? 0x7d : 0x5d)) {
          stack.pop();
          i++;
          state = stack.length > 0 ? State.CommaOrClose : State.End;
        } else return i;
        break;
      }
      case State.Value:
      case State.ValueOrClose: {
        if (c === 0x5d && state === State.ValueOrClose) {
          stack.pop();
          i++;
        } else if (c === 0x7b || c === 0x5b) {
          stack.push(c);
          i++;
          state = c === 0x7b ? State.KeyOrClose : State.ValueOrClose;
          break;
        } else {
          const r = c === 0x22 ? scanString(text, i) : c === 0x2d || (c >= 0x30 && c <= 0x39) ? scanNumber(text, i) : scanLiteral(text, i);
          if (r < 0) return -r - 1;
          i = r;
        }
        state = stack.length > 0 ? State.CommaOrClose : State.End;
        break;
      }
    }
  }
}

/** Scanners return the index after the token, or `-(errorIndex + 1)`. */
function scanString(t: string, i: number): number {
  for (let j = i + 1; j < t.length; j++) {
    const c = t.charCodeAt(j);
    if (c === 0x22) return j + 1;
    if (c < 0x20) return -(j + 1);
    if (c === 0x5c) {
      const e = t.charCodeAt(j + 1);
      if (j + 1 >= t.length) return -(t.length + 1);
      if (e === 0x75) {
        for (let k = j + 2; k < j + 6; k++) {
          if (k >= t.length) return -(t.length + 1);
          if (!/[0-9a-fA-F]/.test(t[k])) return -(k + 1);
        }
        j += 5;
      } else if ('"\\/bfnrt'.includes(t[j + 1])) j++;
      else return -(j + 2);
    }
  }
  return -(t.length + 1);
}

function scanNumber(t: string, i: number): number {
  let j = i;
  if (t.charCodeAt(j) === 0x2d) j++;
  if (t.charCodeAt(j) === 0x30) j++;
  else if (isDigit(t.charCodeAt(j))) while (isDigit(t.charCodeAt(j))) j++;
  else return -(j + 1);
  if (t.charCodeAt(j) === 0x2e) {
    j++;
    if (!isDigit(t.charCodeAt(j))) return -(j + 1);
    while (isDigit(t.charCodeAt(j))) j++;
  }
  if (t.charCodeAt(j) === 0x65 || t.charCodeAt(j) === 0x45) {
    j++;
    if (t.charCodeAt(j) === 0x2b || t.charCodeAt(j) === 0x2d) j++;
    if (!isDigit(t.charCodeAt(j))) return -(j + 1);
    while (isDigit(t.charCodeAt(j))) j++;
  }
  return j;
}

function scanLiteral(t: string, i: number): number {
  const word = t.startsWith('t', i) ? 'true' : t.startsWith('f', i) ? 'false' : t.startsWith('n', i) ? 'null' : '';
  if (word === '') return -(i + 1);
  for (let k = 1; k < word.length; k++) {
    if (i + k >= t.length) return -(t.length + 1);
    if (t[i + k] !== word[k]) return -(i + k + 1);
  }
  return i + word.length;
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function isWs(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}
