import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseRecord } from '../../src/core/dataset/parse';
import type { FormatSpec, TrainingPair } from '../../src/core/dataset/types';
import { ApplyPairError, applyPair, recordLine } from '../../src/core/reflect/applyPair';

const next = { instruction: 'New instruction?', input: '', response: 'New answer.' };

/** Writing a pair back and reading the record again gives that pair, history untouched. */
function roundTrip(value: unknown, format: FormatSpec, pair: { instruction: string; input: string; response: string } = next): { value: unknown; pair: TrainingPair } {
  const text = JSON.stringify(value);
  const before = parseRecord({ line: 1, text, offset: 0 }, format).pair!;
  const line = recordLine(text, value, format, pair);
  const after = parseRecord({ line: 1, text: line, offset: 0 }, format);
  assert.deepEqual(after.problems.filter((p) => p.severity === 'error'), []);
  assert.deepEqual(after.pair!.history, before.history);
  return { value: JSON.parse(line), pair: after.pair! };
}

test('alpaca: instruction, input and output replaced in place, other keys and their order kept', () => {
  const value = { id: 7, instruction: 'Old?', input: 'ctx', output: 'Old.', meta: { source: 'x' } };
  const { value: out, pair } = roundTrip(value, { name: 'alpaca' });
  assert.deepEqual(Object.keys(out as object), ['id', 'instruction', 'input', 'output', 'meta']);
  assert.deepEqual(out, { id: 7, instruction: 'New instruction?', input: '', output: 'New answer.', meta: { source: 'x' } });
  assert.deepEqual(pair, { ...next, history: [] });
  // No input key and an empty input: none is added.
  assert.deepEqual(Object.keys(applyPair({ instruction: 'a', output: 'b' }, { name: 'alpaca' }, next) as object), ['instruction', 'output']);
  // The original is not modified.
  assert.equal(value.instruction, 'Old?');
});

test('alpaca: a response-only change keeps the input', () => {
  const { value: out } = roundTrip({ instruction: 'Sum these.', input: '1, 2', output: '4' }, { name: 'alpaca' }, { instruction: 'Sum these.', input: '1, 2', response: '3' });
  assert.deepEqual(out, { instruction: 'Sum these.', input: '1, 2', output: '3' });
});

test('prompt-completion and qa; an input is joined to the instruction as r-IFD scores it', () => {
  assert.deepEqual(roundTrip({ prompt: 'p', completion: 'c', w: 1 }, { name: 'prompt-completion' }).value, { prompt: 'New instruction?', completion: 'New answer.', w: 1 });
  assert.deepEqual(roundTrip({ question: 'q', answer: 'a' }, { name: 'qa' }).value, { question: 'New instruction?', answer: 'New answer.' });
  assert.deepEqual(applyPair({ prompt: 'p', completion: 'c' }, { name: 'prompt-completion' }, { instruction: 'Do', input: 'this', response: 'ok' }), { prompt: 'Do\nthis', completion: 'ok' });
});

test('candidates: the question and the solution replaced; the old extracted answer is cleared', () => {
  const value = { question_id: 'q1', question: 'q', candidate: 'The answer is 5.', answer: '5', sample_index: 2, model: 'm' };
  const { value: out, pair } = roundTrip(value, { name: 'candidates' });
  assert.deepEqual(out, { question_id: 'q1', question: 'New instruction?', candidate: 'New answer.', answer: null, sample_index: 2, model: 'm' });
  assert.deepEqual(pair, { ...next, history: [] });
});

test('sharegpt: the last human/gpt exchange is replaced, earlier turns and tool turns untouched', () => {
  const value = {
    id: 'c1',
    conversations: [
      { from: 'system', value: 'sys' },
      { from: 'human', value: 'first q' },
      { from: 'gpt', value: 'first a' },
      { from: 'human', value: 'second q' },
      { from: 'function_call', value: '{"name":"f"}' },
      { from: 'observation', value: 'result' },
      { from: 'gpt', value: 'second a', weight: 1 },
    ],
  };
  const { value: out } = roundTrip(value, { name: 'sharegpt' });
  const turns = (out as typeof value).conversations;
  assert.equal(turns[3].value, 'New instruction?');
  assert.deepEqual(turns[6], { from: 'gpt', value: 'New answer.', weight: 1 });
  assert.deepEqual(turns.slice(0, 3), value.conversations.slice(0, 3));
  assert.deepEqual(turns.slice(4, 6), value.conversations.slice(4, 6));
});

