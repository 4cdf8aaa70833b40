import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  DETECT_SAMPLE,
  detectFormat,
  parseRecord,
  type FormatSpec,
  type ParsedRecord,
} from '../../src/core/dataset';

// Compiled to out/test/unit; the fixtures stay in the source tree.
const FIXTURES = join(__dirname, '..', '..', '..', 'test', 'fixtures');
const fixtureLines = (name: string) => readFileSync(join(FIXTURES, name), 'utf8').split('\n').filter((l) => l !== '');

function parse(value: unknown, format: FormatSpec, line = 1): ParsedRecord {
  return parseRecord({ line, text: JSON.stringify(value), offset: 0 }, format);
}

const codes = (r: ParsedRecord) => r.problems.map((p) => p.code);

describe('alpaca', () => {
  it('maps every real record of the Cherry sample', () => {
    for (const [i, text] of fixtureLines('alpaca-cherry-sample.jsonl').entries()) {
      const r = parseRecord({ line: i + 1, text, offset: 0 }, { name: 'alpaca' });
      const v = JSON.parse(text) as { instruction: string; input: string; output: string };
      assert.deepEqual(r.problems, []);
      assert.deepEqual(r.pair, { instruction: v.instruction, input: v.input, response: v.output, history: [] });
    }
  });

  it('reads an absent input as empty and keeps extra fields in the value', () => {
    const r = parse({ id: 3, instruction: 'Name a colour.', output: 'Blue.', category: 'open_qa' }, { name: 'alpaca' });
    assert.deepEqual(r.pair, { instruction: 'Name a colour.', input: '', response: 'Blue.', history: [] });
    assert.equal((r.value as { category: string }).category, 'open_qa');
  });

  it('warns about an empty response and an empty instruction, pointing at them', () => {
    const text = '{"instruction":"  ","input":"x","output":"\\n "}';
    const r = parseRecord({ line: 4, text, offset: 0 }, { name: 'alpaca' });
    assert.ok(r.pair);
    assert.deepEqual(
      r.problems.map((p) => [p.code, p.severity, p.message, text.slice(p.startColumn, p.endColumn)]),
      [
        ['empty-response', 'warning', 'line 4: the response is empty: it cannot be scored', '"\\n "'],
        ['empty-instruction', 'warning', 'line 4: the instruction is empty', '"  "'],
      ],
    );
  });
});

describe('qa and prompt-completion', () => {
  it('maps GSM8K question/answer records', () => {
    for (const text of fixtureLines('gsm8k-test-sample.jsonl')) {
      const r = parseRecord({ line: 1, text, offset: 0 }, { name: 'qa' });
      const v = JSON.parse(text) as { question: string; answer: string };
      assert.deepEqual(r.problems, []);
      assert.deepEqual(r.pair, { instruction: v.question, input: '', response: v.answer, history: [] });
      assert.match(r.pair.response, /#### -?[\d,.]+$/);
    }
  });

  it('maps CANDIDATES lines: the question and the sampled solution, not the extracted answer', () => {
    const line = { question_id: 'q1', question: 'What is 2 + 3?', candidate: '2 + 3 = 5. The answer is 5.', answer: '5', sample_index: 0, sampling: { k: 4 } };
    const r = parse(line, { name: 'candidates' });
    assert.deepEqual(r.problems, []);
    assert.deepEqual(r.pair, { instruction: line.question, input: '', response: line.candidate, history: [] });
    assert.deepEqual(parse({ ...line, answer: null }, { name: 'candidates' }).problems, []);
    assert.deepEqual(codes(parse({ ...line, sample_index: -1 }, { name: 'candidates' })), ['schema']);
    assert.equal(detectFormat([line, { ...line, answer: null }]), 'candidates');
  });

  it('maps prompt/completion records', () => {
    const r = parse({ prompt: 'Translate: chat', completion: ' cat' }, { name: 'prompt-completion' });
    assert.deepEqual(r.pair, { instruction: 'Translate: chat', input: '', response: ' cat', history: [] });
  });
});

describe('sharegpt', () => {
  const conversation = {
    id: 'c1',
    conversations: [
      { from: 'system', value: 'Be brief.' },
      { from: 'human', value: 'What is 2+2?' },
      { from: 'gpt', value: '4.' },
      { from: 'human', value: 'And 3+3?' },
      { from: 'gpt', value: '6.' },
    ],
  };

  it('scores the last assistant turn; the user turn before it is the instruction; the rest is history', () => {
    const r = parse(conversation, { name: 'sharegpt' });
    assert.deepEqual(r.problems, []);
    assert.deepEqual(r.pair, {
      instruction: 'And 3+3?',
      input: '',
      response: '6.',
      history: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'What is 2+2?' },
        { role: 'assistant', content: '4.' },
      ],
    });
  });

  it('accepts every common speaker name', () => {
    const r = parse(
      { conversations: [{ from: 'user', value: 'q' }, { from: 'chatgpt', value: 'a' }, { from: 'human', value: 'q2' }, { from: 'model', value: 'a2' }] },
      { name: 'sharegpt' },
    );
    assert.equal(r.pair?.response, 'a2');
    assert.equal(r.pair?.history.length, 2);
  });

  it('ignores a trailing user turn that got no answer', () => {
    const r = parse({ conversations: [...conversation.conversations, { from: 'human', value: 'Thanks!' }] }, { name: 'sharegpt' });
    assert.equal(r.pair?.instruction, 'And 3+3?');
    assert.equal(r.pair?.response, '6.');
  });

  it('has an empty instruction when no user turn comes right before the last assistant turn', () => {
    const r = parse(
      { conversations: [{ from: 'human', value: 'q' }, { from: 'gpt', value: 'a' }, { from: 'gpt', value: 'more' }] },
      { name: 'sharegpt' },
    );
    assert.deepEqual(r.pair, {
      instruction: '',
      input: '',
      response: 'more',
      history: [
        { role: 'user', content: 'q' },
        { role: 'assistant', content: 'a' },
      ],
    });
    assert.deepEqual(codes(r), ['empty-instruction']);
  });

  it('reports a conversation with no assistant turn and gives no pair', () => {
    const text = '{"conversations":[{"from":"human","value":"hello?"}]}';
    const r = parseRecord({ line: 2, text, offset: 0 }, { name: 'sharegpt' });
    assert.equal(r.pair, undefined);
    assert.deepEqual(
      r.problems.map((p) => [p.code, p.severity, p.pointer, text.slice(p.startColumn, p.endColumn)]),
      [['no-assistant-turn', 'warning', '/conversations', '[{"from":"human","value":"hello?"}]']],
    );
  });
});

