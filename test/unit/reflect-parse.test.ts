import assert from 'node:assert/strict';
import { test } from 'node:test';
import Ajv from 'ajv';
import { isComplete, parseDelimited, parseStructured, reflectionSchema, usable } from '../../src/core/reflect/parse';
import { OUTPUT_SECTIONS, formatInstructions } from '../../src/core/reflect/prompts';

const ok = (text: string) => ({ ok: true, text });

test('delimited: every section of an instruction reflection, trimmed', () => {
  const parsed = parseDelimited('instruction', {
    content: 'Sure.\n<<<CRITIQUE>>>\nToo easy.\n\n<<<NEW INSTRUCTION>>>\nWrite a story about a brave cat.\n<<<NEW ANSWER>>>\nOnce there was a cat.\n<<<END>>>\ntrailing chatter',
  });
  assert.deepEqual(parsed.fields, { critique: ok('Too easy.'), instruction: ok('Write a story about a brave cat.'), response: ok('Once there was a cat.') });
  assert.ok(isComplete(parsed));
});

test('delimited: the word End (any case) inside an answer does not end it — the reference parser bug', () => {
  const answer = 'The race came to an End.\nEND\nThe end. In the end, everyone went home.\n[End]';
  const parsed = parseDelimited('response', { content: `<<<CRITIQUE>>>\nMeh.\n<<<BETTER ANSWER>>>\n${answer}\n<<<END>>>` });
  assert.deepEqual(parsed.fields.response, ok(answer));
});

test('delimited: markers tolerate case, spacing, underscores, Markdown emphasis and text on the marker line', () => {
  const parsed = parseDelimited('instruction', {
    content: '**<<< critique >>>**\nWeak.\n## <<<new_instruction>>> Explain tides in detail.\n<<<New-Answer>>>\nTides come from the moon.',
  });
  assert.deepEqual(parsed.fields, { critique: ok('Weak.'), instruction: ok('Explain tides in detail.'), response: ok('Tides come from the moon.') });
});

test('delimited: a missing section is reported, not invented', () => {
  const parsed = parseDelimited('instruction', { content: '<<<CRITIQUE>>>\nWeak.\n<<<NEW INSTRUCTION>>>\nExplain tides.\n<<<END>>>' });
  assert.deepEqual(parsed.fields.instruction, ok('Explain tides.'));
  assert.equal(parsed.fields.response?.ok, false);
  assert.match((parsed.fields.response as { reason: string }).reason, /<<<NEW ANSWER>>> is missing/);
  assert.equal(isComplete(parsed), false);
});

test('delimited: no markers at all', () => {
  const parsed = parseDelimited('response', { content: 'Here is a better answer: 42.' });
  assert.equal(parsed.fields.response?.ok, false);
  assert.deepEqual(parsed.problems, ['the reply has none of the section markers']);
});

test('delimited: a section given twice with different text is unusable; identical copies are fine', () => {
  const twice = parseDelimited('response', { content: '<<<CRITIQUE>>>\nx\n<<<BETTER ANSWER>>>\nA\n<<<BETTER ANSWER>>>\nB\n<<<END>>>' });
  assert.match((twice.fields.response as { reason: string }).reason, /appears 2 times with different text/);
  const same = parseDelimited('response', { content: '<<<CRITIQUE>>>\nx\n<<<BETTER ANSWER>>>\nA\n<<<BETTER ANSWER>>>\nA\n' });
  assert.deepEqual(same.fields.response, ok('A'));
});

test('delimited: the layout echoed back (placeholders) before the real answer is ignored', () => {
  const layout = formatInstructions('instruction', false);
  const real = '<<<CRITIQUE>>>\nVague.\n<<<NEW INSTRUCTION>>>\nDescribe three kinds of clouds.\n<<<NEW ANSWER>>>\nCumulus, stratus, cirrus.\n<<<END>>>';
  const parsed = parseDelimited('instruction', { content: `${layout}\n\n${real}` });
  assert.deepEqual(parsed.fields, { critique: ok('Vague.'), instruction: ok('Describe three kinds of clouds.'), response: ok('Cumulus, stratus, cirrus.') });
});

