import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { matchesGold, readAnswer, readGoldAnswer, type AnswerReading } from '../../src/core/reasoning/answers';
import { extractChoiceAnswer } from '../../src/core/reasoning/choiceAnswer';
import { boxedAnswer, isEquivTdg, lastBoxedOnlyString, mathAnswerKey, removeBoxed, stripMathString } from '../../src/core/reasoning/mathAnswer';

// Every expected value below was worked out by hand from the rules of TDG's code/dataset.py
// (METHODS §6.1) and IWSI's src/utils/utils.py (§5.3), step by step.

describe('stripMathString (Hendrycks MATH normalisation as TDG has it)', () => {
  it('drops \\left/\\right and spaces, and fixes \\frac12', () => {
    assert.equal(stripMathString('\\left( 3, \\frac12 \\right)'), '(3,\\frac{1}{2})');
  });
  it('drops degrees, dollars, percent, unit text and \\!', () => {
    assert.equal(stripMathString('90^\\circ'), '90');
    assert.equal(stripMathString('90^{\\circ}'), '90');
    assert.equal(stripMathString('\\$5.00'), '5.00');
    assert.equal(stripMathString('50\\%'), '50');
    assert.equal(stripMathString('10\\text{ cm}'), '10');
    assert.equal(stripMathString('10,\\!000'), '10,000');
  });
  it('maps tfrac/dfrac to frac and \\\\ to \\', () => {
    assert.equal(stripMathString('\\dfrac{3}{4}'), '\\frac{3}{4}');
    assert.equal(stripMathString('\\tfrac{3}{4}'), '\\frac{3}{4}');
    assert.equal(stripMathString('a\\\\b'), 'a\\b');
  });
  it('rewrites a/b of two canonical integers only', () => {
    assert.equal(stripMathString('3/4'), '\\frac{3}{4}');
    assert.equal(stripMathString('-1/2'), '\\frac{-1}{2}');
    assert.equal(stripMathString('03/4'), '03/4');
    assert.equal(stripMathString('x/4'), 'x/4');
    assert.equal(stripMathString('1/2/3'), '1/2/3');
  });
  it('turns exactly 0.5 (also ".5" and "x = .5") into \\frac{1}{2}, and nothing else', () => {
    assert.equal(stripMathString('0.5'), '\\frac{1}{2}');
    assert.equal(stripMathString('.5'), '\\frac{1}{2}');
    assert.equal(stripMathString('x = .5'), '\\frac{1}{2}');
    assert.equal(stripMathString('0.50'), '0.50');
    assert.equal(stripMathString('{.25}'), '{0.25}');
  });
  it('drops a "k=" prefix of at most two characters, and only with one "="', () => {
    assert.equal(stripMathString('k=3'), '3');
    assert.equal(stripMathString('k = 3'), '3');
    assert.equal(stripMathString('abc=3'), 'abc=3');
    assert.equal(stripMathString('x=y=3'), 'x=y=3');
  });
  it('fixes \\sqrt3 and one-character fractions', () => {
    assert.equal(stripMathString('2\\sqrt3'), '2\\sqrt{3}');
    assert.equal(stripMathString('\\sqrt{3}'), '\\sqrt{3}');
    assert.equal(stripMathString('\\frac1{72}'), '\\frac{1}{72}');
    assert.equal(stripMathString('\\frac{72}1'), '\\frac{72}1');
    // One character after \frac: the Python returns its input unchanged (spaces already gone).
    assert.equal(stripMathString('2 + \\frac1'), '2+\\frac1');
  });
  it('throws where the Python raises, and the key then falls back to the raw answer', () => {
    assert.throws(() => stripMathString('x\\sqrt'));
    assert.throws(() => stripMathString('\\frac'));
    assert.throws(() => stripMathString('1\\text{ m}\\text{ s}'));
    assert.notEqual(mathAnswerKey('\\frac'), mathAnswerKey('\\frac{}'));
    assert.equal(mathAnswerKey('\\frac'), mathAnswerKey('\\frac'));
  });
  it('does not equate numbers Hendrycks does not (5 vs 5.00)', () => {
    assert.notEqual(mathAnswerKey('5'), mathAnswerKey('\\$5.00'));
    assert.equal(mathAnswerKey('\\$5'), mathAnswerKey('5'));
  });
});

describe('boxed answers', () => {
  it('finds the last box with balanced braces', () => {
    const text = 'First \\boxed{2}. Then $\\boxed{\\frac{1}{\\sqrt{2}}}$ done.';
    assert.equal(lastBoxedOnlyString(text), '\\boxed{\\frac{1}{\\sqrt{2}}}');
    assert.equal(removeBoxed(lastBoxedOnlyString(text)), '\\frac{1}{\\sqrt{2}}');
    assert.equal(boxedAnswer(text), '\\frac{1}{\\sqrt{2}}');
  });
  it('gives no answer when the last box is not closed (a truncated solution), not an earlier one', () => {
    const text = 'So \\boxed{2} is wrong; the answer is \\boxed{\\frac{3}{';
    assert.equal(lastBoxedOnlyString(text), null);
    assert.equal(boxedAnswer(text), null);
  });
  it('reads \\fbox and "\\boxed 5" where TDG reads nothing', () => {
    assert.equal(lastBoxedOnlyString('\\fbox{5}'), '\\fbox{5}');
    assert.equal(removeBoxed('\\fbox{5}'), null);
    assert.equal(boxedAnswer('\\fbox{5}'), '5');
    assert.equal(boxedAnswer('so $\\boxed 5$.'), '5');
    assert.equal(removeBoxed(lastBoxedOnlyString('so $\\boxed 5$.')), null);
    assert.equal(boxedAnswer('\\boxed {7}'), '7');
  });
  it('TDG is_equiv: two missing answers are equal, one missing is not', () => {
    assert.equal(isEquivTdg(null, null), true);
    assert.equal(isEquivTdg('1', null), false);
    assert.equal(isEquivTdg('\\dfrac{1}{2}', '0.5'), true);
    assert.equal(isEquivTdg('\\dfrac{1}{2}', '1/2'), true);
  });
});