describe('messages', () => {
  it('applies the same last-assistant rule', () => {
    const r = parse(
      {
        messages: [
          { role: 'developer', content: 'You are terse.' },
          { role: 'user', content: 'Hi' },
          { role: 'assistant', content: 'Hello.' },
          { role: 'user', content: 'Capital of France?' },
          { role: 'assistant', content: 'Paris.' },
        ],
      },
      { name: 'messages' },
    );
    assert.deepEqual(r.problems, []);
    assert.deepEqual(r.pair, {
      instruction: 'Capital of France?',
      input: '',
      response: 'Paris.',
      history: [
        { role: 'system', content: 'You are terse.' },
        { role: 'user', content: 'Hi' },
        { role: 'assistant', content: 'Hello.' },
      ],
    });
  });

  it('joins text parts and notes non-text parts', () => {
    const r = parse(
      {
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: 'Describe this image.' },
              { type: 'image_url', image_url: { url: 'https://example.com/a.png' } },
              { type: 'text', text: 'Be brief.' },
            ],
          },
          { role: 'assistant', content: [{ type: 'text', text: 'A cat.' }] },
        ],
      },
      { name: 'messages' },
    );
    assert.equal(r.pair?.instruction, 'Describe this image.\nBe brief.');
    assert.equal(r.pair?.response, 'A cat.');
    assert.deepEqual(
      r.problems.map((p) => [p.code, p.severity]),
      [['non-text-content-ignored', 'info']],
    );
  });

  it('leaves tool calls and tool results out of the context, and says so', () => {
    const r = parse(
      {
        messages: [
          { role: 'user', content: 'Weather in Oslo?' },
          { role: 'assistant', content: null, tool_calls: [{ id: 'c', type: 'function', function: { name: 'weather', arguments: '{}' } }] },
          { role: 'tool', tool_call_id: 'c', content: '{"temp": 3}' },
          { role: 'assistant', content: 'It is 3 °C.' },
        ],
      },
      { name: 'messages' },
    );
    // The tool turns sit between the question and the answer; once left out, the question is the
    // user turn right before the answer.
    assert.deepEqual(r.pair, { instruction: 'Weather in Oslo?', input: '', response: 'It is 3 °C.', history: [] });
    assert.deepEqual(
      r.problems.map((p) => [p.code, p.severity, p.reason]),
      [['tool-turns-ignored', 'info', '2 tool turns are left out of the scored context']],
    );
  });
});

describe('messages: an assistant message without content', () => {
  it('is one error naming the message, not a tool turn and a missing assistant turn', () => {
    const r = parse({ messages: [{ role: 'user', content: 'Write a story.' }, { role: 'assistant' }] }, { name: 'messages' });
    assert.deepEqual(
      r.problems.map((p) => [p.code, p.severity, p.reason, p.pointer]),
      [['assistant-without-content', 'error', 'message 2 (assistant) has no "content" (and no "tool_calls"): there is no response text', '/messages/1']],
    );
  });
});

