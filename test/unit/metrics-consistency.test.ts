import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { extractNumericAnswer, majorityVote, selfConsistency } from '../../src/core/metrics';

const MODELS = ['6b_finetuning', '6b_verification', '175b_finetuning', '175b_verification'] as const;

interface Solution {
  is_correct: boolean;
  solution: string;
}
type SampleLine = { question: string; ground_truth: string } & Record<(typeof MODELS)[number], Solution>;
// Compiled to out/test/unit; the fixture stays in the source tree.
const SAMPLE: SampleLine[] = readFileSync(join(__dirname, '..', '..', '..', 'test', 'fixtures', 'gsm8k-solutions-sample.jsonl'), 'utf8')
  .split('\n')
  .filter((line) => line.trim() !== '')
  .map((line) => JSON.parse(line) as SampleLine);

describe('extractNumericAnswer', () => {
  it('reads the GSM8K gold marker', () => {
    // First record of openai/grade-school-math test.jsonl (MIT).
    const gold =
      'Janet sells 16 - 3 - 4 = <<16-3-4=9>>9 duck eggs a day.\nShe makes 9 * 2 = $<<9*2=18>>18 every day at the farmer\u2019s market.\n#### 18';
    assert.equal(extractNumericAnswer(gold), '18');
    assert.equal(extractNumericAnswer('Work.\n#### 1,250'), '1250');
    assert.equal(extractNumericAnswer('Work.\n#### -3'), '-3');
  });

  it('does not take a Markdown heading for the marker', () => {
    assert.equal(extractNumericAnswer('#### Step 2\nAdd 3 and 4.\nThe answer is 7.'), '7');
    assert.equal(extractNumericAnswer('#### Step 2\nAdd 3 and 4.'), null);
  });

  it('applies the IWSI rule after the last "the answer is"', () => {
    assert.equal(extractNumericAnswer('Natalia sold 48 + 24 = 72 clips. The answer is 72.'), '72');
    assert.equal(extractNumericAnswer('The answer is 5. No wait, THE ANSWER IS 6.'), '6');
    assert.equal(extractNumericAnswer('So the answer is 3 + 4 = 7 apples.'), '7');
    assert.equal(extractNumericAnswer('The answer is $1,200.'), '1200');
    assert.equal(extractNumericAnswer('The answer is\n42'), '42');
    assert.equal(extractNumericAnswer('The answer is (B).'), null);
  });

  it('keeps the sign and decimals', () => {
    assert.equal(extractNumericAnswer('The answer is -5.'), '-5');
    assert.equal(extractNumericAnswer('The answer is -$5.'), '-5');
    assert.equal(extractNumericAnswer('The answer is \u22125.'), '-5');
    assert.equal(extractNumericAnswer('The answer is 2.50.'), '2.5');
    assert.equal(extractNumericAnswer('The answer is 3-4 hours.'), '3');
  });

  it('ignores what follows on later lines (a model continuing with the next question)', () => {
    const text = 'The answer is 18.\nQ: If 2 + 2 = 4, what is 4 + 4?';
    assert.equal(extractNumericAnswer(text), '18');
    assert.equal(extractNumericAnswer(text, { iwsiCompat: true }), '4');
  });

  it('reads a final "A: N" line and a bare number', () => {
    assert.equal(extractNumericAnswer('Some work 1 + 2 = 3\nA: 26\n'), '26');
    assert.equal(extractNumericAnswer('1000-1200=<<1000-1200=-200>>-200 feet.\nA: -200'), '-200');
    assert.equal(extractNumericAnswer('  42.\n'), '42');
    assert.equal(extractNumericAnswer('007'), '7');
    assert.equal(extractNumericAnswer('-0'), '0');
    assert.equal(extractNumericAnswer('A: twenty'), null);
  });

  it('returns null when no answer marker is present (unparsable, left out of the vote)', () => {
    assert.equal(extractNumericAnswer('She makes 9 * 2 = 18 dollars'), null);
    assert.equal(extractNumericAnswer(''), null);
  });

  it('reproduces IWSI derive_num_from_output + int(float()) with iwsiCompat', () => {
    const iwsi = (text: string): string | null => extractNumericAnswer(text, { iwsiCompat: true });
    assert.equal(iwsi('The answer is -5.'), '5'); // unsigned regex
    assert.equal(iwsi('The answer is 2.5'), '2'); // truncation
    assert.equal(iwsi('The answer is 5,6'), '56'); // every comma removed
    assert.equal(iwsi('She makes 9 * 2 = 18 dollars'), '18'); // no phrase: the whole text
    assert.equal(iwsi('The answer is'), null);
    assert.equal(iwsi(`The answer is ${'1'.repeat(31)}`), null); // longer than 30 characters
    assert.equal(iwsi(`The answer is ${'1'.repeat(30)}`), BigInt(Number('1'.repeat(30))).toString());
  });

  it('agrees with is_correct on every solution of the GSM8K sample', () => {
    let checked = 0;
    for (const line of SAMPLE) {
      const gold = extractNumericAnswer(line.ground_truth);
      assert.notEqual(gold, null, line.ground_truth);
      for (const model of MODELS) {
        const answer = extractNumericAnswer(line[model].solution);
        assert.equal(answer !== null && answer === gold, line[model].is_correct, `${model}: ${answer ?? 'null'} vs ${gold ?? 'null'}`);
        checked++;
      }
    }
    assert.equal(checked, 36);
  });

  it('shows why iwsiCompat is for reproduction only: it drops signs and trusts the last "="', () => {
    const negative = SAMPLE[4]['175b_finetuning']; // "... = -200 feet.\nA: -200", gold 200
    assert.equal(negative.is_correct, false);
    assert.equal(extractNumericAnswer(negative.solution), '-200');
    assert.equal(extractNumericAnswer(negative.solution, { iwsiCompat: true }), '200');
    const lastEquals = SAMPLE[8]['175b_verification']; // "... = 5600 pounds\nA: 5", gold 5600
    assert.equal(lastEquals.is_correct, false);
    assert.equal(extractNumericAnswer(lastEquals.solution), '5');
    assert.equal(extractNumericAnswer(lastEquals.solution, { iwsiCompat: true }), '5600');
  });

  it('finds no answer in truncated solutions of the sample', () => {
    const truncated = SAMPLE[6]; // two of its four solutions were cut off before their answer line
    const answers = MODELS.map((m) => extractNumericAnswer(truncated[m].solution));
    assert.deepEqual(answers, [null, '792', null, '5']);
  });
});