describe('extractChoiceAnswer', () => {
  it('reads the option after the last answer phrase', () => {
    assert.equal(extractChoiceAnswer('So the answer is (b).'), 'B');
    assert.equal(extractChoiceAnswer('The answer is B.'), 'B');
    assert.equal(extractChoiceAnswer('Answer: C'), 'C');
    assert.equal(extractChoiceAnswer('The answer is (A) or maybe (B)'), 'A');
    assert.equal(extractChoiceAnswer('I think (C) is wrong. The answer is D'), 'D');
    assert.equal(extractChoiceAnswer('The answer is D\nQ: Which is (A)?'), 'D');
  });
  it('does not take an article or a word for an option', () => {
    assert.equal(extractChoiceAnswer('The answer is a bicycle.'), null);
    assert.equal(extractChoiceAnswer('The answer is A\u2019s car.'), null);
    assert.equal(extractChoiceAnswer('A bicycle.'), null);
    assert.equal(extractChoiceAnswer('The answer is x = (f)'), null);
  });
  it('reads a text that is an option', () => {
    assert.equal(extractChoiceAnswer('(d) 12 apples'), 'D');
    assert.equal(extractChoiceAnswer('b) 12 apples'), 'B');
    assert.equal(extractChoiceAnswer(' E. '), 'E');
  });
  it('IWSI compat: only a letter in parentheses, after the last "the answer is" and its last "="', () => {
    assert.equal(extractChoiceAnswer('So the answer is (b).', { iwsiCompat: true }), 'B');
    assert.equal(extractChoiceAnswer('The answer is B.', { iwsiCompat: true }), null);
    assert.equal(extractChoiceAnswer('Answer: C', { iwsiCompat: true }), null);
    assert.equal(extractChoiceAnswer('The answer is x = (f)', { iwsiCompat: true }), 'F');
    // No phrase: the whole text is searched, so an option named in passing counts.
    assert.equal(extractChoiceAnswer('Not (c), I would say B', { iwsiCompat: true }), 'C');
  });
});

describe('readAnswer and readGoldAnswer', () => {
  const numeric: AnswerReading = { format: 'numeric' };
  const numericCompat: AnswerReading = { format: 'numeric', compat: true };
  const math: AnswerReading = { format: 'math' };
  const mathCompat: AnswerReading = { format: 'math', compat: true };

  it('numeric: Sift keeps sign and decimals, compat truncates like int(float(x))', () => {
    assert.deepEqual(readAnswer('The answer is -2.5.', numeric), { text: '-2.5', key: '-2.5' });
    assert.deepEqual(readAnswer('The answer is -2.5.', numericCompat), { text: '2', key: '2' });
    assert.deepEqual(readGoldAnswer('work\n#### 2.5', numericCompat), { text: '2', key: '2' });
    assert.deepEqual(readGoldAnswer('Work.\nA: 1,250', numeric), { text: '1250', key: '1250' });
  });
  it('math: compares normalised keys, shows the boxed text', () => {
    const a = readAnswer('so $\\boxed{\\dfrac{1}{2}}$', math);
    assert.deepEqual(a, { text: '\\dfrac{1}{2}', key: '\\frac{1}{2}' });
    assert.equal(matchesGold(a, readGoldAnswer('0.5', math), math), true);
    assert.equal(matchesGold(a, readGoldAnswer('The value is \\boxed{1/2}.', math), math), true);
    assert.equal(matchesGold(a, readGoldAnswer('\\boxed{\\frac{1}{3}}', math), math), false);
  });
  it('math: a bare gold answer counts for Sift, not in TDG compat', () => {
    assert.deepEqual(readGoldAnswer(' \\frac12 ', math), { text: '\\frac12', key: '\\frac{1}{2}' });
    assert.equal(readGoldAnswer('\\frac12', mathCompat), null);
  });
  it('missing answers never match, except two in TDG compat', () => {
    assert.equal(matchesGold(null, null, math), false);
    assert.equal(matchesGold(null, null, mathCompat), true);
    assert.equal(matchesGold(null, readGoldAnswer('\\boxed{1}', mathCompat), mathCompat), false);
    assert.equal(matchesGold(null, null, numericCompat), false);
  });
  it('choice gold: compat takes the text as is, uppercased', () => {
    assert.deepEqual(readGoldAnswer('c', { format: 'choice', compat: true }), { text: 'C', key: 'C' });
    assert.deepEqual(readGoldAnswer('c', { format: 'choice' }), { text: 'C', key: 'C' });
    assert.deepEqual(readGoldAnswer('The answer is (E).', { format: 'choice' }), { text: 'E', key: 'E' });
  });
  it('field: the file\'s own answer, exact', () => {
    assert.deepEqual(readAnswer('anything', { format: 'field' }, 'Paris'), { text: 'Paris', key: 'Paris' });
    assert.equal(readAnswer('anything', { format: 'field' }, null), null);
  });
});