test('messages: string content, and text parts with non-text parts kept', () => {
  const value = {
    messages: [
      { role: 'system', content: 'You are helpful.' },
      { role: 'user', content: [{ type: 'text', text: 'Look:' }, { type: 'image_url', image_url: { url: 'x' } }, { type: 'text', text: 'what is it?' }] },
      { role: 'assistant', content: 'A cat.' },
    ],
    tag: 'v',
  };
  const { value: out, pair } = roundTrip(value, { name: 'messages' });
  const messages = (out as { messages: { content: unknown }[] }).messages;
  assert.deepEqual(messages[1].content, [{ type: 'text', text: 'New instruction?' }, { type: 'image_url', image_url: { url: 'x' } }]);
  assert.equal(messages[2].content, 'New answer.');
  assert.equal(pair.instruction, 'New instruction?');
  assert.deepEqual(Object.keys(out as object), ['messages', 'tag']);
});

test('messages: an assistant tool call (no content) and tool results are skipped like the reader skips them', () => {
  const value = {
    messages: [
      { role: 'user', content: 'weather?' },
      { role: 'assistant', tool_calls: [{ id: '1' }] },
      { role: 'tool', content: 'sunny' },
      { role: 'assistant', content: 'It is sunny.' },
    ],
  };
  const { value: out, pair } = roundTrip(value, { name: 'messages' }, { instruction: 'What is the weather?', input: '', response: 'Sunny all day.' });
  const messages = (out as { messages: Record<string, unknown>[] }).messages;
  assert.equal(messages[0].content, 'What is the weather?');
  assert.deepEqual(messages[1], value.messages[1]);
  assert.deepEqual(messages[2], value.messages[2]);
  assert.equal(messages[3].content, 'Sunny all day.');
  assert.equal(pair.response, 'Sunny all day.');
});

test('custom mappings: dotted paths and list indices', () => {
  const format: FormatSpec = { name: 'custom', mapping: { instruction: 'q.text', input: 'q.ctx', response: 'answers.0' } };
  const out = applyPair({ q: { text: 'a', ctx: 'b' }, answers: ['c', 'd'] }, format, { instruction: 'A', input: 'B', response: 'C' });
  assert.deepEqual(out, { q: { text: 'A', ctx: 'B' }, answers: ['C', 'd'] });
});

test('records that cannot take a pair say why', () => {
  assert.throws(() => applyPair([], { name: 'alpaca' }, next), ApplyPairError);
  assert.throws(() => applyPair({ messages: [{ role: 'user', content: 'hi' }] }, { name: 'messages' }, next), /no assistant turn/);
  assert.throws(() => applyPair({ conversations: [{ from: 'gpt', value: 'hi' }] }, { name: 'sharegpt' }, next), /no user turn/);
});

test('recordLine rewrites only the values that changed: spacing, key order, escapes and numbers as written stay', () => {
  // A line as Alpaca ships it: ", " and ": " separators, an escaped non-ASCII letter, a number written with an exponent.
  const text = '{"instruction": "Name a colour.", "input": "", "output": "Bleu \\u00e9t\u00e9", "w": 1e0}';
  const value: unknown = JSON.parse(text);
  const line = recordLine(text, value, { name: 'alpaca' }, { instruction: 'Name a warm colour.', input: '', response: 'Bleu \u00e9t\u00e9' });
  // Computed by hand: only the instruction's value is replaced; the output did not change, so its escapes stay.
  assert.equal(line, '{"instruction": "Name a warm colour.", "input": "", "output": "Bleu \\u00e9t\u00e9", "w": 1e0}');
  // A changed response inside a conversation: only that string is replaced.
  const chat = '{"messages": [ {"role": "user", "content": "Hi"},  {"role": "assistant", "content": "Yo"} ], "id":3}';
  assert.equal(
    recordLine(chat, JSON.parse(chat), { name: 'messages' }, { instruction: 'Hi', input: '', response: 'Hello.' }),
    '{"messages": [ {"role": "user", "content": "Hi"},  {"role": "assistant", "content": "Hello."} ], "id":3}',
  );
  // An input added to a record without one is appended in the line's own spacing.
  const bare = '{"instruction": "Sum.", "output": "3"}';
  assert.equal(recordLine(bare, JSON.parse(bare), { name: 'alpaca' }, { instruction: 'Sum.', input: '1, 2', response: '3' }), '{"instruction": "Sum.", "output": "3", "input": "1, 2"}');
});
