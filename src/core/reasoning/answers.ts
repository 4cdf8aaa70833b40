import { extractNumericAnswer } from '../metrics/consistency';
import { extractChoiceAnswer } from './choiceAnswer';
import { boxedAnswer, lastBoxedOnlyString, mathAnswerKey, removeBoxed } from './mathAnswer';

import type { AnswerFormat } from './answerFormats';

export { ANSWER_FORMATS, type AnswerFormat } from './answerFormats';

export interface AnswerReading {
  format: AnswerFormat;
  /**
   * Reproduce the papers' code where it differs from Sift's reading: IWSI's `derive_num_from_output`
   * + `int(float(x))` (numeric) and `derive_choice_from_output` (choice); TDG's `remove_boxed(
   * last_boxed_only_string(x))` with `is_equiv`'s "two missing answers are equal" (math).
   */
  compat?: boolean;
}

/** A final answer: `text` as shown, `key` what votes and gold comparisons compare. */
export interface Answer {
  text: string;
  key: string;
}

function answer(text: string | null, key: (text: string) => string = (t) => t): Answer | null {
  return text === null ? null : { text, key: key(text) };
}

/** A candidate solution's final answer, or null when none can be read (it then takes no part in the vote). */
export function readAnswer(solution: string, reading: AnswerReading, fieldAnswer?: string | null): Answer | null {
  switch (reading.format) {
    case 'numeric':
      return answer(extractNumericAnswer(solution, { iwsiCompat: reading.compat }));
    case 'choice':
      return answer(extractChoiceAnswer(solution, { iwsiCompat: reading.compat }));
    case 'math':
      return answer(reading.compat ? removeBoxed(lastBoxedOnlyString(solution)) : boxedAnswer(solution), mathAnswerKey);
    case 'field':
      return answer(fieldAnswer ?? null);
  }
}

/**
 * The reference answer from a gold solution or a bare gold answer. Sift reads it like a candidate,
 * and where that finds nothing takes the whole trimmed text as the answer (a gold file often holds
 * just "18", "B" or "\frac{1}{2}"). Compat mode follows the papers: numeric gold is truncated like the
 * candidates (`int(float(ground))` in IWSI's ground-truth mode), choice gold is the text itself
 * uppercased (IWSI compares `x["correct"]`), math gold is `remove_boxed(last_boxed_only_string(…))`.
 */
export function readGoldAnswer(gold: string, reading: AnswerReading): Answer | null {
  const trimmed = gold.trim();
  switch (reading.format) {
    case 'numeric': {
      const value = extractNumericAnswer(gold);
      // A number past the double range has no int(float(x)) (Python raises): keep it as written.
      if (!reading.compat || value === null || !Number.isFinite(Number(value))) return answer(value);
      return answer(BigInt(Math.trunc(Number(value))).toString());
    }
    case 'choice':
      if (reading.compat) return trimmed === '' ? null : answer(trimmed.toUpperCase());
      return answer(extractChoiceAnswer(gold) ?? (/^[A-Ea-e]$/.test(trimmed) ? trimmed.toUpperCase() : null));
    case 'math':
      if (reading.compat) return answer(removeBoxed(lastBoxedOnlyString(gold)), mathAnswerKey);
      return answer(boxedAnswer(gold) ?? (trimmed === '' ? null : trimmed), mathAnswerKey);
    case 'field':
      return trimmed === '' ? null : answer(trimmed);
  }
}

/**
 * Does a candidate's answer match the gold answer. A missing candidate answer never matches, except
 * in math compat mode, where TDG's `is_equiv(None, None)` is true.
 */
export function matchesGold(candidate: Answer | null, gold: Answer | null, reading: AnswerReading): boolean {
  if (candidate === null || gold === null) return reading.format === 'math' && reading.compat === true && candidate === null && gold === null;
  return candidate.key === gold.key;
}
