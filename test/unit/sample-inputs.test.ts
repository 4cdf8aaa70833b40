/** `sift sample`'s inputs: the built-in and user prompts, the QUESTIONS file, the store key. */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { BUILTIN_PROMPTS, PromptError, chatMessages, loadPrompt, renderTextPrompt, stopStrings } from '../../src/core/reasoning/sample/prompts';
import { readQuestions } from '../../src/core/reasoning/sample/questions';
import { sampleKey, type SampleKeyParts } from '../../src/core/reasoning/sample/sampleStore';
import { tempDir } from '../helpers/paths';

describe('built-in prompts', () => {
  it('iwsi-gsm8k is the prompt IWSI builds (constants.py lines joined by "\\n", then "\\nQ: " + question + "\\nA: ")', () => {
    // rubickkcibur/IWSI src/utils/constants.py gsm8k_cot_prompts and utils.py get_extractors("gsm8k"), verbatim.
    const gsm8kCotPrompts = [
      'Q: There are 15 trees in the grove. Grove workers will plant trees in the grove today. After they are done, there will be 21 trees. How many trees did the grove workers plant today?',
      'A: We start with 15 trees. Later we have 21 trees. The difference must be the number of trees they planted. So, they must have planted 21 - 15 = 6 trees. The answer is 6.',
      'Q: If there are 3 cars in the parking lot and 2 more cars arrive, how many cars are in the parking lot?',
      'A: There are 3 cars in the parking lot already. 2 more arrive. Now there are 3 + 2 = 5 cars. The answer is 5.',
      'Q: Leah had 32 chocolates and her sister had 42. If they ate 35, how many pieces do they have left in total?',
      'A: Leah had 32 chocolates and Leah\u2019s sister had 42. That means there were originally 32 + 42 = 74 chocolates. 35 have been eaten. So in total they still have 74 - 35 = 39 chocolates. The answer is 39.',
    ].join('\n');
    const question = 'Janet has 3 ducks. How many?';
    assert.equal(renderTextPrompt(BUILTIN_PROMPTS['iwsi-gsm8k']!, question), gsm8kCotPrompts + '\n' + 'Q: ' + question + '\n' + 'A: ');
  });

  it('gsm8k-8shot: Wei et al.\'s 8 exemplars, blank lines between, "A:" without a trailing space', () => {
    const text = renderTextPrompt(BUILTIN_PROMPTS['gsm8k-8shot']!, 'How many?');
    assert.equal(text.split('\n\nQ: ').length, 9);
    assert.equal(text.match(/The answer is \d+\./g)?.length, 8);
    assert.ok(text.startsWith('Q: There are 15 trees in the grove.'));
    assert.ok(text.endsWith('23 - 15 is 8. The answer is 8.\n\nQ: How many?\nA:'));
    assert.deepEqual(BUILTIN_PROMPTS['gsm8k-8shot']!.stop, ['\nQ:']);
  });

  it('a question is inserted as it is: "$&", "$1" and braces are not patterns', () => {
    const question = 'It costs $& or $1 {answer} {x}';
    assert.equal(renderTextPrompt(BUILTIN_PROMPTS['qa-0shot']!, question), `Q: ${question}\nA:`);
  });

  it('chat mode: exemplars become user and assistant turns, the question the last user turn', () => {
    const messages = chatMessages(BUILTIN_PROMPTS['iwsi-gsm8k']!, 'Q?');
    assert.equal(messages.length, 7);
    assert.deepEqual(messages.map((m) => m.role), ['user', 'assistant', 'user', 'assistant', 'user', 'assistant', 'user']);
    assert.equal(messages[1]!.content.endsWith('The answer is 6.'), true);
    assert.deepEqual(messages[6], { role: 'user', content: 'Q?' });
    assert.deepEqual(stopStrings(BUILTIN_PROMPTS['iwsi-gsm8k']!, true), []);
    assert.deepEqual(stopStrings(BUILTIN_PROMPTS['iwsi-gsm8k']!, false, ['###']), ['###']);
  });
});

