import { readFile } from 'node:fs/promises';
import type { ChatMessage } from '../../metrics/chatSpans';
import gsm8k8shot from './prompts/gsm8k-8shot.json';
import iwsiGsm8k from './prompts/iwsi-gsm8k.json';
import qa0shot from './prompts/qa-0shot.json';

/** One solved example of a few-shot prompt. */
export interface Exemplar {
  question: string;
  answer: string;
}

/** A few-shot chain-of-thought prompt as data (the layout of prompts/*.json; see prompts/README.md). */
export interface PromptSpec {
  name: string;
  /** Where the exemplars come from. */
  source: string;
  exemplars: Exemplar[];
  text: { exemplar: string; separator: string; query: string };
  /** Generation stops before the first of these (in text mode). */
  stop: string[];
  chat?: { system?: string; user?: string; stop?: string[] };
}

/** The built-in prompts, by name (data files bundled with Sift). */
export const BUILTIN_PROMPTS: Readonly<Record<string, PromptSpec>> = Object.fromEntries(
  [gsm8k8shot, iwsiGsm8k, qa0shot].map((p) => [p.name, checkPromptSpec(p, `built-in prompt ${p.name}`)]),
);

export const DEFAULT_PROMPT = 'gsm8k-8shot';

/** A prompt the user named that cannot be used: the message says which file and what is wrong. */
export class PromptError extends Error {
  override name = 'PromptError';
}

/**
 * `--prompt NAME|FILE`: a built-in name, a `.json` file in the built-ins' layout, or any other file
 * read as one text template with `{question}` where the question goes (no exemplars; `stop` is
 * `["\nQ:"]` unless the caller overrides it).
 */
export async function loadPrompt(nameOrPath: string): Promise<PromptSpec> {
  const builtin = BUILTIN_PROMPTS[nameOrPath];
  if (builtin) return builtin;
  let text: string;
  try {
    text = await readFile(nameOrPath, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw new PromptError(`--prompt: "${nameOrPath}" is neither a built-in prompt (${Object.keys(BUILTIN_PROMPTS).join(', ')}) nor a file`);
    }
    throw new PromptError(`--prompt: cannot read ${nameOrPath}: ${code ?? (error as Error).message}`);
  }
  if (nameOrPath.toLowerCase().endsWith('.json')) {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      throw new PromptError(`--prompt ${nameOrPath}: not valid JSON: ${(error as Error).message}`);
    }
    return checkPromptSpec(value, `--prompt ${nameOrPath}`);
  }
  if (!text.includes('{question}')) throw new PromptError(`--prompt ${nameOrPath}: a text template needs {question} where the question goes`);
  return { name: nameOrPath, source: nameOrPath, exemplars: [], text: { exemplar: '', separator: '', query: text }, stop: ['\nQ:'] };
}

/** Checks a parsed prompt file field by field; the message names the file and the field. */
export function checkPromptSpec(value: unknown, where: string): PromptSpec {
  const fail = (what: string): never => {
    throw new PromptError(`${where}: ${what}`);
  };
  if (!isObject(value)) return fail('must be a JSON object');
  const string = (v: unknown, field: string): string => (typeof v === 'string' ? v : fail(`"${field}" must be a string`));
  const strings = (v: unknown, field: string): string[] =>
    Array.isArray(v) && v.every((s) => typeof s === 'string' && s !== '') ? (v as string[]) : fail(`"${field}" must be a list of non-empty strings`);
  const text = isObject(value.text) ? value.text : fail('"text" must be an object with "exemplar", "separator" and "query"');
  const query = string(text.query, 'text.query');
  if (!query.includes('{question}')) fail('"text.query" must contain {question}');
  if (!Array.isArray(value.exemplars)) fail('"exemplars" must be a list of {"question", "answer"} objects');
  const exemplars = (value.exemplars as unknown[]).map((e, i) => {
    if (!isObject(e)) return fail(`exemplars[${i}] must be an object with "question" and "answer"`);
    return { question: string(e.question, `exemplars[${i}].question`), answer: string(e.answer, `exemplars[${i}].answer`) };
  });
  const spec: PromptSpec = {
    name: value.name === undefined ? where : string(value.name, 'name'),
    source: value.source === undefined ? '' : string(value.source, 'source'),
    exemplars,
    text: { exemplar: string(text.exemplar ?? '', 'text.exemplar'), separator: string(text.separator ?? '', 'text.separator'), query },
    stop: value.stop === undefined ? [] : strings(value.stop, 'stop'),
  };
  if (value.chat !== undefined) {
    const chat = isObject(value.chat) ? value.chat : fail('"chat" must be an object');
    spec.chat = {};
    if (chat.system !== undefined) spec.chat.system = string(chat.system, 'chat.system');
    if (chat.user !== undefined) spec.chat.user = string(chat.user, 'chat.user');
    if (chat.stop !== undefined) spec.chat.stop = strings(chat.stop, 'chat.stop');
  }
  return spec;
}

/** `{question}` and `{answer}` replaced, nothing else (a `$` or other braces in a question stay as they are). */
function fill(template: string, question: string, answer = ''): string {
  return template.replace(/\{(question|answer)\}/g, (_, name: string) => (name === 'question' ? question : answer));
}

/** The text prompt for one question: exemplars, separator, query. */
export function renderTextPrompt(spec: PromptSpec, question: string): string {
  const shots = spec.exemplars.map((e) => fill(spec.text.exemplar, e.question, e.answer));
  return [...shots, fill(spec.text.query, question)].join(spec.text.separator);
}

/** The conversation for one question in chat mode: exemplars as user/assistant turns, the question last. */
export function chatMessages(spec: PromptSpec, question: string): ChatMessage[] {
  const user = spec.chat?.user ?? '{question}';
  const messages: ChatMessage[] = spec.chat?.system ? [{ role: 'system', content: spec.chat.system }] : [];
  for (const e of spec.exemplars) messages.push({ role: 'user', content: fill(user, e.question) }, { role: 'assistant', content: e.answer });
  messages.push({ role: 'user', content: fill(user, question) });
  return messages;
}

/** The stop strings of a run: `--stop` when given, else the prompt's (its chat ones in chat mode). */
export function stopStrings(spec: PromptSpec, chat: boolean, override?: readonly string[]): string[] {
  if (override) return [...override];
  return chat ? [...(spec.chat?.stop ?? [])] : [...spec.stop];
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
