import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { toTrainingPair } from '../../src/core/dataset/formats';
import { assistantTurns } from '../../src/core/dataset/turns';
import { conversationBefore } from '../../src/core/metrics/chatSpans';

// Every record layout reaches the chat template as the messages it holds, none of its text lost.
describe('record formats as chat messages', () => {
  const messagesOf = (value: Record<string, unknown>, name: 'alpaca' | 'sharegpt' | 'messages' | 'prompt-completion' | 'qa') =>
    assistantTurns(toTrainingPair(value, { name }).pair!).map((turn) => [...conversationBefore(turn), { role: 'assistant', content: turn.response }]);

  it('Alpaca: instruction and input are one user turn; system and history (LLaMA-Factory) come first', () => {
    assert.deepEqual(messagesOf({ instruction: 'Sum.', input: '1 2', output: '3' }, 'alpaca'), [
      [{ role: 'user', content: 'Sum.\n1 2' }, { role: 'assistant', content: '3' }],
    ]);
    const turns = messagesOf({ system: 'Be brief.', history: [['Hi', 'Hello']], instruction: 'Sum.', output: '3' }, 'alpaca');
    assert.deepEqual(turns.at(-1), [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'Hi' },
      { role: 'assistant', content: 'Hello' },
      { role: 'user', content: 'Sum.' },
      { role: 'assistant', content: '3' },
    ]);
    assert.equal(turns.length, 2, 'the history exchange is a scored turn too');
  });

  it('ShareGPT: human/gpt/system and the variants, a top-level system', () => {
    const value = {
      system: 'Top.',
      conversations: [
        { from: 'human', value: 'a' },
        { from: 'chatgpt', value: 'b' },
        { from: 'user', value: 'c' },
        { from: 'model', value: 'd' },
      ],
    };
    assert.deepEqual(messagesOf(value, 'sharegpt').at(-1), [
      { role: 'system', content: 'Top.' },
      { role: 'user', content: 'a' },
      { role: 'assistant', content: 'b' },
      { role: 'user', content: 'c' },
      { role: 'assistant', content: 'd' },
    ]);
  });

  it('OpenAI messages (developer is a system turn, text parts joined), prompt/completion, question/answer', () => {
    const messages = [
      { role: 'developer', content: 'Rules.' },
      { role: 'user', content: [{ type: 'text', text: 'x' }, { type: 'text', text: 'y' }] },
      { role: 'assistant', content: 'z' },
    ];
    assert.deepEqual(messagesOf({ messages }, 'messages'), [
      [{ role: 'system', content: 'Rules.' }, { role: 'user', content: 'x\ny' }, { role: 'assistant', content: 'z' }],
    ]);
    assert.deepEqual(messagesOf({ prompt: 'p', completion: 'c' }, 'prompt-completion'), [[{ role: 'user', content: 'p' }, { role: 'assistant', content: 'c' }]]);
    assert.deepEqual(messagesOf({ question: 'q', answer: 'a' }, 'qa'), [[{ role: 'user', content: 'q' }, { role: 'assistant', content: 'a' }]]);
  });
});