describe('majorityVote', () => {
  it('gives a tie to the answer seen first', () => {
    assert.deepEqual(majorityVote(['b', 'a', 'a', 'b']), { answer: 'b', count: 2, parsed: 4, agree: [true, false, false, true] });
    assert.equal(majorityVote(['90000', '115000', '-129025', '65000']).answer, '90000');
  });

  it('lets null answers not vote and never agree', () => {
    assert.deepEqual(majorityVote([null, 'x', null, 'y', 'y']), {
      answer: 'y',
      count: 2,
      parsed: 3,
      agree: [false, false, false, true, true],
    });
    assert.deepEqual(majorityVote([null, 'x', null]), { answer: 'x', count: 1, parsed: 1, agree: [false, true, false] });
  });

  it('has no majority when nothing is parsable', () => {
    assert.deepEqual(majorityVote([null, null]), { answer: null, count: 0, parsed: 0, agree: [false, false] });
    assert.deepEqual(majorityVote([]), { answer: null, count: 0, parsed: 0, agree: [] });
  });
});

describe('selfConsistency', () => {
  const candidates = SAMPLE.flatMap((line) => MODELS.map((m) => ({ question: line.question, response: line[m].solution })));

  it('votes per question and reports each candidate in input order', () => {
    const results = selfConsistency(candidates);
    assert.equal(results.length, 36);
    const byQuestion = (i: number) => results.slice(4 * i, 4 * i + 4);
    // Line 42 of the source: answers 800, 200, -200, 800.
    assert.deepEqual(
      byQuestion(4).map((r) => [r.answer, r.majority, r.agrees]),
      [
        ['800', '800', true],
        ['200', '800', false],
        ['-200', '800', false],
        ['800', '800', true],
      ],
    );
    assert.deepEqual(byQuestion(4).map((r) => [r.votes, r.parsed, r.candidates])[0], [2, 4, 4]);
    // Line 151: two unparsable solutions, 792 and 5 tie, first seen wins.
    assert.deepEqual(
      byQuestion(6).map((r) => [r.answer, r.agrees]),
      [
        [null, false],
        ['792', true],
        [null, false],
        ['5', false],
      ],
    );
    assert.equal(byQuestion(6)[0].parsed, 2);
  });

  it('groups candidates of one question wherever they appear', () => {
    const q1 = { question: 'q1', response: 'The answer is 3.' };
    const q2 = { question: 'q2', response: 'The answer is 4.' };
    const results = selfConsistency([q1, q2, { question: 'q1', response: 'The answer is 5.' }, q2, { ...q1 }]);
    assert.deepEqual(
      results.map((r) => [r.majority, r.agrees, r.candidates]),
      [
        ['3', true, 3],
        ['4', true, 2],
        ['3', false, 3],
        ['4', true, 2],
        ['3', true, 3],
      ],
    );
  });

  it('passes iwsiCompat to the extraction', () => {
    const results = selfConsistency(
      [
        { question: 'q', response: 'The answer is 2.5' },
        { question: 'q', response: 'The answer is 2' },
      ],
      { iwsiCompat: true },
    );
    assert.deepEqual(
      results.map((r) => r.agrees),
      [true, true],
    );
  });
});
