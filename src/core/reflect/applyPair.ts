import { applyEdits, modify, type Edit, type JSONPath } from 'jsonc-parser';
import { MESSAGE_ROLES, SHAREGPT_ROLES } from '../dataset/schemas';
import type { FormatSpec, TrainingPair } from '../dataset/types';
import { instructionText } from '../metrics/templates';

/** Thrown when a record's shape does not allow writing the pair back (it would not have scored either). */
export class ApplyPairError extends Error {
  override name = 'ApplyPairError';
}

type Json = Record<string, unknown>;

/**
 * Writes a (refined) pair back into a record of its own format, the inverse of `toTrainingPair`:
 * every other field, and the order of keys, stay as they were.
 *
 * - alpaca: `instruction`, `input` (set only when the record has the key or the new input is
 *   non-empty), `output`.
 * - prompt-completion: `prompt`, `completion`; qa: `question`, `answer`.
 * - sharegpt / messages: the last assistant turn and the user turn right before it (the turns
 *   `toTrainingPair` read; tool turns are skipped the same way). A `messages` content given as a
 *   list of parts keeps its non-text parts; its text parts become one text part.
 * - custom: the mapped dotted paths.
 *
 * Formats without an input field get `instruction + '\n' + input` when the input is non-empty, the
 * same text r-IFD scores as x (METHODS §4.2, clean mode).
 */
export function applyPair(value: unknown, format: FormatSpec, pair: Pick<TrainingPair, 'instruction' | 'input' | 'response'>): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new ApplyPairError('the record is not a JSON object');
  const record = structuredClone(value) as Json;
  const joined = instructionText(pair);
  switch (format.name) {
    case 'alpaca':
      record.instruction = pair.instruction;
      if ('input' in record || pair.input !== '') record.input = pair.input;
      record.output = pair.response;
      return record;
    case 'prompt-completion':
      record.prompt = joined;
      record.completion = pair.response;
      return record;
    case 'qa':
      record.question = joined;
      record.answer = pair.response;
      return record;
    case 'candidates':
      record.question = joined;
      record.candidate = pair.response;
      // The extracted answer was the old solution's: the reasoning commands read the new one's.
      record.answer = null;
      return record;
    case 'sharegpt': {
      const turns = record.conversations;
      if (!Array.isArray(turns)) throw new ApplyPairError('the record has no "conversations" list');
      const roles = turns.map((t) => SHAREGPT_ROLES[String((t as Json)?.from)]);
      const [user, assistant] = lastExchange(roles);
      (turns[assistant] as Json).value = pair.response;
      if (user === undefined) {
        if (joined !== '') throw new ApplyPairError('no user turn comes right before the last assistant turn, so there is no instruction to replace');
      } else {
        (turns[user] as Json).value = joined;
      }
      return record;
    }
    case 'messages': {
      const messages = record.messages;
      if (!Array.isArray(messages)) throw new ApplyPairError('the record has no "messages" list');
      const roles = messages.map((m) => {
        const role = MESSAGE_ROLES[String((m as Json)?.role)];
        const content = (m as Json)?.content;
        // As in toTrainingPair: an assistant turn with no text content is a tool call.
        return role === 'assistant' && typeof content !== 'string' && !Array.isArray(content) ? 'tool' : role;
      });
      const [user, assistant] = lastExchange(roles);
      setContent(messages[assistant] as Json, pair.response);
      if (user === undefined) {
        if (joined !== '') throw new ApplyPairError('no user message comes right before the last assistant message, so there is no instruction to replace');
      } else {
        setContent(messages[user] as Json, joined);
      }
      return record;
    }
    case 'custom': {
      const mapping = format.mapping;
      if (!mapping) throw new ApplyPairError('a custom format needs a field mapping');
      setPath(record, mapping.instruction, mapping.input === undefined ? joined : pair.instruction);
      if (mapping.input !== undefined) setPath(record, mapping.input, pair.input);
      setPath(record, mapping.response, pair.response);
      return record;
    }
  }
}

/** Indices of the last assistant turn and the user turn right before it, skipping tool turns. */
function lastExchange(roles: (string | undefined)[]): [number | undefined, number] {
  const kept = roles.map((role, i) => ({ role, i })).filter((t) => t.role !== 'tool');
  let last = kept.length - 1;
  while (last >= 0 && kept[last].role !== 'assistant') last--;
  if (last < 0) throw new ApplyPairError('the record has no assistant turn');
  const before = last > 0 && kept[last - 1].role === 'user' ? kept[last - 1].i : undefined;
  return [before, kept[last].i];
}

