import { FORMAT_NAMES, type FormatName, type FormatSpec, type TrainingPair, type Turn } from './types';
import type { Issue } from './issue';
import { MESSAGE_ROLES, SHAREGPT_ROLES } from './schemas';
import { joinPointer } from './json-pointer';
import { resolvePath } from './validate';

export { FORMAT_NAMES };

export interface MappedRecord {
  /** Absent when the record has nothing to score (no assistant turn). */
  pair?: TrainingPair;
  /** Record-level warnings and notes (`empty-response`, `no-assistant-turn`, ...). */
  issues: Issue[];
}

/**
 * Maps a record that passed `validateRecord` for `format` to what is scored. Multi-turn formats
 * follow the rule in `TrainingPair`: the last assistant turn is the response.
 */
export function toTrainingPair(value: Record<string, unknown>, format: FormatSpec): MappedRecord {
  switch (format.name) {
    case 'alpaca': {
      const mapped = single(str(value.instruction), str(value.input), str(value.output), '/instruction', '/output');
      mapped.pair!.history = alpacaHistory(value);
      return mapped;
    }
    case 'prompt-completion':
      return single(str(value.prompt), '', str(value.completion), '/prompt', '/completion');
    case 'qa':
      return single(str(value.question), '', str(value.answer), '/question', '/answer');
    case 'candidates':
      return single(str(value.question), '', str(value.candidate), '/question', '/candidate');
    case 'sharegpt':
      return conversation([...systemField(value), ...sharegptTurns(value.conversations as Array<Record<string, unknown>>)], '/conversations', []);
    case 'messages': {
      const notes: Issue[] = [];
      return conversation(messageTurns(value.messages as Array<Record<string, unknown>>, notes), '/messages', notes);
    }
    case 'custom': {
      if (!format.mapping) throw new TypeError('a custom format needs a field mapping');
      const m = format.mapping;
      const at = (path: string | undefined): string => {
        if (path === undefined) return '';
        const r = resolvePath(value, path);
        return r.kind === 'found' ? str(r.value) : '';
      };
      const ptr = (path: string): string => joinPointer(path.split('.'));
      return single(at(m.instruction), at(m.input), at(m.response), ptr(m.instruction), ptr(m.response));
    }
  }
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

function single(instruction: string, input: string, response: string, instructionPointer: string, responsePointer: string): MappedRecord {
  const pair: TrainingPair = { instruction, input, response, history: [] };
  const issues: Issue[] = [];
  checkPair(pair, issues, instructionPointer, responsePointer, 'the instruction is empty');
  return { pair, issues };
}

/** `\S` finds the first visible character without copying the string (responses can be long). */
const VISIBLE = /\S/;

function checkPair(pair: TrainingPair, issues: Issue[], instructionPointer: string, responsePointer: string, emptyInstruction: string): void {
  if (!VISIBLE.test(pair.response)) {
    issues.push({ code: 'empty-response', severity: 'warning', reason: 'the response is empty: it cannot be scored', pointer: responsePointer });
  }
  if (!VISIBLE.test(pair.instruction)) {
    issues.push({ code: 'empty-instruction', severity: 'warning', reason: emptyInstruction, pointer: instructionPointer });
  }
}

interface SourceTurn {
  role: Turn['role'] | 'tool';
  content: string;
  /** Pointer of the turn's text, for underlining. */
  pointer: string;
  /** The turn has no text field at all (already reported). */
  noContent?: boolean;
}

/** A top-level `system` string (LLaMA-Factory's Alpaca and ShareGPT layouts): the first turn. */
function systemField(value: Record<string, unknown>): SourceTurn[] {
  return typeof value.system === 'string' && value.system !== '' ? [{ role: 'system', content: value.system, pointer: '/system' }] : [];
}

/**
 * The earlier exchanges of an Alpaca record, so none of its text is lost: the `system` string and
 * LLaMA-Factory's `history` of [instruction, response] pairs (anything else in `history` is not a
 * turn and is left out).
 */
function alpacaHistory(value: Record<string, unknown>): Turn[] {
  const turns: Turn[] = systemField(value).map(({ content }) => ({ role: 'system', content }));
  if (Array.isArray(value.history)) {
    for (const exchange of value.history as unknown[]) {
      if (!Array.isArray(exchange) || exchange.length !== 2 || typeof exchange[0] !== 'string' || typeof exchange[1] !== 'string') continue;
      turns.push({ role: 'user', content: exchange[0] }, { role: 'assistant', content: exchange[1] });
    }
  }
  return turns;
}

function sharegptTurns(conversations: Array<Record<string, unknown>>): SourceTurn[] {
  return conversations.map((t, i) => ({
    role: SHAREGPT_ROLES[t.from as string],
    content: str(t.value),
    pointer: `/conversations/${i}/value`,
  }));
}

function messageTurns(messages: Array<Record<string, unknown>>, notes: Issue[]): SourceTurn[] {
  let nonText = 0;
  const turns = messages.map((m, i): SourceTurn => {
    const c = m.content;
    let role = MESSAGE_ROLES[m.role as string];
    let content = '';
    if (typeof c === 'string') content = c;
    else if (Array.isArray(c)) {
      // Text parts are joined with newlines: they are separate blocks of the same message.
      const texts: string[] = [];
      for (const part of c as Array<Record<string, unknown>>) {
        if (part.type === 'text') texts.push(str(part.text));
        else nonText++;
      }
      content = texts.join('\n');
    } else if (role === 'assistant' && ('tool_calls' in m || 'function_call' in m)) {
      // No content, only calls: a tool-calling turn, which the chat template cannot render as text.
      role = 'tool';
    } else if (role === 'assistant') {
      // Neither content nor calls: a broken turn, not a tool turn; said once, here.
      notes.push({
        code: 'assistant-without-content',
        severity: 'error',
        reason: `message ${i + 1} (assistant) has no "content" (and no "tool_calls"): there is no response text`,
        pointer: `/messages/${i}`,
      });
      return { role, content, pointer: `/messages/${i}`, noContent: true };
    }
    return { role, content, pointer: `/messages/${i}/content` };
  });
  if (nonText > 0) {
    notes.push({
      code: 'non-text-content-ignored',
      severity: 'info',
      reason: `${nonText} non-text content ${nonText === 1 ? 'part is' : 'parts are'} left out of the scored text`,
      pointer: '/messages',
    });
  }
  return turns;
}

/**
 * Tool calls and tool results are left out of the scored context: `Turn` has no tool role and chat
 * templates of small student models rarely render them. The record still scores (its last
 * assistant text turn is the response) and an `info` note says what was left out.
 */
function conversation(source: SourceTurn[], listPointer: string, issues: Issue[]): MappedRecord {
  const turns = source.filter((t) => t.role !== 'tool');
  const dropped = source.length - turns.length;
  if (dropped > 0) {
    issues.push({
      code: 'tool-turns-ignored',
      severity: 'info',
      reason: `${dropped} tool ${dropped === 1 ? 'turn is' : 'turns are'} left out of the scored context`,
      pointer: listPointer,
    });
  }
  let last = turns.length - 1;
  while (last >= 0 && turns[last].role !== 'assistant') last--;
  if (last < 0) {
    issues.push({ code: 'no-assistant-turn', severity: 'warning', reason: 'no assistant turn: there is no response to score', pointer: listPointer });
    return { issues };
  }
  const asked = last > 0 && turns[last - 1].role === 'user' ? turns[last - 1] : undefined;
  const history: Turn[] = turns
    .slice(0, asked ? last - 1 : last)
    .map((t) => ({ role: t.role as Turn['role'], content: t.content }));
  const pair: TrainingPair = { instruction: asked?.content ?? '', input: '', response: turns[last].content, history };
  const pairIssues: Issue[] = [];
  checkPair(
    pair,
    pairIssues,
    asked?.pointer ?? listPointer,
    turns[last].pointer,
    asked ? 'the instruction (the user turn before the last assistant turn) is empty' : 'the instruction is empty: no user turn comes right before the last assistant turn',
  );
  // A response turn without content is already reported: not again as an empty response.
  issues.push(...pairIssues.filter((issue) => !(turns[last].noContent && issue.code === 'empty-response')));
  return { pair, issues };
}

/** The format one record looks like, by its keys; undefined when it looks like none. */
export function formatOfValue(value: unknown): FormatName | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const v = value as Record<string, unknown>;
  if (Array.isArray(v.messages)) return 'messages';
  if (Array.isArray(v.conversations)) return 'sharegpt';
  if ('instruction' in v && 'output' in v) return 'alpaca';
  if ('prompt' in v && 'completion' in v) return 'prompt-completion';
  // A sampled solution (CANDIDATES) also has `answer`, its extracted final answer: not the response.
  if ('question' in v && 'candidate' in v) return 'candidates';
  if ('question' in v && 'answer' in v) return 'qa';
  return undefined;
}

/** How many objects `detectFormat` looks at. */
export const DETECT_SAMPLE = 50;

/**
 * Detects a file's format from its first `DETECT_SAMPLE` objects: each votes for the format its
 * keys match (`formatOfValue`), the most votes wins, ties go to the earlier entry of
 * `FORMAT_NAMES`. Records matching no format don't vote; with no votes at all the result is
 * undefined (the caller decides the fallback). A few malformed records among many good ones thus
 * don't change the answer, and they are then reported against the winning format's schema.
 */
export function detectFormat(values: readonly unknown[]): FormatName | undefined {
  const votes = new Map<FormatName, number>();
  let seen = 0;
  for (const v of values) {
    if (seen >= DETECT_SAMPLE) break;
    if (v === null || typeof v !== 'object' || Array.isArray(v)) continue;
    seen++;
    const f = formatOfValue(v);
    if (f) votes.set(f, (votes.get(f) ?? 0) + 1);
  }
  let best: FormatName | undefined;
  for (const name of FORMAT_NAMES) {
    const n = votes.get(name) ?? 0;
    if (n > 0 && (best === undefined || n > (votes.get(best) ?? 0))) best = name;
  }
  return best;
}
