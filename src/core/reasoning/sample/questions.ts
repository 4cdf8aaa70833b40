import { readFileLines } from '../../dataset/lines';
import { resolvePath } from '../../dataset/validate';

/** One question to sample solutions for. */
export interface Question {
  /** 1-based line in the QUESTIONS file. */
  line: number;
  /** The `--id-field` value, or `line-N`. */
  id: string;
  question: string;
  /** The reference solution or answer (GSM8K: the worked solution ending `#### N`), when the line has one. */
  gold?: string;
}

/** Where each value is in a line (dotted paths, as `--field-map`). */
export interface QuestionFields {
  /** Default `question`. */
  question?: string;
  /** Default `answer` (GSM8K); a line without it has no gold. */
  gold?: string;
  /** Default none: question ids are `line-N`. */
  id?: string;
}

/** A line that cannot be used, and why. */
export interface QuestionProblem {
  line: number;
  message: string;
}

/**
 * Reads a QUESTIONS file: JSON Lines, one object per question (GSM8K's `{question, answer}`, or any
 * layout with the fields named). Blank lines are skipped; a line that is not a JSON object, or
 * lacks a non-empty question string, is a problem naming the line, and the others are read.
 */
export async function readQuestions(path: string, fields: QuestionFields = {}): Promise<{ questions: Question[]; problems: QuestionProblem[] }> {
  const questions: Question[] = [];
  const problems: QuestionProblem[] = [];
  const seenIds = new Map<string, number>();
  for await (const source of readFileLines(path)) {
    if (source.text.trim() === '') continue;
    const problem = (message: string): void => {
      problems.push({ line: source.line, message });
    };
    if (source.invalidUtf8) {
      problem(`byte ${source.invalidUtf8.byteColumn + 1} of the line is not valid UTF-8`);
      continue;
    }
    const read = parseQuestionLine(source.text, source.line, fields);
    if ('message' in read) {
      problems.push(read);
      continue;
    }
    const { entry, value } = read;
    if (fields.id !== undefined) {
      const id = resolvePath(value, fields.id);
      if (id.kind !== 'found' || !(typeof id.value === 'string' || typeof id.value === 'number')) {
        problem(`no string or number "${fields.id}" field (--id-field)`);
        continue;
      }
      entry.id = String(id.value);
      const earlier = seenIds.get(entry.id);
      if (earlier !== undefined) {
        problem(`question id "${entry.id}" is already the id of line ${earlier}: votes would mix the two questions`);
        continue;
      }
      seenIds.set(entry.id, source.line);
    }
    questions.push(entry);
  }
  return { questions, problems };
}

/**
 * One line of a QUESTIONS file as a question (its id `line-N`; `--id-field` is applied by
 * readQuestions), or the problem with it. The editor's "Sample candidates for this question" reads
 * a record with this, so it takes the line exactly as `sift sample` does.
 */
export function readQuestionLine(text: string, line: number, fields: QuestionFields = {}): Question | QuestionProblem {
  const read = parseQuestionLine(text, line, fields);
  return 'message' in read ? read : read.entry;
}

function parseQuestionLine(text: string, line: number, fields: QuestionFields): { entry: Question; value: object } | QuestionProblem {
  const questionPath = fields.question ?? 'question';
  const goldPath = fields.gold ?? 'answer';
  const problem = (message: string): QuestionProblem => ({ line, message });
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return problem(`not valid JSON: ${(error as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return problem(`expected a JSON object with a "${questionPath}" field`);
  const question = resolvePath(value, questionPath);
  if (question.kind !== 'found') return problem(`no "${questionPath}" field (set --question-field to the field that holds the question)`);
  if (typeof question.value !== 'string' || question.value.trim() === '') return problem(`"${questionPath}" must be a non-empty string`);
  const entry: Question = { line, id: `line-${line}`, question: question.value };
  const gold = resolvePath(value, goldPath);
  if (gold.kind === 'found' && gold.value !== null) {
    if (typeof gold.value === 'string') entry.gold = gold.value;
    else if (typeof gold.value === 'number' && Number.isFinite(gold.value)) entry.gold = String(gold.value);
    else return problem(`"${goldPath}" must be a string or a number (the reference answer), or null`);
  }
  return { entry, value };
}