function setContent(message: Json, text: string): void {
  const content = message.content;
  if (!Array.isArray(content)) {
    message.content = text;
    return;
  }
  const parts: unknown[] = [];
  let placed = false;
  for (const part of content) {
    if ((part as Json)?.type === 'text') {
      if (!placed) parts.push({ ...(part as Json), text });
      placed = true;
    } else {
      parts.push(part);
    }
  }
  if (!placed) parts.push({ type: 'text', text });
  message.content = parts;
}

function setPath(record: Json, path: string, text: string): void {
  const keys = path.split('.');
  let cur: unknown = record;
  for (const key of keys.slice(0, -1)) {
    cur = child(cur, key, path);
    if (cur === null || typeof cur !== 'object') throw new ApplyPairError(`the record has no object or list at "${key}" of "${path}"`);
  }
  const last = keys[keys.length - 1];
  if (Array.isArray(cur)) {
    if (!/^(0|[1-9]\d*)$/.test(last)) throw new ApplyPairError(`"${last}" of "${path}" is not a list index`);
    cur[Number(last)] = text;
  } else {
    (cur as Json)[last] = text;
  }
}

/** The same dotted-path steps as `resolvePath`: a list takes an index, an object a key. */
function child(cur: unknown, key: string, path: string): unknown {
  if (Array.isArray(cur)) {
    if (!/^(0|[1-9]\d*)$/.test(key)) throw new ApplyPairError(`"${key}" of "${path}" is not a list index`);
    return cur[Number(key)];
  }
  if (cur !== null && typeof cur === 'object') return (cur as Json)[key];
  throw new ApplyPairError(`the record has no object at "${key}" of "${path}"`);
}

/**
 * The record line with the pair written back (no terminator), changing only the values that
 * changed: every other byte of `text` (key order, spacing, escapes, numbers as written) stays, so
 * the editor's diff and `git diff` show just the rewrite. `value` is `JSON.parse(text)`.
 */
export function recordLine(text: string, value: unknown, format: FormatSpec, pair: Pick<TrainingPair, 'instruction' | 'input' | 'response'>): string {
  const updated = applyPair(value, format, pair);
  const changes: { path: JSONPath; value: unknown }[] = [];
  changedPaths(value, updated, [], changes);
  const spacing = separators(text);
  let out = text;
  for (const change of changes) {
    const edits = modify(out, change.path, change.value, {}).map((edit) => respace(edit, change, spacing));
    out = applyEdits(out, edits);
  }
  return out;
}

/** Paths where `after` differs from `before`: leaves, keys added, and lists whose length changed (replaced whole). */
function changedPaths(before: unknown, after: unknown, path: JSONPath, out: { path: JSONPath; value: unknown }[]): void {
  if (Array.isArray(before) && Array.isArray(after) && before.length === after.length) {
    after.forEach((item, i) => changedPaths(before[i], item, [...path, i], out));
    return;
  }
  if (isObject(before) && isObject(after)) {
    for (const [key, item] of Object.entries(after)) {
      if (key in before) changedPaths(before[key], item, [...path, key], out);
      else out.push({ path: [...path, key], value: item });
    }
    return;
  }
  if (JSON.stringify(before) !== JSON.stringify(after)) out.push({ path, value: after });
}

function isObject(v: unknown): v is Json {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** The spacing the line uses after `,` and after `:` (`{"a": 1, "b": 2}` -> " " and " "). */
function separators(text: string): { comma: string; colon: string } {
  return { comma: /,(\s*)"/.exec(text)?.[1] ?? '', colon: /"\s*:(\s*)/.exec(text)?.[1] ?? '' };
}

/** A key `modify` appends after others comes as `,"key": value`: written in the line's own spacing instead. */
function respace(edit: Edit, change: { path: JSONPath; value: unknown }, spacing: { comma: string; colon: string }): Edit {
  const key = change.path[change.path.length - 1];
  if (typeof key !== 'string' || !edit.content.startsWith(',')) return edit;
  return { ...edit, content: `,${spacing.comma}${JSON.stringify(key)}:${spacing.colon}${JSON.stringify(change.value)}` };
}
