/**
 * The CANDIDATES file: one sampled solution per line, the shared layout of `sift sample` (which
 * writes it) and `sift vote`, `sift select`, `sift split` (which read it). docs/reasoning.md is the
 * user-facing description; this file is the one definition of the fields and their checks.
 */

/** How a candidate was sampled, so a run can be repeated and two runs compared. */
export interface SamplingParams {
  temperature: number;
  top_p: number;
  /** The seed of this sample's request; null when the backend was given none (not reproducible). */
  seed: number | null;
  max_tokens: number;
  /** Samples drawn per question in this run (IWSI m = 15, TDG 8 or 16). */
  k: number;
  /** The exact prompt text the model continued (few-shot prefix and the question included). */
  prompt: string;
}

export interface CandidateRecord {
  /** Groups the candidates of one question; votes are per question_id. */
  question_id: string;
  question: string;
  /** The model's solution text. */
  candidate: string;
  /** The final answer extracted by whoever wrote the file (null: none found). Sift re-extracts from `candidate` unless told to use this field. */
  answer: string | null;
  /** The reference solution or answer, when known (the split against gold needs it). */
  gold?: string;
  /** 0-based position of this sample among its question's samples. */
  sample_index: number;
  /** Written by `sift sample`; absent in candidates adapted from other sources. */
  sampling?: SamplingParams;
  /** Identity of the model that wrote the candidate (file name and hash, or served model name). */
  model?: string;
  /** Why generation ended, as `sift sample` writes it: `stop`, or `length` (cut at `max_tokens`). */
  finish_reason?: string;
  /** A correctness label the source data already carried (grade-school-math's `is_correct`); only compared with, never used to split. */
  is_correct?: boolean;
}

/** A check failure on one line: the caller prefixes the file and line. */
export class CandidateFormatError extends Error {
  override name = 'CandidateFormatError';
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function requireString(record: Record<string, unknown>, field: string): string {
  const value = record[field];
  if (typeof value !== 'string') throw new CandidateFormatError(`"${field}" must be a string (got ${describe(value)})`);
  return value;
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing: the field is missing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'string' ? `a string "${value.length > 40 ? value.slice(0, 40) + '…' : value}"` : `${typeof value} ${JSON.stringify(value)}`;
}

function checkSampling(value: unknown): SamplingParams {
  if (!isObject(value)) throw new CandidateFormatError(`"sampling" must be an object (got ${describe(value)})`);
  const number = (field: string): number => {
    const v = value[field];
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new CandidateFormatError(`"sampling.${field}" must be a number (got ${describe(v)})`);
    return v;
  };
  const seed = value.seed;
  if (seed !== null && (typeof seed !== 'number' || !Number.isInteger(seed))) throw new CandidateFormatError(`"sampling.seed" must be an integer or null (got ${describe(seed)})`);
  const prompt = value.prompt;
  if (typeof prompt !== 'string') throw new CandidateFormatError(`"sampling.prompt" must be a string (got ${describe(prompt)})`);
  return { temperature: number('temperature'), top_p: number('top_p'), seed, max_tokens: number('max_tokens'), k: number('k'), prompt };
}

/**
 * Checks one parsed line of a CANDIDATES file and returns it typed. Unknown extra fields are allowed
 * (and dropped from the returned value); a wrong type in a known field is an error naming the field.
 */
export function checkCandidate(value: unknown): CandidateRecord {
  if (!isObject(value)) throw new CandidateFormatError(`a candidate must be a JSON object (got ${describe(value)})`);
  const question_id = requireString(value, 'question_id');
  const question = requireString(value, 'question');
  const candidate = requireString(value, 'candidate');
  const answer = value.answer;
  if (answer !== null && typeof answer !== 'string') throw new CandidateFormatError(`"answer" must be a string or null (got ${describe(answer)})`);
  const index = value.sample_index;
  if (typeof index !== 'number' || !Number.isInteger(index) || index < 0) throw new CandidateFormatError(`"sample_index" must be an integer >= 0 (got ${describe(index)})`);
  const record: CandidateRecord = { question_id, question, candidate, answer, sample_index: index };
  if (value.gold !== undefined) record.gold = requireString(value, 'gold');
  if (value.sampling !== undefined) record.sampling = checkSampling(value.sampling);
  if (value.model !== undefined) record.model = requireString(value, 'model');
  if (value.finish_reason !== undefined) record.finish_reason = requireString(value, 'finish_reason');
  if (value.is_correct !== undefined) {
    if (typeof value.is_correct !== 'boolean') throw new CandidateFormatError(`"is_correct" must be true or false (got ${describe(value.is_correct)})`);
    record.is_correct = value.is_correct;
  }
  return record;
}

/** One CANDIDATES line as `sift sample` writes it: fields in the documented order. */
export function formatCandidate(record: CandidateRecord): string {
  const ordered: Record<string, unknown> = {
    question_id: record.question_id,
    question: record.question,
    candidate: record.candidate,
    answer: record.answer,
  };
  if (record.gold !== undefined) ordered.gold = record.gold;
  ordered.sample_index = record.sample_index;
  if (record.sampling !== undefined) ordered.sampling = record.sampling;
  if (record.model !== undefined) ordered.model = record.model;
  if (record.finish_reason !== undefined) ordered.finish_reason = record.finish_reason;
  if (record.is_correct !== undefined) ordered.is_correct = record.is_correct;
  return JSON.stringify(ordered);
}
