import type { FormatName } from './types';

/**
 * One JSON Schema (draft-07, ajv's default dialect) per built-in format. They check only the fields
 * Sift reads: datasets carry extra fields (`id`, `category`, `source`) and keep them, so
 * `additionalProperties` stays allowed. Empty strings pass: an empty response is a record-level
 * warning (`empty-response`), not a schema error, so the record stays visible and can be repaired.
 */

/** ShareGPT `from` values and the role each one means. */
export const SHAREGPT_ROLES: Readonly<Record<string, 'system' | 'user' | 'assistant' | 'tool'>> = {
  system: 'system',
  human: 'user',
  user: 'user',
  gpt: 'assistant',
  assistant: 'assistant',
  chatgpt: 'assistant',
  bard: 'assistant',
  model: 'assistant',
  // LLaMA-Factory's function-calling flavour of ShareGPT.
  function_call: 'tool',
  observation: 'tool',
  tool: 'tool',
};

/** OpenAI chat roles and the role each one means (`developer` replaced `system` for o1 models). */
export const MESSAGE_ROLES: Readonly<Record<string, 'system' | 'user' | 'assistant' | 'tool'>> = {
  system: 'system',
  developer: 'system',
  user: 'user',
  assistant: 'assistant',
  tool: 'tool',
  function: 'tool',
};

const SCHEMA_BASE = 'https://sift.invalid/schemas/';

export const FORMAT_SCHEMAS: Readonly<Record<FormatName, object>> = {
  alpaca: {
    $id: SCHEMA_BASE + 'alpaca.json',
    type: 'object',
    required: ['instruction', 'output'],
    properties: {
      instruction: { type: 'string' },
      input: { type: 'string' },
      output: { type: 'string' },
    },
  },
  sharegpt: {
    $id: SCHEMA_BASE + 'sharegpt.json',
    type: 'object',
    required: ['conversations'],
    properties: {
      conversations: {
        type: 'array',
        minItems: 1,
        items: {
          type: 'object',
          required: ['from', 'value'],
          properties: {
            from: { enum: Object.keys(SHAREGPT_ROLES) },
            value: { type: 'string' },
          },
        },
      },
    },
  },
  messages: {
    $id: SCHEMA_BASE + 'messages.json',
    type: 'object',
    required: ['messages'],
    properties: {
      messages: {
        type: 'array',
        minItems: 1,
        items: {
          type: 'object',
          required: ['role'],
          properties: {
            role: { enum: Object.keys(MESSAGE_ROLES) },
            content: {
              type: ['string', 'array', 'null'],
              items: {
                type: 'object',
                required: ['type'],
                properties: { type: { type: 'string' }, text: { type: 'string' } },
              },
            },
          },
          // An assistant turn that only calls tools has no content; every other turn needs one.
          if: { required: ['role'], properties: { role: { const: 'assistant' } } },
          else: { required: ['content'] },
        },
      },
    },
  },
  'prompt-completion': {
    $id: SCHEMA_BASE + 'prompt-completion.json',
    type: 'object',
    required: ['prompt', 'completion'],
    properties: {
      prompt: { type: 'string' },
      completion: { type: 'string' },
    },
  },
  qa: {
    $id: SCHEMA_BASE + 'qa.json',
    type: 'object',
    required: ['question', 'answer'],
    properties: {
      question: { type: 'string' },
      answer: { type: 'string' },
    },
  },
  // The CANDIDATES file of the reasoning commands (src/core/reasoning/candidate.ts, docs/reasoning.md).
  candidates: {
    $id: SCHEMA_BASE + 'candidates.json',
    type: 'object',
    required: ['question_id', 'question', 'candidate', 'answer', 'sample_index'],
    properties: {
      question_id: { type: 'string' },
      question: { type: 'string' },
      candidate: { type: 'string' },
      answer: { type: ['string', 'null'] },
      gold: { type: 'string' },
      sample_index: { type: 'integer', minimum: 0 },
    },
  },
};
