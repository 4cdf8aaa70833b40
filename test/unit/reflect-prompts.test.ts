import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { TrainingPair } from '../../src/core/dataset/types';
import {
  DEFAULT_PROMPTS,
  PROMPT_VERSION,
  PromptOverrideError,
  checkPrompts,
  estimateCall,
  fillTemplate,
  loadPromptOverride,
  promptsFromOverride,
  reflectionMessages,
} from '../../src/core/reflect/prompts';
import { tempDir } from '../helpers/paths';

const pair: TrainingPair = { instruction: 'Name a colour.', input: '', response: 'Blue.', history: [] };

test('the built-in prompts pass their own checks and carry the version', () => {
  assert.deepEqual(checkPrompts(DEFAULT_PROMPTS), []);
  assert.equal(DEFAULT_PROMPTS.version, PROMPT_VERSION);
});

test('instruction reflection: a picky checker, the five instruction and four answer criteria, a harder self-contained instruction and its answer', () => {
  const [system, user] = reflectionMessages('instruction', { ...pair, input: 'secret input' }, DEFAULT_PROMPTS, false);
  assert.equal(system.role, 'system');
  assert.match(system.content, /hard to please/);
  for (const criterion of ['Complexity of the topic', 'Level of detail required', 'Knowledge required', 'Ambiguity of the instruction', 'Logical reasoning or problem solving', 'Helpfulness', 'Relevance', 'Accuracy', 'Level of details']) {
    assert.ok(user.content.includes(criterion), criterion);
  }
  assert.match(user.content, /----- INSTRUCTION -----\nName a colour\.\n----- END OF INSTRUCTION -----/);
  assert.match(user.content, /----- ANSWER -----\nBlue\.\n----- END OF ANSWER -----/);
  assert.match(user.content, /demands more than the original/);
  assert.match(user.content, /stand on its own/);
  assert.match(user.content, /<<<NEW INSTRUCTION>>>[\s\S]*<<<NEW ANSWER>>>[\s\S]*<<<END>>>/);
  // METHODS §4.4: the input is not shown to the instruction reflection.
  assert.doesNotMatch(user.content, /secret input/);
});

test('response reflection: the four answer criteria; the input variant shows the input in its own section', () => {
  const [, plain] = reflectionMessages('response', pair, DEFAULT_PROMPTS, true);
  assert.doesNotMatch(plain.content, /----- INPUT -----/);
  assert.match(plain.content, /Helpfulness[\s\S]*Relevance[\s\S]*Accuracy[\s\S]*Level of details/);
  assert.match(plain.content, /JSON object with exactly these string fields: "critique"[^"]*"response"/);
  const [, withInput] = reflectionMessages('response', { ...pair, input: 'red, green' }, DEFAULT_PROMPTS, false);
  assert.match(withInput.content, /----- INPUT -----\nred, green\n----- END OF INPUT -----/);
  assert.match(withInput.content, /<<<BETTER ANSWER>>>/);
});

test('placeholders are filled in one pass: record text containing {{format}} stays literal', () => {
  const tricky: TrainingPair = { instruction: 'Explain {{format}} and {{response}}.', input: '', response: 'x', history: [] };
  const [, user] = reflectionMessages('response', tricky, DEFAULT_PROMPTS, false);
  assert.ok(user.content.includes('Explain {{format}} and {{response}}.'));
  assert.equal(fillTemplate('a {{ instruction }} {{unknown}}', { instruction: 'I', input: '', response: '', format: '' }), 'a I {{unknown}}');
});

test('an override must keep the required placeholders and use no unknown ones', () => {
  assert.throws(() => promptsFromOverride({ response: { user: 'Improve: {{response}}' } }), /response: missing the placeholder \{\{instruction\}\}.*\{\{format\}\}/);
  assert.throws(() => promptsFromOverride({ response: { user: '{{instruction}} {{response}} {{format}} {{answer}}' } }), /unknown placeholder \{\{answer\}\}/);
  assert.throws(() => promptsFromOverride({ responseWithInput: { user: '{{instruction}} {{response}} {{format}}' } }), /responseWithInput: missing the placeholder \{\{input\}\}/);
  assert.throws(() => promptsFromOverride({ instruction: { user: '{{instruction}} {{input}} {{response}} {{format}}' } }), /\{\{input\}\} is not available/);
  assert.throws(() => promptsFromOverride({ reponse: {} }), /unknown key\(s\) "reponse"/);
  assert.throws(() => promptsFromOverride([]), PromptOverrideError);
});

test('a valid override replaces only what it names and gets a content-hash version', () => {
  const a = promptsFromOverride({ response: { user: 'Q: {{instruction}}\nA: {{response}}\n{{format}}' } });
  assert.equal(a.instruction, DEFAULT_PROMPTS.instruction);
  assert.equal(a.response.system, DEFAULT_PROMPTS.response.system);
  assert.match(a.version, /^custom:[0-9a-f]{16}$/);
  const b = promptsFromOverride({ response: { user: 'Q: {{instruction}}\nA: {{response}}\n\n{{format}}' } });
  assert.notEqual(a.version, b.version);
  assert.equal(promptsFromOverride({ response: { user: 'Q: {{instruction}}\nA: {{response}}\n{{format}}' } }).version, a.version);
});

test('overrides load from JSON and JS files; bad files say why', async () => {
  const dir = tempDir();
  const override = { response: { system: 'Be brief.', user: '{{instruction}} / {{response}} / {{format}}' } };
  writeFileSync(join(dir, 'p.json'), JSON.stringify(override));
  writeFileSync(join(dir, 'p.cjs'), `module.exports = ${JSON.stringify(override)};`);
  writeFileSync(join(dir, 'bad.json'), '{nope');
  writeFileSync(join(dir, 'p.txt'), '');
  const fromJson = await loadPromptOverride(join(dir, 'p.json'));
  const fromJs = await loadPromptOverride(join(dir, 'p.cjs'));
  assert.equal(fromJson.response.system, 'Be brief.');
  assert.equal(fromJs.version, fromJson.version);
  await assert.rejects(loadPromptOverride(join(dir, 'bad.json')), /not valid JSON/);
  await assert.rejects(loadPromptOverride(join(dir, 'p.txt')), /expected a \.json/);
  await assert.rejects(loadPromptOverride(join(dir, 'missing.json')), /cannot read prompt file/);
  await assert.rejects(loadPromptOverride(join(dir, 'p.cjs'), { allowCode: false }), /only JSON/);
});

test('estimate: prompt characters / 4 and an expected answer, capped by max tokens', () => {
  const chars = reflectionMessages('response', pair, DEFAULT_PROMPTS, true).reduce((s, m) => s + m.content.length, 0);
  const estimate = estimateCall('response', pair, DEFAULT_PROMPTS, true, 2048);
  assert.equal(estimate.promptTokens, Math.ceil(chars / 4));
  assert.equal(estimate.completionTokens, 400);
  const long: TrainingPair = { ...pair, response: 'word '.repeat(4000) };
  assert.equal(estimateCall('response', long, DEFAULT_PROMPTS, true, 2048).completionTokens, 2048);
  assert.ok(estimateCall('instruction', pair, DEFAULT_PROMPTS, true, 2048).promptTokens > estimate.promptTokens);
});
