import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { extname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { TrainingPair } from '../dataset/types';
import type { ChatMessage } from './teacher';
import type { ReflectionKind } from './types';

/**
 * Version of Sift's teacher prompts, part of every reflection cache key. Bump it whenever the
 * wording below changes what a teacher would answer.
 */
export const PROMPT_VERSION = 'sift-reflect-1';

/** One chat prompt: a system message and a user message, both templates. */
export interface PromptTemplate {
  system: string;
  user: string;
}

/**
 * The three prompts of Reflection-Tuning (METHODS §4.4). `responseWithInput` is used for a response
 * reflection when the record has a non-empty `input` field.
 */
export interface PromptSet {
  /** Part of the cache key: PROMPT_VERSION for the built-in prompts, a content hash for overrides. */
  version: string;
  instruction: PromptTemplate;
  response: PromptTemplate;
  responseWithInput: PromptTemplate;
}

export type PromptName = 'instruction' | 'response' | 'responseWithInput';

export const PROMPT_NAMES: readonly PromptName[] = ['instruction', 'response', 'responseWithInput'];

/**
 * Placeholders a template may use, written `{{name}}`. `format` is replaced by the output
 * instructions Sift generates (a JSON object, or delimited sections the parser knows), so an
 * override cannot drift from what the parser expects.
 */
export const PLACEHOLDERS = ['instruction', 'input', 'response', 'format'] as const;
export type Placeholder = (typeof PLACEHOLDERS)[number];

/** `{{name}}`, with optional spaces inside the braces. */
const PLACEHOLDER_PATTERN = /\{\{\s*([A-Za-z]+)\s*\}\}/g;

function isPlaceholder(name: string): name is Placeholder {
  return (PLACEHOLDERS as readonly string[]).includes(name);
}

/** Placeholders each prompt must contain (in its system or user message). */
export const REQUIRED_PLACEHOLDERS: Readonly<Record<PromptName, readonly Placeholder[]>> = {
  instruction: ['instruction', 'response', 'format'],
  response: ['instruction', 'response', 'format'],
  responseWithInput: ['instruction', 'input', 'response', 'format'],
};

// Sift's own wording. The structure (roles, criteria, what is asked and in which order) follows
// Reflection-Tuning as METHODS §4.4 describes it; the prose is not the authors'.
const INSTRUCTION_SYSTEM =
  'You audit examples for instruction-tuning datasets and you are hard to please. You judge an ' +
  'instruction on how much it asks of whoever answers it, you judge the answer on how well it ' +
  'serves the person who asked, and when either falls short you replace them with better ones.';

/** A part of the record, fenced so the teacher can tell where the record's own text starts and ends. */
function fenced(title: string, placeholder: Placeholder): string {
  return `----- ${title} -----\n{{${placeholder}}}\n----- END OF ${title} -----`;
}

/** A user prompt: what the teacher is shown, then the numbered steps and the output layout. */
function userPrompt(intro: string, parts: string[], steps: string): string {
  return `${intro}\n\n${parts.join('\n\n')}\n\nDo the following, in order.\n\n${steps}\n\n{{format}}`;
}

const ANSWER_CRITERIA = `   - Helpfulness
   - Relevance
   - Accuracy
   - Level of details`;

const INSTRUCTION_USER = userPrompt(
  'Here is one training example: an instruction and the answer it received.',
  [fenced('INSTRUCTION', 'instruction'), fenced('ANSWER', 'response')],
  `1. Assess the instruction on each of these five criteria, a few sentences each:
   - Complexity of the topic
   - Level of detail required
   - Knowledge required
   - Ambiguity of the instruction
   - Logical reasoning or problem solving involved
2. Assess the answer on each of these four criteria:
${ANSWER_CRITERIA}
3. Explain how the shortcomings of the instruction made the answer weaker.
4. Write a new instruction on a related subject that demands more than the original: more depth, more detail or more reasoning. It must stand on its own, so that someone who never saw the original instruction can answer it completely.
5. Write a thorough, correct and detailed answer to your new instruction.`,
);

const RESPONSE_SYSTEM =
  'You audit answers in instruction-tuning datasets and you are hard to please. An answer passes ' +
  'only if it really helps the person who asked, stays on their question, is correct and gives ' +
  'enough detail; otherwise you write a better one.';

const RESPONSE_STEPS = `1. Assess the answer on each of these four criteria, a few sentences each:
${ANSWER_CRITERIA}
2. Write a better answer to the same instruction: complete, correct, detailed, and free of every weakness you found. Answer the instruction as it stands; do not change or extend it.`;

const RESPONSE_USER = userPrompt(
  'Here is an instruction and the answer it received.',
  [fenced('INSTRUCTION', 'instruction'), fenced('ANSWER', 'response')],
  RESPONSE_STEPS,
);

const RESPONSE_WITH_INPUT_USER = userPrompt(
  'Here is an instruction, the input it refers to, and the answer it received.',
  [fenced('INSTRUCTION', 'instruction'), fenced('INPUT', 'input'), fenced('ANSWER', 'response')],
  RESPONSE_STEPS,
);

export const DEFAULT_PROMPTS: PromptSet = {
  version: PROMPT_VERSION,
  instruction: { system: INSTRUCTION_SYSTEM, user: INSTRUCTION_USER },
  response: { system: RESPONSE_SYSTEM, user: RESPONSE_USER },
  responseWithInput: { system: RESPONSE_SYSTEM, user: RESPONSE_WITH_INPUT_USER },
};

/** A section of the teacher's delimited output: its marker and the placeholder shown under it. */
export interface OutputSection {
  /** Field of the parsed output. */
  field: 'critique' | 'instruction' | 'response';
  /** Marker name, written `<<<NAME>>>` on a line of its own. */
  marker: string;
  /** What the format text shows under the marker; an answer still containing it is unusable. */
  placeholder: string;
}

export const END_MARKER = 'END';

export const OUTPUT_SECTIONS: Readonly<Record<ReflectionKind, readonly OutputSection[]>> = {
  instruction: [
    { field: 'critique', marker: 'CRITIQUE', placeholder: 'your assessment from steps 1 to 3' },
    { field: 'instruction', marker: 'NEW INSTRUCTION', placeholder: 'the new instruction from step 4, and nothing else' },
    { field: 'response', marker: 'NEW ANSWER', placeholder: 'the answer from step 5, and nothing else' },
  ],
  response: [
    { field: 'critique', marker: 'CRITIQUE', placeholder: 'your assessment from step 1' },
    { field: 'response', marker: 'BETTER ANSWER', placeholder: 'the better answer from step 2, and nothing else' },
  ],
};

/** The `{{format}}` text: how the teacher must lay out its reply. */
export function formatInstructions(kind: ReflectionKind, structured: boolean): string {
  const sections = OUTPUT_SECTIONS[kind];
  if (structured) {
    const fields = sections.map((s) => `"${s.field}" (${s.placeholder})`).join(', ');
    return `Reply with one JSON object with exactly these string fields: ${fields}. Write nothing outside the JSON object.`;
  }
  const layout = sections.map((s) => `<<<${s.marker}>>>\n${s.placeholder}`).join('\n');
  return (
    `Lay out your reply in exactly these ${sections.length} sections, each opened by its marker on a line of its own, ` +
    `and close it with the end marker:\n\n${layout}\n<<<${END_MARKER}>>>`
  );
}

/** Which prompt a reflection of `pair` uses. */
export function promptNameFor(kind: ReflectionKind, pair: Pick<TrainingPair, 'input'>): PromptName {
  if (kind === 'instruction') return 'instruction';
  return pair.input !== '' ? 'responseWithInput' : 'response';
}

/**
 * Fills `{{name}}` placeholders in one pass, so a record that itself contains `{{format}}` is
 * inserted literally and never expanded.
 */
export function fillTemplate(template: string, values: Readonly<Record<Placeholder, string>>): string {
  return template.replace(PLACEHOLDER_PATTERN, (whole, name: string) => (isPlaceholder(name) ? values[name] : whole));
}

/**
 * The chat messages of one reflection. The instruction prompt does not show the `input` field
 * (METHODS §4.4: the new pair has an empty input); the response prompt shows it when there is one.
 */
export function reflectionMessages(kind: ReflectionKind, pair: TrainingPair, prompts: PromptSet, structured: boolean): ChatMessage[] {
  const template = prompts[promptNameFor(kind, pair)];
  const values = { instruction: pair.instruction, input: pair.input, response: pair.response, format: formatInstructions(kind, structured) };
  const messages: ChatMessage[] = [];
  const system = fillTemplate(template.system, values);
  if (system.trim() !== '') messages.push({ role: 'system', content: system });
  messages.push({ role: 'user', content: fillTemplate(template.user, values) });
  return messages;
}

/** Thrown for a prompt override that cannot be used; the message says what to fix. */
export class PromptOverrideError extends Error {
  override name = 'PromptOverrideError';
}

/** Placeholders used in a text, `{{name}}` with optional spaces. */
function placeholdersIn(text: string): string[] {
  return [...text.matchAll(PLACEHOLDER_PATTERN)].map((m) => m[1]);
}

/** Problems with a prompt set, in plain words ([] when it is usable). */
export function checkPrompts(prompts: Omit<PromptSet, 'version'>): string[] {
  const problems: string[] = [];
  for (const name of PROMPT_NAMES) {
    const template = prompts[name] as PromptTemplate | undefined;
    if (!template || typeof template.system !== 'string' || typeof template.user !== 'string') {
      problems.push(`${name}: needs "system" and "user" strings`);
      continue;
    }
    const used = new Set([...placeholdersIn(template.system), ...placeholdersIn(template.user)]);
    for (const p of used) {
      if (!isPlaceholder(p)) {
        problems.push(`${name}: unknown placeholder {{${p}}} (known: ${PLACEHOLDERS.map((x) => `{{${x}}}`).join(', ')})`);
      }
    }
    for (const p of REQUIRED_PLACEHOLDERS[name]) {
      if (!used.has(p)) problems.push(`${name}: missing the placeholder {{${p}}}`);
    }
    if (name === 'instruction' && used.has('input')) {
      problems.push('instruction: {{input}} is not available here (the new pair has an empty input; METHODS §4.4)');
    }
  }
  return problems;
}

/**
 * A prompt set from an override object: any of `instruction`, `response`, `responseWithInput`
 * (each `{system, user}`; a missing `system` keeps the built-in one), the rest built in. Its
 * version is a hash of the effective prompts, so the reflection cache never mixes prompts.
 */
export function promptsFromOverride(override: unknown, source = 'prompt override'): PromptSet {
  if (override === null || typeof override !== 'object' || Array.isArray(override)) {
    throw new PromptOverrideError(`${source}: expected an object with "instruction", "response" and/or "responseWithInput"`);
  }
  const given = override as Record<string, unknown>;
  const unknown = Object.keys(given).filter((k) => k !== 'version' && !(PROMPT_NAMES as readonly string[]).includes(k));
  if (unknown.length > 0) {
    throw new PromptOverrideError(`${source}: unknown key(s) ${unknown.map((k) => `"${k}"`).join(', ')} (expected ${PROMPT_NAMES.join(', ')})`);
  }
  const merged: Record<PromptName, PromptTemplate> = {
    instruction: DEFAULT_PROMPTS.instruction,
    response: DEFAULT_PROMPTS.response,
    responseWithInput: DEFAULT_PROMPTS.responseWithInput,
  };
  for (const name of PROMPT_NAMES) {
    const value = given[name];
    if (value === undefined) continue;
    if (value === null || typeof value !== 'object') throw new PromptOverrideError(`${source}: "${name}" must be an object with "system" and "user"`);
    const v = value as Record<string, unknown>;
    if (typeof v.user !== 'string') throw new PromptOverrideError(`${source}: "${name}.user" must be a string`);
    if (v.system !== undefined && typeof v.system !== 'string') throw new PromptOverrideError(`${source}: "${name}.system" must be a string`);
    merged[name] = { system: typeof v.system === 'string' ? v.system : DEFAULT_PROMPTS[name].system, user: v.user };
  }
  const problems = checkPrompts(merged);
  if (problems.length > 0) throw new PromptOverrideError(`${source}: ${problems.join('; ')}`);
  const hash = createHash('sha256');
  for (const name of PROMPT_NAMES) hash.update(JSON.stringify([name, merged[name].system, merged[name].user]));
  return { version: `custom:${hash.digest('hex').slice(0, 16)}`, ...merged };
}

/**
 * Loads a prompt override from a `.json` file, or from a `.js` / `.cjs` / `.mjs` module exporting
 * the same object (as `module.exports` or `export default`). A module runs code: callers in an
 * untrusted context (an untrusted editor workspace) must accept JSON only.
 */
export async function loadPromptOverride(path: string, options: { allowCode?: boolean } = {}): Promise<PromptSet> {
  const absolute = resolve(path);
  const ext = extname(absolute).toLowerCase();
  let value: unknown;
  if (ext === '.json') {
    let text: string;
    try {
      text = await readFile(absolute, 'utf8');
    } catch (error) {
      throw new PromptOverrideError(`cannot read prompt file ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
    try {
      value = JSON.parse(text);
    } catch (error) {
      throw new PromptOverrideError(`prompt file ${path} is not valid JSON: ${(error as Error).message}`);
    }
  } else if (ext === '.js' || ext === '.cjs' || ext === '.mjs') {
    if (options.allowCode === false) throw new PromptOverrideError(`prompt file ${path}: only JSON prompt files are allowed here`);
    try {
      const module = (await import(pathToFileURL(absolute).href)) as { default?: unknown };
      value = module.default ?? module;
    } catch (error) {
      throw new PromptOverrideError(`cannot load prompt module ${path}: ${(error as Error).message}`);
    }
  } else {
    throw new PromptOverrideError(`prompt file ${path}: expected a .json, .js, .cjs or .mjs file`);
  }
  return promptsFromOverride(value, `prompt file ${path}`);
}

/** A rough cost of one teacher call, in tokens. */
export interface CallEstimate {
  promptTokens: number;
  completionTokens: number;
}

/**
 * What one reflection of `pair` is expected to cost, before it runs: prompt characters / 4 (a
 * common rule of thumb for English with BPE tokenizers), and an expected output of a critique
 * (about 300 tokens) plus the rewritten text at 1.5 times the length of what it replaces (a rewrite
 * is asked to be more detailed), at least 100 tokens, at most `maxTokens`. An estimate for showing
 * the user the scale of a batch, not a bill.
 */
export function estimateCall(kind: ReflectionKind, pair: TrainingPair, prompts: PromptSet, structured: boolean, maxTokens: number): CallEstimate {
  const chars = reflectionMessages(kind, pair, prompts, structured).reduce((sum, m) => sum + m.content.length, 0);
  const rewritten = kind === 'instruction' ? pair.instruction.length + pair.response.length : pair.response.length;
  const expected = 300 + Math.max(100, Math.ceil((rewritten / 4) * 1.5));
  return { promptTokens: Math.ceil(chars / 4), completionTokens: Math.min(maxTokens, expected) };
}