describe('user prompts', () => {
  const dir = tempDir();
  it('a text file with {question} is a zero-shot template stopping at "\\nQ:"', async () => {
    const path = join(dir, 'mine.txt');
    writeFileSync(path, 'Problem: {question}\nSolution:');
    const spec = await loadPrompt(path);
    assert.equal(renderTextPrompt(spec, '2+2?'), 'Problem: 2+2?\nSolution:');
    assert.deepEqual(spec.stop, ['\nQ:']);
  });

  it('what is wrong is named: the file, the field', async () => {
    const noPlaceholder = join(dir, 'plain.txt');
    writeFileSync(noPlaceholder, 'Solve it.');
    await assert.rejects(loadPrompt(noPlaceholder), (e: Error) => e instanceof PromptError && e.message.includes('needs {question}'));
    const badJson = join(dir, 'bad.json');
    writeFileSync(badJson, JSON.stringify({ exemplars: [{ question: 'q' }], text: { query: 'Q: {question}\nA:' } }));
    await assert.rejects(loadPrompt(badJson), /bad\.json: "exemplars\[0\]\.answer" must be a string/);
    const noQuery = join(dir, 'noquery.json');
    writeFileSync(noQuery, JSON.stringify({ exemplars: [], text: { query: 'Q:' } }));
    await assert.rejects(loadPrompt(noQuery), /"text\.query" must contain \{question\}/);
    await assert.rejects(loadPrompt('no-such-prompt'), /neither a built-in prompt \(gsm8k-8shot, iwsi-gsm8k, qa-0shot\) nor a file/);
  });
});

describe('QUESTIONS file', () => {
  it('reads GSM8K lines, skips blank ones, names each bad line and reads the rest', async () => {
    const path = join(tempDir(), 'q.jsonl');
    writeFileSync(
      path,
      [
        JSON.stringify({ question: 'Q one?', answer: 'work\n#### 7' }),
        '',
        '{"question": "broken',
        JSON.stringify({ text: 'no question field' }),
        JSON.stringify({ question: 'Q two?', answer: 12 }),
        JSON.stringify({ question: '   ' }),
        JSON.stringify(['an', 'array']),
        JSON.stringify({ question: 'Q three?', answer: { nested: true } }),
      ].join('\n') + '\n',
    );
    const { questions, problems } = await readQuestions(path);
    assert.deepEqual(questions, [
      { line: 1, id: 'line-1', question: 'Q one?', gold: 'work\n#### 7' },
      { line: 5, id: 'line-5', question: 'Q two?', gold: '12' },
    ]);
    assert.deepEqual(problems.map((p) => p.line), [3, 4, 6, 7, 8]);
    assert.match(problems[0]!.message, /not valid JSON/);
    assert.match(problems[1]!.message, /no "question" field \(set --question-field/);
    assert.match(problems[2]!.message, /must be a non-empty string/);
    assert.match(problems[4]!.message, /"answer" must be a string or a number/);
  });

  it('other layouts: dotted field paths and ids; a repeated id is refused', async () => {
    const path = join(tempDir(), 'q.jsonl');
    writeFileSync(path, [{ p: { text: 'A?' }, ref: 'x', uid: 'a' }, { p: { text: 'B?' }, uid: 'b' }, { p: { text: 'C?' }, uid: 'a' }].map((o) => JSON.stringify(o)).join('\n'));
    const { questions, problems } = await readQuestions(path, { question: 'p.text', gold: 'ref', id: 'uid' });
    assert.deepEqual(questions, [
      { line: 1, id: 'a', question: 'A?', gold: 'x' },
      { line: 2, id: 'b', question: 'B?' },
    ]);
    assert.deepEqual(problems, [{ line: 3, message: 'question id "a" is already the id of line 1: votes would mix the two questions' }]);
  });
});

describe('sample store key', () => {
  const base: SampleKeyParts = { model: 'm', prompt: 'Q: x\nA:', promptKind: 'text', temperature: 1.1, topP: 1, maxTokens: 256, stop: ['\nQ:'], seed: 0, sampleIndex: 3 };
  it('changes with every part a sample depends on, and only with those', () => {
    const key = sampleKey(base);
    assert.equal(sampleKey({ ...base }), key);
    const variants: Partial<SampleKeyParts>[] = [{ model: 'n' }, { prompt: 'Q: y\nA:' }, { promptKind: 'chat' }, { temperature: 1 }, { topP: 0.9 }, { maxTokens: 255 }, { stop: [] }, { seed: 1 }, { sampleIndex: 4 }];
    const keys = variants.map((v) => sampleKey({ ...base, ...v }));
    assert.equal(new Set([key, ...keys]).size, variants.length + 1);
    // Length-prefixed parts: moving text between neighbouring parts gives another key.
    assert.notEqual(sampleKey({ ...base, model: 'ab', prompt: 'c' }), sampleKey({ ...base, model: 'a', prompt: 'bc' }));
  });
});
