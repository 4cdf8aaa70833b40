/**
 * The prompt_logprobs reader's own decimal-to-double conversion (decimalLiteral.ts) against
 * `Number()`, V8's correctly rounded conversion: every literal it decides must give the same double
 * bit for bit, the literals vLLM writes for log-probs must nearly all be decided here (or the fast
 * path is dead code), and literals that sit near a rounding boundary, or exactly on one, must be
 * left to `Number()` or decided right. The boundary cases are built exactly with BigInt from the
 * binary value of a double and its neighbour.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { lastLiteral, readJsonNumber } from '../../src/core/scoring/vllm/decimalLiteral';
import { seededRandom } from '../helpers/random';

/** The reader's answer for a whole literal: its double, or undefined when it leaves it to Number(). */
function read(literal: string): number | undefined {
  const bytes = Buffer.from(`${literal},`, 'latin1');
  const value = readJsonNumber(bytes, 0);
  assert.equal(lastLiteral.end, literal.length, `${literal}: the literal's end`);
  return lastLiteral.decided ? value : undefined;
}

/** Python's repr of a float, the form vLLM's JSON carries (`1e-05`, `-0.0`, `12.0`). */
function pythonRepr(x: number): string {
  let s = String(x).replace(/e([+-])(\d)$/, 'e$10$2');
  if (/^-?\d+$/.test(s)) s += '.0';
  return s;
}

/** Checks one literal; returns whether the reader decided it. */
function agrees(literal: string): boolean {
  const got = read(literal);
  if (got === undefined) return false;
  assert.ok(Object.is(got, Number(literal)), `${literal}: read ${got}, Number() gives ${Number(literal)}`);
  return true;
}

const bits = new Float64Array(1);
const words = new BigUint64Array(bits.buffer);

/** The exact decimal digits of the midpoint between x > 0 and the next double up, and its power of ten. */
function midpointDigits(x: number): { digits: string; power: number } {
  bits[0] = x;
  const raw = words[0] as bigint;
  const exponent = Number((raw >> 52n) & 0x7ffn) - 1075;
  const mantissa = (raw & ((1n << 52n) - 1n)) | (1n << 52n);
  // (2m + 1) * 2^(e - 1) = (2m + 1) * 5^(1 - e) / 10^(1 - e), for e < 1.
  const k = 1 - exponent;
  return { digits: ((2n * mantissa + 1n) * 5n ** BigInt(k)).toString(), power: -k };
}

describe('JSON number literals read from bytes', () => {
  it('gives Number()’s double for the log-probs vLLM writes, and decides nearly all of them itself', () => {
    const random = seededRandom(21);
    let decided = 0;
    const n = 200_000;
    for (let i = 0; i < n; i++) {
      const logprob = i % 4 === 0 ? -Math.exp(-random() * 12) : -random() * 40;
      if (agrees(pythonRepr(logprob))) decided++;
    }
    assert.ok(decided / n > 0.95, `only ${decided} of ${n} log-prob literals decided without Number()`);
  });

  it('gives Number()’s double for any double’s shortest form, and for longer or shorter digit strings', () => {
    const random = seededRandom(22);
    for (let i = 0; i < 100_000; i++) {
      words[0] = (BigInt(Math.floor(random() * 2 ** 32)) << 32n) | BigInt(Math.floor(random() * 2 ** 32));
      const x = bits[0] as number;
      if (!Number.isFinite(x)) continue;
      const literal = pythonRepr(x);
      agrees(literal);
      agrees(String(x));
      const [mantissa, exponent] = literal.split('e') as [string, string | undefined];
      const tail = exponent === undefined ? '' : `e${exponent}`;
      for (const extra of ['1', '5', '49', '51', '0000']) agrees(`${mantissa}${extra}${tail}`);
      agrees(`${mantissa.slice(0, -1)}${(Number(mantissa.at(-1)) + 5) % 10}${tail}`);
    }
  });

  it('near and on a rounding boundary: right or left to Number(), never wrong', () => {
    const random = seededRandom(23);
    let boundaryLeft = 0;
    for (let i = 0; i < 20_000; i++) {
      const x = 0.01 + random() * 40;
      const { digits, power } = midpointDigits(x);
      for (const keep of [16, 17, 18, 19]) {
        for (const nudge of [-1n, 0n, 1n]) {
          const kept = (BigInt(digits.slice(0, keep)) + nudge).toString();
          agrees(`-${kept}e${digits.length - keep + power}`);
        }
      }
      // The midpoint itself, written out whole (too many digits) and cut to 19 digits when exact.
      if (!agrees(`-${digits}e${power}`)) boundaryLeft++;
    }
    assert.equal(boundaryLeft, 20_000, 'an exact midpoint with more than 19 digits must be left to Number()');
    // Ties written with a fraction (the division path): 2^53 + 1 lies halfway between two doubles,
    // and so does 2^54 + 2.
    for (const tie of ['9007199254740993', '9007199254740993.0', '90071992547409930e-1', '-18014398509481986.00']) {
      assert.equal(read(tie), undefined, `${tie} is a tie and must be left to Number()`);
    }
  });

  it('reads the edges of the grammar and refuses what is not a literal', () => {
    for (const literal of ['0', '-0', '-0.0', '0.0', '1e22', '1e23', '1E-5', '1e+16', '5e-324', '1.7976931348623157e308', '123456789012345678', '0.000000000000000000001']) {
      const got = read(literal);
      if (got !== undefined) assert.ok(Object.is(got, Number(literal)), literal);
    }
    assert.ok(Object.is(read('-0.0'), -0));
    for (const bad of ['-', '.5', '1.', '1e', '1e+', '-a', '']) {
      readJsonNumber(Buffer.from(`${bad},`, 'latin1'), 0);
      assert.equal(lastLiteral.end, -1, `${JSON.stringify(bad)} is not a literal`);
    }
  });
});
