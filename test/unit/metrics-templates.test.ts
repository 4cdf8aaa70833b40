import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TrainingPair, Turn } from '../../src/core/dataset/types';
import {
  TEMPLATE_NAMES,
  TEXT_TEMPLATE_NAMES,
  directResponsePrefix,
  instructionText,
  isTemplateName,
  renderPrompt,
  renderReversePrompt,
} from '../../src/core/metrics';

const pair = (instruction: string, input = '', history: Turn[] = []): TrainingPair => ({ instruction, input, response: 'R', history });

// Expected strings are copied from METHODS.md §2.3 / §3.1 ({instruction} -> I, {input} -> N).
const ALPACA_INPUT =
  'Below is an instruction that describes a task, paired with an input that provides further context. Write a response that appropriately completes the request.\n\n### Instruction:\nI\n\n### Input:\nN\n\n### Response:';
const ALPACA_NO_INPUT =
  'Below is an instruction that describes a task. Write a response that appropriately completes the request.\n\n### Instruction:\nI\n\n### Response:';
const VICUNA_SYSTEM =
  "A chat between a curious user and an artificial intelligence assistant. The assistant gives helpful, detailed, and polite answers to the user's questions.";
const VICUNA_INPUT = `${VICUNA_SYSTEM} USER: I\nInput:\nN ASSISTANT:`;
const VICUNA_NO_INPUT = `${VICUNA_SYSTEM} USER: I ASSISTANT:`;

describe('renderPrompt', () => {
  it('renders Alpaca byte-exact with and without input', () => {
    assert.equal(renderPrompt('alpaca', pair('I', 'N')), ALPACA_INPUT);
    assert.equal(renderPrompt('alpaca', pair('I')), ALPACA_NO_INPUT);
  });

  it('renders Vicuna byte-exact with and without input', () => {
    assert.equal(renderPrompt('vicuna', pair('I', 'N')), VICUNA_INPUT);
    assert.equal(renderPrompt('vicuna', pair('I')), VICUNA_NO_INPUT);
  });

  it('renders WizardLM byte-exact with and without input', () => {
    assert.equal(renderPrompt('wizardlm', pair('I', 'N')), 'I\nN\n\n### Response:');
    assert.equal(renderPrompt('wizardlm', pair('I')), 'I\n\n### Response:');
  });

  it('renders the Superfiltering plain template byte-exact with and without input', () => {
    assert.equal(renderPrompt('plain', pair('I', 'N')), 'I\nN\n');
    assert.equal(renderPrompt('plain', pair('I')), 'I\n');
  });

  it('ends where the response starts, with no separator (whole text = prompt + response)', () => {
    assert.ok(renderPrompt('alpaca', pair('I')).endsWith('### Response:'));
    assert.ok(renderPrompt('vicuna', pair('I')).endsWith('ASSISTANT:'));
    assert.ok(renderPrompt('wizardlm', pair('I')).endsWith('### Response:'));
  });

  it('treats only "" as no input, as the reference code does', () => {
    assert.equal(renderPrompt('plain', pair('I', ' ')), 'I\n \n');
    assert.ok(renderPrompt('alpaca', pair('I', ' ')).includes('### Input:\n \n\n'));
  });
});

describe('renderPrompt with history', () => {
  const history: Turn[] = [
    { role: 'system', content: 'S' },
    { role: 'user', content: 'U1' },
    { role: 'assistant', content: 'A1' },
  ];

  it('alpaca: system replaces the preamble; earlier turns as Instruction/Response blocks', () => {
    assert.equal(renderPrompt('alpaca', pair('I', '', history)), 'S\n\n### Instruction:\nU1\n\n### Response:A1\n\n### Instruction:\nI\n\n### Response:');
    assert.equal(
      renderPrompt('alpaca', pair('I', '', history.slice(1))),
      ALPACA_NO_INPUT.replace('### Instruction:\nI', '### Instruction:\nU1\n\n### Response:A1\n\n### Instruction:\nI'),
    );
  });

  it('vicuna: FastChat v1.1 turns, system replacing the system line', () => {
    assert.equal(renderPrompt('vicuna', pair('I', 'N', history)), 'S USER: U1 ASSISTANT: A1</s>USER: I\nInput:\nN ASSISTANT:');
    assert.equal(renderPrompt('vicuna', pair('I', '', history.slice(1))), `${VICUNA_SYSTEM} USER: U1 ASSISTANT: A1</s>USER: I ASSISTANT:`);
  });

  it('wizardlm: each earlier exchange shaped like the final one', () => {
    assert.equal(renderPrompt('wizardlm', pair('I', '', history)), 'S\n\nU1\n\n### Response:A1\n\nI\n\n### Response:');
  });

  it('plain: each earlier turn followed by a newline', () => {
    assert.equal(renderPrompt('plain', pair('I', 'N', history)), 'S\nU1\nA1\nI\nN\n');
  });
});

describe('renderReversePrompt', () => {
  const ask = 'Guess the instruction that the following response was written to answer.';
  const write = 'Write that instruction.';

  it("wraps Sift's reverse instruction around the response in the no-input template", () => {
    assert.equal(renderReversePrompt('vicuna', 'Hello.'), `${VICUNA_SYSTEM} USER: ${ask}\nHello.\n${write} ASSISTANT:`);
    assert.equal(renderReversePrompt('plain', 'Hello.'), `${ask}\nHello.\n${write}\n`);
    assert.equal(renderReversePrompt('alpaca', 'Hello.'), ALPACA_NO_INPUT.replace('\nI\n', `\n${ask}\nHello.\n${write}\n`));
    assert.equal(renderReversePrompt('wizardlm', 'Hello.'), `${ask}\nHello.\n${write}\n\n### Response:`);
  });
});

describe('instructionText', () => {
  it('joins instruction and input with a newline in the clean mode', () => {
    assert.equal(instructionText({ instruction: 'Translate', input: 'bonjour' }), 'Translate\nbonjour');
    assert.equal(instructionText({ instruction: 'Translate', input: '' }), 'Translate');
  });

  it('concatenates without a separator in the faithful mode, as the SRT code does', () => {
    assert.equal(instructionText({ instruction: 'Translate', input: 'bonjour' }, { faithful: true }), 'Translatebonjour');
  });
});

describe('directResponsePrefix', () => {
  it('is the literal marker of the Cherry v1 direct score', () => {
    assert.equal(directResponsePrefix('alpaca'), '### Response:');
    assert.equal(directResponsePrefix('wizardlm'), '### Response:');
    assert.equal(directResponsePrefix('vicuna'), 'ASSISTANT:');
    assert.equal(directResponsePrefix('plain'), '');
  });
});

describe('TEMPLATE_NAMES', () => {
  it('lists every template and recognises names', () => {
    assert.deepEqual([...TEMPLATE_NAMES], ['alpaca', 'vicuna', 'wizardlm', 'plain', 'chat']);
    assert.deepEqual([...TEXT_TEMPLATE_NAMES], ['alpaca', 'vicuna', 'wizardlm', 'plain']);
    assert.ok(isTemplateName('vicuna'));
    assert.ok(isTemplateName('chat'));
    assert.ok(!isTemplateName('chatml'));
    for (const name of TEXT_TEMPLATE_NAMES) assert.equal(typeof renderPrompt(name, pair('I')), 'string');
  });
});
