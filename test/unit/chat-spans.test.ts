import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assistantTurns } from '../../src/core/dataset/turns';
import type { TrainingPair } from '../../src/core/dataset/types';
import { cutAfterFinalMessage, JinjaChatRenderer } from '../../src/core/scoring/chat/jinjaRenderer';
import { PREFIX_FALLBACK_NOTE, chatRenders, planChatSequence } from '../../src/core/scoring/chat/chatPlan';
import { metricRequests, type ScoringConfig, type SpanRequest } from '../../src/core/scoring/plan';
import { toRecordScore } from '../../src/core/scoring/recordScore';
import { effectiveConfig, metricStoreKey } from '../../src/core/scoring/scoreRecords';

const config: ScoringConfig = { metrics: ['ifd', 'rifd', 'ds'], template: 'chat', boundary: 'clean', ifdVariant: 'ppl' };
const pair: TrainingPair = {
  instruction: 'Say hi.',
  input: 'Politely.',
  response: 'Hello!',
  history: [
    { role: 'system', content: 'Be kind.' },
    { role: 'user', content: 'Who are you?' },
    { role: 'assistant', content: 'A bot.' },
  ],
};

describe('chat spans', () => {
  it('condition L(y|x) and DS on the whole conversation, L(y) and L(x) on an empty user turn, L(x|y\') on the reverse instruction', () => {
    const [yGivenX, y] = metricRequests('ifd', pair, config);
    assert.deepEqual(yGivenX.chat, {
      context: [
        { role: 'system', content: 'Be kind.' },
        { role: 'user', content: 'Who are you?' },
        { role: 'assistant', content: 'A bot.' },
        { role: 'user', content: 'Say hi.\nPolitely.' },
      ],
      target: 'Hello!',
    });
    assert.deepEqual(y.chat, { context: [{ role: 'user', content: '' }], target: 'Hello!' });
    assert.equal(y.pairedWith, 'yGivenX');
    const [xGivenY, x] = metricRequests('rifd', pair, config);
    assert.equal(xGivenY.chat?.context.length, 1);
    assert.match(xGivenY.chat!.context[0].content, /\nHello!\n/);
    assert.equal(xGivenY.target, 'Say hi.\nPolitely.');
    assert.deepEqual(x.chat?.context, [{ role: 'user', content: '' }]);
    const [xy] = metricRequests('ds', pair, config);
    assert.ok(xy.whole);
    assert.deepEqual(xy.chat, yGivenX.chat);
    const [, noUser] = metricRequests('ifd', pair, { ...config, chatDirectFrame: 'no-user' });
    assert.deepEqual(noUser.chat?.context, []);
  });

  it('render the prompt with the generation prompt, the answer continued, and the whole turn', () => {
    const r = chatRenders({ context: [{ role: 'user', content: 'q' }], target: 'a' });
    assert.deepEqual(r.prompt, { messages: [{ role: 'user', content: 'q' }], addGenerationPrompt: true, continueFinalMessage: false });
    assert.equal(r.content.continueFinalMessage, true);
    assert.deepEqual(r.whole.messages.at(-1), { role: 'assistant', content: 'a' });
  });
});

describe('planChatSequence', () => {
  const request: SpanRequest = { kind: 'yGivenX', context: '[]', target: 'a b', whole: false, chat: { context: [], target: 'a b' } };
  const P = [5, 6, 7];
  const T = [5, 6, 7, 8, 9];
  const W = [5, 6, 7, 8, 9, 2, 13];

  it('scores T[|P|:] when P is a token prefix of T, and W[|T|:] too with include', () => {
    assert.deepEqual(planChatSequence(request, { prompt: P, content: T, whole: W }, [80, 90], 'exclude', 100), { ids: T, start: 3, end: 5, truncated: false });
    assert.deepEqual(planChatSequence(request, { prompt: P, content: T, whole: W }, [80, 90], 'include', 100), { ids: W, start: 3, end: 7, truncated: false });
  });

  it('falls back to the answer tokenized on its own after P, and says so', () => {
    const plan = planChatSequence(request, { prompt: [5, 6, 7, 4], content: T, whole: W }, [80, 90], 'exclude', 100);
    assert.deepEqual(plan, { ids: [5, 6, 7, 4, 80, 90], start: 4, end: 6, truncated: false, note: PREFIX_FALLBACK_NOTE });
  });

  it('scores every token after the first for a whole-sequence span, cuts to the context, and names a refusal', () => {
    assert.deepEqual(planChatSequence({ ...request, whole: true }, { prompt: P, content: T, whole: W }, [], 'exclude', 4), { ids: [5, 6, 7, 8], start: 1, end: 4, truncated: true });
    assert.match(String(planChatSequence(request, { prompt: new Error('roles must alternate'), content: T, whole: W }, [], 'exclude', 100)), /cannot render this conversation: roles must alternate/);
  });
});