describe('custom field mapping', () => {
  it('maps self-instruct seed tasks through array paths', () => {
    const format: FormatSpec = { name: 'custom', mapping: { instruction: 'instruction', input: 'instances.0.input', response: 'instances.0.output' } };
    for (const text of fixtureLines('self-instruct-seed-sample.jsonl')) {
      const r = parseRecord({ line: 1, text, offset: 0 }, format);
      const v = JSON.parse(text) as { instruction: string; instances: Array<{ input: string; output: string }> };
      assert.deepEqual(r.problems, []);
      assert.deepEqual(r.pair, { instruction: v.instruction, input: v.instances[0].input, response: v.instances[0].output, history: [] });
    }
  });

  it('maps GSM8K model solutions: question and gold solution', () => {
    const format: FormatSpec = { name: 'custom', mapping: { instruction: 'question', response: 'ground_truth' } };
    for (const text of fixtureLines('gsm8k-solutions-sample.jsonl')) {
      const r = parseRecord({ line: 1, text, offset: 0 }, format);
      assert.deepEqual(r.problems, []);
      assert.equal(r.pair?.instruction, (JSON.parse(text) as { question: string }).question);
      assert.equal(r.pair?.input, '');
    }
  });

  it('follows dotted paths into nested objects and reports what is missing or mistyped', () => {
    const format: FormatSpec = { name: 'custom', mapping: { instruction: 'data.q', input: 'data.ctx', response: 'data.a' } };
    assert.deepEqual(parse({ data: { q: 'Why?', a: 'Because.' } }, format).pair, { instruction: 'Why?', input: '', response: 'Because.', history: [] });

    const text = '{"data":{"q":"Why?","a":42}}';
    const bad = parseRecord({ line: 9, text, offset: 0 }, format);
    assert.equal(bad.pair, undefined);
    assert.deepEqual(
      bad.problems.map((p) => [p.message, p.pointer, text.slice(p.startColumn, p.endColumn)]),
      [['line 9: /data/a: expected a string, got number', '/data/a', '42']],
    );

    const missing = parse({ data: { q: 'Why?' } }, format, 3);
    assert.deepEqual(
      missing.problems.map((p) => [p.message, p.pointer]),
      [['line 3: /data: missing required field "a" (mapped from "data.a")', '/data/a']],
    );

    const scalar = parse({ data: 'flat' }, format, 3);
    assert.deepEqual(
      scalar.problems.map((p) => p.reason),
      [
        '/data: expected an object or array to look up "q" in (mapped from "data.q"), got string',
        '/data: expected an object or array to look up "ctx" in (mapped from "data.ctx"), got string',
        '/data: expected an object or array to look up "a" in (mapped from "data.a"), got string',
      ],
    );
  });
});

describe('detectFormat', () => {
  it('recognises each format by its keys', () => {
    assert.equal(detectFormat(fixtureLines('alpaca-cherry-sample.jsonl').map((l) => JSON.parse(l))), 'alpaca');
    assert.equal(detectFormat(fixtureLines('gsm8k-test-sample.jsonl').map((l) => JSON.parse(l))), 'qa');
    assert.equal(detectFormat([{ conversations: [] }]), 'sharegpt');
    assert.equal(detectFormat([{ messages: [] }]), 'messages');
    assert.equal(detectFormat([{ prompt: 'p', completion: 'c' }]), 'prompt-completion');
  });

  it('takes the majority, ignoring records that match nothing and non-objects', () => {
    const values = [{ prompt: 'p', completion: 'c' }, { instruction: 'i', output: 'o' }, { prompt: 'p', completion: 'c' }, { junk: 1 }, [1], 'x', null];
    assert.equal(detectFormat(values), 'prompt-completion');
  });

  it('breaks ties by the fixed order of formats', () => {
    assert.equal(detectFormat([{ question: 'q', answer: 'a' }, { instruction: 'i', output: 'o' }]), 'alpaca');
  });

  it('looks only at the first DETECT_SAMPLE objects', () => {
    const values = [...Array(DETECT_SAMPLE).fill({ question: 'q', answer: 'a' }), ...Array(DETECT_SAMPLE * 2).fill({ instruction: 'i', output: 'o' })];
    assert.equal(detectFormat(values), 'qa');
  });

  it('returns undefined when nothing matches', () => {
    assert.equal(detectFormat([]), undefined);
    assert.equal(detectFormat(fixtureLines('self-instruct-seed-sample.jsonl').map((l) => JSON.parse(l))), undefined);
  });
});
