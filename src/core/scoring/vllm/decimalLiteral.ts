/**
 * The double nearest a JSON number literal, computed from its bytes without making a string of it:
 * the prompt_logprobs reader converts one literal per scored token, and `Number()` of a sliced
 * string cost most of its time (vLLM writes Python's shortest round-trip form, 16-17 significant
 * digits for nearly every log-prob, past the 2^53 where a plain `digits / 10^k` is exact).
 *
 * The result is the correctly rounded double (the one `Number()` and `JSON.parse` give) or NaN,
 * meaning "not decided here, use `Number()`":
 * - Up to 15 significant digits and a power of ten up to 10^22: Clinger's fast path, `digits` and
 *   `10^k` are both exact doubles, so one IEEE multiplication or division rounds correctly.
 * - 16 to 19 significant digits, a negative power down to 10^-22 (every log-prob vLLM writes but
 *   the smallest): the digits are held exactly as a double-double, divided by 10^k in double-double
 *   arithmetic (Dekker's exact products), which leaves an error below 2^-100 of the value; the
 *   result is taken only when every value within 2^-80 of it rounds to the same double, so a
 *   literal near a rounding boundary (or on it, a tie) goes to `Number()`.
 * - Anything else (more digits, larger exponents): NaN.
 */

/** Exact powers of ten as doubles (10^22 is the largest: 5^22 < 2^53). */
const POW10: readonly number[] = Array.from({ length: 23 }, (_, k) => Number(`1e${k}`));
/** Veltkamp's splitter for doubles, 2^27 + 1. */
const SPLITTER = 134217729;
/** The interval checked around the double-double result, relative to it (far above its error). */
const SAFETY = 2 ** -80;

/** The low part of the last {@link exactProduct} (module state, read right after the call). */
let productLow = 0;

/** a × b as productHigh + {@link productLow}, exactly (Dekker; no FMA in JavaScript). */
function exactProduct(a: number, b: number): number {
  const p = a * b;
  let t = SPLITTER * a;
  const aHigh = t - (t - a);
  const aLow = a - aHigh;
  t = SPLITTER * b;
  const bHigh = t - (t - b);
  const bLow = b - bHigh;
  productLow = aHigh * bHigh - p + aHigh * bLow + aLow * bHigh + aLow * bLow;
  return p;
}

/** Where the last {@link readJsonNumber} ended (-1: no literal there), and whether it decided the value. */
export const lastLiteral = { end: 0, decided: true };

/**
 * Reads the JSON number literal at `b[p]` by the grammar (`-? (0 | [1-9][0-9]*) (. [0-9]+)?
 * ([eE] [+-]? [0-9]+)?`) in one pass: returns its correctly rounded double and sets
 * {@link lastLiteral}. `lastLiteral.end` is -1 when no literal is there; `lastLiteral.decided` is
 * false (and the result NaN) when the value is not decided here and `Number()` of the literal must
 * give it.
 */
export function readJsonNumber(b: Uint8Array, p: number): number {
  let c = b[p] as number;
  const negative = c === 0x2d;
  if (negative) c = b[++p] as number;
  // The significant digits: the first 15 in `high`, up to 4 more in `low` (more: undecided).
  let high = 0;
  let low = 0;
  let lowDigits = 0;
  let digits = 0;
  let scale = 0;
  if (c === 0x30) c = b[++p] as number;
  else {
    const from = p;
    while (c >= 0x30 && c <= 0x39) {
      if (digits < 15) high = high * 10 + (c - 0x30);
      else {
        low = low * 10 + (c - 0x30);
        lowDigits++;
      }
      digits++;
      c = b[++p] as number;
    }
    if (p === from) return notALiteral();
  }
  if (c === 0x2e) {
    const from = ++p;
    c = b[p] as number;
    if (digits === 0) {
      while (c === 0x30) {
        scale--;
        c = b[++p] as number;
      }
    }
    while (c >= 0x30 && c <= 0x39) {
      if (digits < 15) high = high * 10 + (c - 0x30);
      else {
        low = low * 10 + (c - 0x30);
        lowDigits++;
      }
      digits++;
      scale--;
      c = b[++p] as number;
    }
    if (p === from) return notALiteral();
  }
  if (c === 0x65 || c === 0x45) {
    c = b[++p] as number;
    const negativeExponent = c === 0x2d;
    if (c === 0x2d || c === 0x2b) c = b[++p] as number;
    const from = p;
    let exponent = 0;
    while (c >= 0x30 && c <= 0x39) {
      if (exponent < 10_000) exponent = exponent * 10 + (c - 0x30);
      c = b[++p] as number;
    }
    if (p === from) return notALiteral();
    scale += negativeExponent ? -exponent : exponent;
  }
  lastLiteral.end = p;
  let value: number;
  if (lowDigits === 0) {
    if (scale < -22 || scale > 22) return undecided();
    value = scale < 0 ? high / (POW10[-scale] as number) : high * (POW10[scale] as number);
  } else {
    if (lowDigits > 4 || scale < -22 || scale >= 0) return undecided();
    value = divideExactly(high, low, lowDigits, POW10[-scale] as number);
    if (Number.isNaN(value)) return undecided();
  }
  lastLiteral.decided = true;
  return negative ? -value : value;
}

function notALiteral(): number {
  lastLiteral.end = -1;
  lastLiteral.decided = false;
  return Number.NaN;
}

function undecided(): number {
  lastLiteral.decided = false;
  return Number.NaN;
}

/** (high × 10^lowDigits + low) / divisor, correctly rounded, or NaN when too close to call. */
function divideExactly(high: number, low: number, lowDigits: number, divisor: number): number {
  // The digits exactly, as s + sLow (they are integers below 2^64, so no step here rounds away).
  const p = exactProduct(high, POW10[lowDigits] as number);
  const pLow = productLow;
  const s = p + low;
  const back = s - p;
  const sLow = pLow + (p - (s - back) + (low - back));
  // One double-double division step: q1 = s / divisor, then the remainder's quotient.
  const q1 = s / divisor;
  const m = exactProduct(q1, divisor);
  const remainder = s - m - productLow + sLow;
  const q2 = remainder / divisor;
  const margin = Math.abs(q1) * SAFETY;
  const up = q1 + (q2 + margin);
  return up === q1 + (q2 - margin) ? up : Number.NaN;
}
