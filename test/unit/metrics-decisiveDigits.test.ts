import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decisiveDigits } from '../../src/core/metrics/decisiveDigits';
import { decisiveNumber } from '../../src/server/presentation';
import { decisiveText } from '../../src/server/records';
import { formatValue } from '../../webview/overviewModel';

// Each expected text worked by hand: the precision's text, then one digit more until the printed
// number is on the value's side of the threshold.

test('fixed decimals: more digits only until the text is on the side of the threshold the value is', () => {
  assert.equal(decisiveDigits(1.001, 1, { decimals: 2 }), '1.001');
  assert.equal(decisiveDigits(0.99996, 1, { decimals: 4 }), '0.99996');
  assert.equal(decisiveDigits(1, 1, { decimals: 4 }), '1.0000', 'on the threshold: no more digits');
  assert.equal(decisiveDigits(1.2345, undefined, { decimals: 2 }), '1.23', 'no threshold: the precision alone');
  assert.equal(decisiveDigits(1 + 2 ** -52, 1, { decimals: 2 }), '1.0000000000000002', 'the last bit of a double');
});

test('significant digits drop trailing zeros', () => {
  assert.equal(decisiveDigits(1.0011, 1, { significant: 3 }), '1.001');
  assert.equal(decisiveDigits(0.5, 1, { significant: 3 }), '0.5');
  assert.equal(decisiveDigits(123456, undefined, { significant: 3 }), '123000');
});

test('a threshold between two printable values is not crossed by rounding', () => {
  // 0.7541 > 0.75405, but to three digits it is 0.754, below the threshold: a fourth digit decides.
  assert.equal(decisiveDigits(0.7541, 0.75405, { significant: 3 }), '0.7541');
  // 1.00004 > 1.000035, but to four decimals it is 1.0000, below it.
  assert.equal(decisiveDigits(1.00004, 1.000035, { decimals: 4 }), '1.00004');
  assert.equal(decisiveDigits(0.75404, 0.75405, { significant: 3 }), '0.754', 'below, and printed below: three digits do');
});

test('values no digit count can part from the threshold print exactly; non-finite ones as they are', () => {
  assert.equal(decisiveDigits(1e-30, 0, { decimals: 2 }), '1e-30');
  assert.equal(decisiveDigits(Infinity, 1, { decimals: 2 }), 'Infinity');
});

test('the labels, the record view and the overview print one value the same way against one threshold', () => {
  for (const [v, t] of [
    [1.0011, 1],
    [0.99999, 1],
    [0.7541, 0.75405],
    [1.0000000000001, 1],
  ]) {
    const label = decisiveNumber(v, t);
    const view = decisiveText(v, t);
    const table = formatValue(v, t);
    for (const text of [label, view, table]) assert.equal(Math.sign(Number(text) - t), Math.sign(v - t), `${text} for ${v} against ${t}`);
    // They differ only in the least digits they start from: each is the value to that many digits or more.
    assert.equal(Number(view), Number(v.toFixed(view.split('.')[1].length)));
  }
});