describe('cutAfterFinalMessage (transformers continue_final_message)', () => {
  it('cuts after the final content, keeping the template\'s spacing', () => {
    assert.equal(cutAfterFinalMessage('User: q\nAssistant: a b</s>\n', 'a b'), 'User: q\nAssistant: a b');
    assert.equal(cutAfterFinalMessage('<|im_start|>assistant\na b<|im_end|>\n', 'a b  '), '<|im_start|>assistant\na b');
    assert.throws(() => cutAfterFinalMessage('nothing', 'missing'), /does not appear/);
  });

  it('renders the Jinja template with HF\'s variables', async () => {
    const template = "{{ bos_token }}{% for m in messages %}[{{ m['role'] }}]{{ m['content'] }}{{ eos_token }}{% endfor %}{% if add_generation_prompt %}[assistant]{% endif %}";
    const renderer = await JinjaChatRenderer.create({ template, bosToken: '<s>', eosToken: '</s>' }, () => []);
    const messages = [{ role: 'user' as const, content: 'q' }];
    assert.equal(renderer.renderText({ messages, addGenerationPrompt: true, continueFinalMessage: false }), '<s>[user]q</s>[assistant]');
    assert.equal(renderer.renderText({ messages: [...messages, { role: 'assistant', content: 'a' }], addGenerationPrompt: false, continueFinalMessage: true }), '<s>[user]q</s>[assistant]a');
    await assert.rejects(JinjaChatRenderer.create({ template: '{% for %}', bosToken: '', eosToken: '' }, () => []), /cannot be parsed/);
  });
});

describe('multi-turn', () => {
  it('splits a record into its assistant turns, each with the conversation before it', () => {
    const turns = assistantTurns(pair);
    assert.equal(turns.length, 2);
    assert.deepEqual(turns[0], { instruction: 'Who are you?', input: '', response: 'A bot.', history: [{ role: 'system', content: 'Be kind.' }] });
    assert.equal(turns[1], pair);
  });

  it('gives the record the last turn\'s score, or the mean or min over turns', () => {
    const turn = (c: number, d: number) => ({ ifd: { ok: true as const, losses: { yGivenX: { mean: c, n: 3 }, y: { mean: d, n: 3 } }, truncated: false, at: 1, cached: true } });
    const result = { id: 0, metrics: turn(1, 2), turns: [turn(2, 2), turn(1, 2)] };
    const settings = { ifdVariant: 'ppl' as const, dsRule: 'paper' as const };
    const last = toRecordScore(result, ['ifd'], settings);
    assert.equal(last.metrics.ifd?.value, Math.exp(-1));
    assert.deepEqual(last.turns?.map((t) => t.metrics.ifd?.value), [1, Math.exp(-1)]);
    assert.equal(toRecordScore(result, ['ifd'], settings, 'mean').metrics.ifd?.value, (1 + Math.exp(-1)) / 2);
    assert.equal(toRecordScore(result, ['ifd'], settings, 'min').metrics.ifd?.value, Math.exp(-1));
  });
});

describe('the store key of a chat score', () => {
  it('changes with the template identity and the span options', () => {
    const requests = metricRequests('ifd', pair, config);
    const key = (c: ScoringConfig, identity: string) => metricStoreKey('ifd', requests, c, 'm', 'v', identity);
    const base = key(config, 'aaaa');
    assert.notEqual(key(config, 'bbbb'), base);
    assert.notEqual(key({ ...config, chatEndOfTurn: 'include' }, 'aaaa'), base);
    assert.notEqual(key({ ...config, chatDirectFrame: 'no-user' }, 'aaaa'), base);
    assert.equal(key(config, 'aaaa'), base);
  });

  it('falls back to plain, with the reason, when the scorer has no template', () => {
    assert.deepEqual(effectiveConfig(config, { chat: undefined, chatUnavailable: 'no template here' }), {
      config: { ...config, template: 'plain' },
      note: 'template chat: no template here; scored with the plain template instead',
    });
    assert.deepEqual(effectiveConfig({ ...config, template: 'alpaca' }, {}), { config: { ...config, template: 'alpaca' } });
  });
});
