// The `chat` template end to end on the bundled stories260K-chat.gguf: every IFD, r-IFD and DS
// (and every span loss) of single- and multi-turn records, scored locally and through `sift serve`
// + the vLLM client, equals a hand computation: the conversation rendered here by hand from the
// template in models/README.md, tokenized here, and scored with a log-softmax over the whole
// vocabulary from llama.cpp's raw logits.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { dsWeight } from '../../src/core/metrics/ds';
import { reverseInstruction } from '../../src/core/metrics/templates';
import { JinjaChatRenderer } from '../../src/core/scoring/chat/jinjaRenderer';
import { PREFIX_FALLBACK_NOTE } from '../../src/core/scoring/chat/chatPlan';
import { LocalScorer } from '../../src/core/scoring/local';
import type { LlamaContext, LlamaModel, NodeLlamaCpp, Token } from '../../src/core/scoring/local/llamaTypes';
import type { ScoringConfig } from '../../src/core/scoring/plan';
import type { RecordScore } from '../../src/core/scoring/recordScore';
import { scoreFile } from '../../src/core/scoring/scoreFile';
import type { TokenScorer } from '../../src/core/scoring/types';
import { VllmScorer } from '../../src/core/scoring/vllm';
import { ScoreStore } from '../../src/core/store/scoreStore';
import { METHOD_VERSION } from '../../src/core/metrics';
import { startServe } from '../helpers/cli';
import { fullSoftmax } from '../helpers/fullSoftmax';
import { bundledChatModel, bundledModel, examplesDir, tempDir } from '../helpers/paths';

const VOCAB = 512;
const TOLERANCE = 1e-4; // llama.cpp sums Σ exp in float32
const VALID_MEAN_LOSS = 2.5;

type Msg = { role: 'system' | 'user' | 'assistant'; content: string };