test('delimited: placeholder text, N/A, none and empty sections are unusable with a reason', () => {
  const placeholder = OUTPUT_SECTIONS.instruction[1].placeholder;
  const parsed = parseDelimited('instruction', { content: `<<<CRITIQUE>>>\nN/A\n<<<NEW INSTRUCTION>>>\n${placeholder}\n<<<NEW ANSWER>>>\n\n<<<END>>>` });
  assert.match((parsed.fields.critique as { reason: string }).reason, /says "N\/A"/);
  assert.match((parsed.fields.instruction as { reason: string }).reason, /placeholder/);
  assert.match((parsed.fields.response as { reason: string }).reason, /empty/);
  for (const text of ['n/a', 'None.', '(none)', '...', '—'.replace('—', '-'), 'NULL']) {
    assert.equal(usable(text, OUTPUT_SECTIONS.response[1]).ok, false, text);
  }
  assert.equal(usable('None of the above apply, because ...', OUTPUT_SECTIONS.response[1]).ok, true);
});

test('delimited: output cut at the token limit without the end marker makes the last section unusable', () => {
  const parsed = parseDelimited('response', { content: '<<<CRITIQUE>>>\nok\n<<<BETTER ANSWER>>>\nOnce upon a', finishReason: 'length' });
  assert.match((parsed.fields.response as { reason: string }).reason, /cut off at the token limit/);
  const finished = parseDelimited('response', { content: '<<<CRITIQUE>>>\nok\n<<<BETTER ANSWER>>>\nOnce upon a time.', finishReason: 'stop' });
  assert.deepEqual(finished.fields.response, ok('Once upon a time.'));
});

test('delimited: CRLF replies', () => {
  const parsed = parseDelimited('response', { content: '<<<CRITIQUE>>>\r\nok\r\n<<<BETTER ANSWER>>>\r\nLine one.\r\nLine two.\r\n<<<END>>>\r\n' });
  assert.deepEqual(parsed.fields.response, ok('Line one.\nLine two.'));
});

test('structured: a valid object; a code fence around it is accepted', () => {
  const value = { critique: 'c', instruction: 'i', response: 'r' };
  assert.deepEqual(parseStructured('instruction', { content: JSON.stringify(value) }).fields, { critique: ok('c'), instruction: ok('i'), response: ok('r') });
  assert.deepEqual(parseStructured('instruction', { content: '```json\n' + JSON.stringify(value) + '\n```' }).fields.instruction, ok('i'));
});

test('structured: invalid JSON, a missing field, a wrong type, an empty field', () => {
  const bad = parseStructured('response', { content: '{"critique": "c", "response": "cut', finishReason: 'length' });
  assert.match((bad.fields.response as { reason: string }).reason, /not valid JSON \(cut off at the token limit\)/);
  const missing = parseStructured('instruction', { content: '{"critique": "c", "response": "r"}' });
  assert.match((missing.fields.instruction as { reason: string }).reason, /"instruction" is missing/);
  assert.ok(missing.problems.some((p) => /instruction/.test(p)));
  const wrongType = parseStructured('response', { content: '{"critique": "c", "response": 42}' });
  assert.match((wrongType.fields.response as { reason: string }).reason, /not a string/);
  const empty = parseStructured('response', { content: '{"critique": "c", "response": "  "}' });
  assert.match((empty.fields.response as { reason: string }).reason, /empty/);
  const array = parseStructured('response', { content: '[1]' });
  assert.equal(array.fields.response?.ok, false);
});

test('structured: an extra field is a schema problem but loses nothing', () => {
  const parsed = parseStructured('response', { content: '{"critique": "c", "response": "r", "score": 3}' });
  assert.deepEqual(parsed.fields.response, ok('r'));
  assert.ok(parsed.problems.some((p) => /additional/.test(p)));
});

test('a refusal is a visible reason for every field', () => {
  const parsed = parseStructured('instruction', { content: '', refusal: 'I cannot help with that.' });
  assert.match((parsed.fields.response as { reason: string }).reason, /refused: I cannot help/);
});

test('the JSON schemas are OpenAI strict-mode schemas that ajv accepts', () => {
  for (const kind of ['instruction', 'response'] as const) {
    const format = reflectionSchema(kind);
    assert.equal(format.strict, true);
    const schema = format.schema as { properties: Record<string, unknown>; required: string[]; additionalProperties: boolean };
    assert.deepEqual(Object.keys(schema.properties).sort(), [...schema.required].sort());
    assert.equal(schema.additionalProperties, false);
    assert.ok(new Ajv().validateSchema(schema));
  }
});
