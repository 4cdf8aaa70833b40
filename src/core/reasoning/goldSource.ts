import { readFileLines } from '../dataset/lines';
import { CandidateFileError, type SourcedCandidate } from './readCandidates';

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Gold answers by question id and by question text. */
export interface GoldAnswers {
  /** The gold of a question: by its id when the file has one for it, else by its exact text. */
  get(questionId: string, question: string): string | undefined;
  size: number;
}

/**
 * A gold file: JSONL, one question per line, with `question_id` and/or `question` to match the
 * candidates by, and the gold in `gold` or else `answer` (so GSM8K's own `{question, answer}` lines
 * work as they are). A line that matches nothing is simply unused; a bad line stops the run.
 */
export async function readGoldFile(path: string): Promise<GoldAnswers> {
  const byId = new Map<string, string>();
  const byQuestion = new Map<string, string>();
  let size = 0;
  for await (const src of readFileLines(path)) {
    if (src.text.trim() === '') continue;
    const fail = (message: string): never => {
      throw new CandidateFileError(`${path}:${src.line}: ${message}`);
    };
    let value: unknown;
    try {
      value = JSON.parse(src.text);
    } catch (error) {
      fail(`invalid JSON (${(error as Error).message})`);
    }
    if (!isObject(value)) fail('a gold line must be a JSON object');
    const v = value as Record<string, unknown>;
    const gold = v.gold !== undefined ? v.gold : v.answer;
    if (typeof gold !== 'string') fail('expected the gold answer as a string in "gold" or "answer"');
    const id = v.question_id;
    const question = v.question;
    if (id !== undefined && typeof id !== 'string') fail('"question_id" must be a string');
    if (question !== undefined && typeof question !== 'string') fail('"question" must be a string');
    if (id === undefined && question === undefined) fail('a gold line needs "question_id" or "question" to match candidates by');
    if (typeof id === 'string') byId.set(id, gold as string);
    if (typeof question === 'string') byQuestion.set(question, gold as string);
    size++;
  }
  return { get: (questionId, question) => byId.get(questionId) ?? byQuestion.get(question), size };
}

/** A value at a dotted path of an object ("meta.answer"). */
function at(value: unknown, path: string): unknown {
  let v = value;
  for (const part of path.split('.')) {
    if (!isObject(v)) return undefined;
    v = v[part];
  }
  return v;
}

/**
 * The gold of a question from a field of its candidates' lines (`--gold-field`, a dotted path): the
 * first candidate that has it as a string (or number). Only inputs with one candidate per line keep
 * their text for this.
 */
export function goldFieldOf(group: readonly SourcedCandidate[], field: string): string | undefined {
  for (const c of group) {
    if (c.sourceText === undefined) continue;
    const v = at(JSON.parse(c.sourceText), field);
    if (typeof v === 'string') return v;
    if (typeof v === 'number') return String(v);
  }
  return undefined;
}