// Real records: the example TinyStories instructions; the multi-turn ones chain two of them.
const stories = readFileSync(join(examplesDir, 'tinystories-instructions.jsonl'), 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((line) => JSON.parse(line) as { instruction: string; output: string });
const [s1, s2, s3] = stories;
const SYSTEM = 'You tell short stories.';
const records = [
  { instruction: s1.instruction, input: '', output: s1.output },
  {
    conversations: [
      { from: 'system', value: SYSTEM },
      { from: 'human', value: s2.instruction },
      { from: 'gpt', value: s2.output },
      { from: 'human', value: s3.instruction },
      { from: 'gpt', value: s3.output },
    ],
  },
  {
    messages: [
      { role: 'user', content: s3.instruction },
      { role: 'assistant', content: s3.output },
      { role: 'user', content: [{ type: 'text', text: s1.instruction }] },
      { role: 'assistant', content: s1.output },
    ],
  },
];
/** Each record's assistant turns: the conversation before the answer, and the answer. */
const expectedTurns: { context: Msg[]; answer: string }[][] = [
  [{ context: [{ role: 'user', content: s1.instruction }], answer: s1.output }],
  [
    { context: [{ role: 'system', content: SYSTEM }, { role: 'user', content: s2.instruction }], answer: s2.output },
    {
      context: [
        { role: 'system', content: SYSTEM },
        { role: 'user', content: s2.instruction },
        { role: 'assistant', content: s2.output },
        { role: 'user', content: s3.instruction },
      ],
      answer: s3.output,
    },
  ],
  [
    { context: [{ role: 'user', content: s3.instruction }], answer: s3.output },
    {
      context: [
        { role: 'user', content: s3.instruction },
        { role: 'assistant', content: s3.output },
        { role: 'user', content: s1.instruction },
      ],
      answer: s1.output,
    },
  ],
];

/** The template of models/README.md, by hand. */
function renderByHand(messages: Msg[], how: 'prompt' | 'content' | 'whole'): string {
  let text = '';
  messages.forEach((m, i) => {
    if (m.role === 'system') text += `${m.content}\n`;
    else if (m.role === 'user') text += `User: ${m.content}\n`;
    else text += how === 'content' && i === messages.length - 1 ? `Assistant: ${m.content}` : `Assistant: ${m.content}</s>\n`;
  });
  return how === 'prompt' ? `${text}Assistant: ` : text;
}

let model: LlamaModel;
let context: LlamaContext;
let sequence: ReturnType<LlamaContext['getSequence']>;
let local: LocalScorer;
let serve: Awaited<ReturnType<typeof startServe>>;
/** One file per format (a file has one format): Alpaca, ShareGPT, OpenAI messages. */
let datasets: string[];

before(async () => {
  const { getLlama } = (await import('node-llama-cpp')) as NodeLlamaCpp;
  const llama = await getLlama({ gpu: false, build: 'never' });
  model = await llama.loadModel({ modelPath: bundledChatModel });
  context = await model.createContext({ contextSize: 512 });
  sequence = context.getSequence();
  local = await LocalScorer.load({ modelPath: bundledChatModel });
  serve = await startServe(['--model', bundledChatModel]);
  const dir = tempDir();
  datasets = records.map((record, i) => {
    const path = join(dir, `chat-${i}.jsonl`);
    writeFileSync(path, JSON.stringify(record) + '\n');
    return path;
  });
});
after(async () => {
  await serve.stop();
  await local.close();
  await context.dispose();
  await model.dispose();
});

const withSpecial = (text: string): number[] => Array.from(model.tokenize(text, true), Number);
const plainText = (text: string): number[] => Array.from(model.tokenize(text, false), Number);
const isPrefix = (a: number[], b: number[]): boolean => a.length <= b.length && a.every((x, i) => b[i] === x);

const truths = new Map<string, number[]>();
/** Full-vocabulary log-probs of a sequence, once per distinct sequence (DS shares L(y|x)'s). */
async function truth(ids: number[]): Promise<number[]> {
  const key = ids.join(',');
  let logprobs = truths.get(key);
  if (!logprobs) {
    logprobs = (await fullSoftmax(sequence, ids, VOCAB)).logprobs;
    truths.set(key, logprobs);
  }
  return logprobs;
}

interface HandSpan {
  mean: number;
  n: number;
  fellBack: boolean;
}

/**
 * The span rule (chatSpans.ts) from the hand rendering: target tokens T[|P|:] when P is a token
 * prefix of T, else the answer tokenized alone after P; the end-of-turn W[|T|:] with `include`.
 */
async function handSpan(contextMessages: Msg[], answer: string, options: { whole?: boolean; endOfTurn?: boolean; fitted?: number } = {}): Promise<HandSpan> {
  const answered: Msg[] = [...contextMessages, { role: 'assistant', content: answer }];
  const p = withSpecial(renderByHand(contextMessages, 'prompt'));
  const t = withSpecial(renderByHand(answered, 'content'));
  const w = withSpecial(renderByHand(answered, 'whole'));
  const end = options.endOfTurn && isPrefix(t, w) ? w.slice(t.length) : [];
  const fellBack = !isPrefix(p, t);
  const ids = fellBack ? [...p, ...plainText(answer), ...end] : [...t, ...end];
  const start = options.whole ? 1 : p.length;
  const stop = options.fitted === undefined ? ids.length : Math.min(ids.length, start + options.fitted);
  const logprobs = await truth(ids.slice(0, stop));
  let sum = 0;
  for (let j = start; j < stop; j++) sum -= logprobs[j - 1];
  return { mean: sum / (stop - start), n: stop - start, fellBack };
}

interface HandScores {
  ifd: number;
  rifd: number;
  ds: number;
  losses: Record<'yGivenX' | 'y' | 'xGivenY' | 'x' | 'xy', HandSpan>;
}

async function handScores(turn: { context: Msg[]; answer: string }, endOfTurn = false): Promise<HandScores> {
  const instruction = turn.context[turn.context.length - 1].content;
  const emptyUser: Msg[] = [{ role: 'user', content: '' }];
  const yGivenX = await handSpan(turn.context, turn.answer, { endOfTurn });
  const y = await handSpan(emptyUser, turn.answer, { endOfTurn, fitted: yGivenX.n });
  const xGivenY = await handSpan([{ role: 'user', content: reverseInstruction(turn.answer) }], instruction, { endOfTurn });
  const x = await handSpan(emptyUser, instruction, { endOfTurn, fitted: xGivenY.n });
  const xy = await handSpan(turn.context, turn.answer, { whole: true, endOfTurn });
  const ds = dsWeight(xy.mean, VALID_MEAN_LOSS, 'paper').value;
  assert.ok(ds !== null);
  return { ifd: Math.exp(yGivenX.mean - y.mean), rifd: Math.exp(xGivenY.mean - x.mean), ds, losses: { yGivenX, y, xGivenY, x, xy } };
}

const chatConfig = (extra: Partial<ScoringConfig> = {}): ScoringConfig => ({ metrics: ['ifd', 'rifd', 'ds'], template: 'chat', boundary: 'clean', ifdVariant: 'ppl', ...extra });

async function scoreWith(scorer: TokenScorer, config: ScoringConfig, turnScore?: 'last' | 'mean' | 'min'): Promise<{ scores: RecordScore[]; notes: string[] }> {
  const scores: RecordScore[] = [];
  const notes = new Set<string>();
  const store = ScoreStore.memory();
  for (const [i, dataset] of datasets.entries()) {
    const stats = await scoreFile(dataset, {
      scorer,
      store,
      config,
      metricSettings: { ifdVariant: 'ppl', dsRule: 'paper', validMeanLoss: VALID_MEAN_LOSS, turnScore },
      methodVersion: METHOD_VERSION,
      onInvalid: (info, problems) => assert.fail(`${dataset}:${info.line} is invalid: ${problems.map((p) => p.message).join('; ')}`),
      onScore: (_info, score) => (scores[i] = score),
    });
    for (const note of stats.notes) notes.add(note);
  }
  return { scores, notes: [...notes] };
}

function close(actual: number | null | undefined, expected: number, what: string): void {
  assert.ok(typeof actual === 'number' && Math.abs(actual - expected) <= TOLERANCE * Math.max(1, Math.abs(expected)), `${what}: ${actual} vs by hand ${expected}`);
}

function assertMatches(score: RecordScore, hand: HandScores[], where: string): void {
  const turns = score.turns ?? [{ metrics: score.metrics, losses: score.losses }];
  assert.equal(turns.length, hand.length, `${where}: one score per assistant turn`);
  hand.forEach((h, k) => {
    const turn = turns[k];
    close(turn.metrics.ifd?.value, h.ifd, `${where} turn ${k + 1} IFD`);
    close(turn.metrics.rifd?.value, h.rifd, `${where} turn ${k + 1} r-IFD`);
    close(turn.metrics.ds?.value, h.ds, `${where} turn ${k + 1} DS`);
    for (const kind of ['yGivenX', 'y', 'xGivenY', 'x', 'xy'] as const) {
      close(turn.losses[kind]?.mean, h.losses[kind].mean, `${where} turn ${k + 1} ${kind}`);
      assert.equal(turn.losses[kind]?.n, h.losses[kind].n, `${where} turn ${k + 1} ${kind} tokens`);
    }
  });
  // The record's score is its last turn's by default.
  close(score.metrics.ifd?.value, hand[hand.length - 1].ifd, `${where} record IFD`);
}

describe('the chat template on stories260K-chat.gguf', () => {
  let hand: HandScores[][];
  before(async () => {
    hand = [];
    for (const turns of expectedTurns) {
      const perTurn: HandScores[] = [];
      for (const turn of turns) perTurn.push(await handScores(turn));
      hand.push(perTurn);
    }
  });

  test('the local scorer reads the GGUF template and renders it as the template text says', async () => {
    assert.ok(local.chat, 'the chat model has a template');
    const conversation: Msg[] = [...expectedTurns[1][1].context, { role: 'assistant', content: s3.output }];
    const [whole] = await local.chat.render([{ messages: conversation, addGenerationPrompt: false, continueFinalMessage: false }]);
    assert.deepEqual(whole, withSpecial(renderByHand(conversation, 'whole')));
    assert.ok((whole as number[]).includes(2), '</s> is the EOS token, not its characters');
  });

  test('locally: IFD, r-IFD, DS and every span of every turn equal the hand computation', async () => {
    const { scores, notes } = await scoreWith(local, chatConfig());
    assert.deepEqual(notes, []);
    scores.forEach((score, i) => assertMatches(score, hand[i], `local record ${i + 1}`));
    // This template ends its generation prompt with a space that SentencePiece joins to the
    // answer's first word: the fallback is taken and the record says so.
    assert.ok(hand[0][0].losses.yGivenX.fellBack);
    assert.deepEqual(scores[0].notes, [PREFIX_FALLBACK_NOTE]);
  });

  test('through sift serve and the vLLM client (/tokenize with messages): the same numbers', async () => {
    const remote = await VllmScorer.connect({ urls: [serve.url], chatTemplate: true });
    try {
      assert.ok(remote.chat, remote.chatUnavailable);
      assert.equal(remote.chat.identity.length, 16);
      const { scores } = await scoreWith(remote, chatConfig());
      scores.forEach((score, i) => assertMatches(score, hand[i], `sift serve record ${i + 1}`));
    } finally {
      await remote.close();
    }
  });

  test('mean and min over turns are the record score when asked for', async () => {
    for (const how of ['mean', 'min'] as const) {
      const { scores } = await scoreWith(local, chatConfig({ metrics: ['ifd'] }), how);
      const ifds = hand[1].map((t) => t.ifd);
      close(scores[1].metrics.ifd?.value, how === 'mean' ? (ifds[0] + ifds[1]) / 2 : Math.min(...ifds), `${how} IFD`);
      close(scores[0].metrics.ifd?.value, hand[0][0].ifd, `${how} of a single turn`);
    }
  });

  test('chatEndOfTurn include scores </s> and the newline the template closes a turn with', async () => {
    const { scores } = await scoreWith(local, chatConfig({ chatEndOfTurn: 'include' }));
    const withEnd = await handScores(expectedTurns[0][0], true);
    assertMatches(scores[0], [withEnd], 'end of turn included');
    // `</s>`, then the newline, which this SentencePiece vocabulary writes as '▁' and '\n'.
    assert.equal(withEnd.losses.yGivenX.n, hand[0][0].losses.yGivenX.n + 3);
  });

  test('a template whose generation prompt is a token prefix of the answer: no fallback, T[|P|:] scored', async () => {
    // `Assistant:` without the trailing space: the header's tokens stay the same once the answer follows.
    const template = "{%- for m in messages -%}{%- if m['role'] == 'user' -%}User: {{ m['content'] }}\n{% else -%}Assistant:{{ m['content'] }}{{ eos_token }}\n{% endif -%}{%- endfor -%}{%- if add_generation_prompt -%}Assistant:{% endif -%}";
    const chat = await JinjaChatRenderer.create({ template, bosToken: '<s>', eosToken: '</s>' }, (text) => local.tokenizeRendered(text));
    const scorer = Object.assign(Object.create(local) as LocalScorer, { chat });
    const { scores } = await scoreWith(scorer, chatConfig({ metrics: ['ifd'] }));
    const p = withSpecial(`User: ${s1.instruction}\nAssistant:`);
    const t = withSpecial(`User: ${s1.instruction}\nAssistant:${s1.output}`);
    assert.ok(isPrefix(p, t));
    const logprobs = await truth(t);
    const expected = -logprobs.slice(p.length - 1).reduce((a, b) => a + b, 0) / (t.length - p.length);
    close(scores[0].losses.yGivenX?.mean, expected, 'L(y|x) over T[|P|:]');
    assert.equal(scores[0].notes, undefined);
    assert.notEqual(chat.identity, local.chat!.identity, 'another template, another store key');
  });

  test('a model without a chat template falls back to plain and says so', async () => {
    const plainModel = await LocalScorer.load({ modelPath: bundledModel });
    try {
      assert.equal(plainModel.chat, undefined);
      const chat = await scoreWith(plainModel, chatConfig({ metrics: ['ifd'] }));
      const plain = await scoreWith(plainModel, chatConfig({ metrics: ['ifd'], template: 'plain' }));
      assert.equal(chat.notes.length, 1);
      assert.match(chat.notes[0], /no chat template.*plain template instead/);
      chat.scores.forEach((score, i) => assert.equal(score.metrics.ifd?.value, plain.scores[i].metrics.ifd?.value));
    } finally {
      await plainModel.close();
    }
  });

  test('sift serve answers /tokenize with messages as vLLM does', async () => {
    const post = async (body: unknown) => {
      const response = await fetch(`${serve.url}/tokenize`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      return { status: response.status, body: (await response.json()) as { tokens?: number[]; count?: number; error?: { message: string } } };
    };
    const messages: Msg[] = [{ role: 'user', content: 'Hi.' }];
    const generation = await post({ messages });
    assert.deepEqual(generation.body.tokens, withSpecial('User: Hi.\nAssistant: '), 'add_generation_prompt defaults to true');
    const bos = await post({ messages, add_special_tokens: true });
    assert.deepEqual(bos.body.tokens, [Number(model.tokens.bos as Token), ...withSpecial('User: Hi.\nAssistant: ')]);
    const both = await post({ messages, add_generation_prompt: true, continue_final_message: true });
    assert.equal(both.status, 400);
    assert.match(both.body.error!.message, /Cannot set both/);
  });
});
