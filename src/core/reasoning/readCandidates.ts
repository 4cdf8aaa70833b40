import { readFileLines } from '../dataset/lines';
import { CandidateFormatError, checkCandidate, type CandidateRecord } from './candidate';

/**
 * Layouts `sift vote`, `select` and `split` read.
 * - `candidates`: the CANDIDATES file (candidate.ts), one candidate per line.
 * - `gsm8k-solutions`: grade-school-math's `example_model_solutions.jsonl`: per line a `question`,
 *   its gold solution `ground_truth` and several model solutions, each a field holding
 *   `{solution, is_correct}` (`6b_finetuning`, `175b_verification`, …). Each solution becomes one
 *   candidate: `question_id` is the line number, `sample_index` the solution's position on the
 *   line, `model` its field name, `gold` the `ground_truth`, `is_correct` kept for comparison.
 * - `qa`: one solution per line as `{question, answer}` (what `sift filter --self-consistent`
 *   reads): lines with the same question text are one question, whose `question_id` is the line it
 *   first appears on; `answer` is the candidate, a string `source` its `model`, a boolean
 *   `is_correct` is kept. There is no gold (give `--gold`).
 */
export const CANDIDATE_INPUTS = ['candidates', 'gsm8k-solutions', 'qa'] as const;
export type CandidateInput = (typeof CANDIDATE_INPUTS)[number];

/** A candidate with where it came from. */
export interface SourcedCandidate {
  record: CandidateRecord;
  /** 1-based line of the input file. */
  line: number;
  /** The line's text when the line is exactly this one candidate (`candidates` and `qa` input): copied as is to outputs. */
  sourceText?: string;
}

export class CandidateFileError extends Error {
  override name = 'CandidateFileError';
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The layout of a parsed line: a `candidate` field means CANDIDATES; a `ground_truth` with solution
 * objects, gsm8k-solutions; `question` and `answer`, qa.
 */
export function detectCandidateInput(value: unknown): CandidateInput | undefined {
  if (!isObject(value)) return undefined;
  if ('candidate' in value) return 'candidates';
  if ('ground_truth' in value && Object.values(value).some((v) => isObject(v) && typeof v.solution === 'string')) return 'gsm8k-solutions';
  if ('question' in value && 'answer' in value) return 'qa';
  return undefined;
}

/** Reads qa lines: remembers each question's id (its first line) and how many solutions it has. */
class QaCandidates {
  private readonly questions = new Map<string, { id: string; count: number }>();

  read(value: unknown, line: number): CandidateRecord {
    if (!isObject(value)) throw new CandidateFormatError('a line must be a JSON object');
    const { question, answer, source, is_correct } = value;
    if (typeof question !== 'string') throw new CandidateFormatError('"question" must be a string');
    if (typeof answer !== 'string') throw new CandidateFormatError('"answer" (the solution) must be a string');
    let entry = this.questions.get(question);
    if (!entry) this.questions.set(question, (entry = { id: String(line), count: 0 }));
    const record: CandidateRecord = { question_id: entry.id, question, candidate: answer, answer: null, sample_index: entry.count++ };
    if (typeof source === 'string') record.model = source;
    if (typeof is_correct === 'boolean') record.is_correct = is_correct;
    return record;
  }
}

/** The candidates of one gsm8k-solutions line. */
export function gsm8kSolutionCandidates(value: unknown, line: number): CandidateRecord[] {
  if (!isObject(value)) throw new CandidateFormatError('a line must be a JSON object');
  const { question, ground_truth: gold } = value;
  if (typeof question !== 'string') throw new CandidateFormatError('"question" must be a string');
  if (typeof gold !== 'string') throw new CandidateFormatError('"ground_truth" must be a string');
  const out: CandidateRecord[] = [];
  for (const [field, solution] of Object.entries(value)) {
    if (!isObject(solution) || !('solution' in solution)) continue;
    if (typeof solution.solution !== 'string') throw new CandidateFormatError(`"${field}.solution" must be a string`);
    if (typeof solution.is_correct !== 'boolean') throw new CandidateFormatError(`"${field}.is_correct" must be true or false`);
    out.push({
      question_id: String(line),
      question,
      candidate: solution.solution,
      answer: null,
      gold,
      sample_index: out.length,
      model: field,
      is_correct: solution.is_correct,
    });
  }
  if (out.length === 0) throw new CandidateFormatError('no model solution on the line (fields holding {"solution", "is_correct"})');
  return out;
}

/**
 * Reads every candidate of a file into memory (a vote needs all the candidates of a question, and
 * a file is not required to keep them together). `input` undefined: detected from the first line.
 * Blank lines are skipped; any other line that cannot be read stops the run with the file, the line
 * and the problem, since a vote over a silently shortened file would be wrong.
 */
export async function readCandidates(path: string, input?: CandidateInput, options: { signal?: AbortSignal } = {}): Promise<{ input: CandidateInput; candidates: SourcedCandidate[] }> {
  const candidates: SourcedCandidate[] = [];
  const qa = new QaCandidates();
  let layout = input;
  for await (const src of readFileLines(path, options)) {
    if (src.text.trim() === '') continue;
    const fail = (message: string): never => {
      throw new CandidateFileError(`${path}:${src.line}: ${message}`);
    };
    if (src.invalidUtf8) fail('the line is not valid UTF-8');
    let value: unknown;
    try {
      value = JSON.parse(src.text);
    } catch (error) {
      fail(`invalid JSON (${(error as Error).message})`);
    }
    if (layout === undefined) {
      layout = detectCandidateInput(value);
      if (layout === undefined) fail('not a candidate: expected a CANDIDATES line ({"question_id", "question", "candidate", …}), a gsm8k-solutions line ({"question", "ground_truth", "<model>": {"solution", "is_correct"}}) or a qa line ({"question", "answer"})');
    }
    try {
      if (layout === 'candidates') candidates.push({ record: checkCandidate(value), line: src.line, sourceText: src.text });
      else if (layout === 'qa') candidates.push({ record: qa.read(value, src.line), line: src.line, sourceText: src.text });
      else for (const record of gsm8kSolutionCandidates(value, src.line)) candidates.push({ record, line: src.line });
    } catch (error) {
      if (error instanceof CandidateFormatError) fail(error.message);
      throw error;
    }
  }
  return { input: layout ?? input ?? 'candidates', candidates };
}

/** Candidates grouped by `question_id`, groups in order of first appearance, candidates in file order within a group. */
export function groupByQuestion<T extends { record: CandidateRecord }>(candidates: readonly T[]): T[][] {
  const groups = new Map<string, T[]>();
  for (const c of candidates) {
    const group = groups.get(c.record.question_id);
    if (group) group.push(c);
    else groups.set(c.record.question_id, [c]);
  }
  return [...groups.values()];
}
