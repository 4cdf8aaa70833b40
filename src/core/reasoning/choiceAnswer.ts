/** Multiple-choice final answers (A–E), as a capital letter. */

const PHRASE = /the answer is|answer:/gi;
const PARENTHESISED = /\(([a-eA-E])\)/;
// A capital standing alone ("B", "B.", "B)"), not the first letter of a word or "A's".
const BARE_LETTER = /(?:^|[^\w(])([A-E])(?![\w'\u2019])/;
// A whole text that is an option: "(b) 12 apples", "b) 12 apples", or a lone capital "B" / "B.".
const WHOLE = /^\s*(?:\(([A-Ea-e])\)|([A-Ea-e])\)|([A-E])[.:]?\s*$)/;

/**
 * IWSI's `derive_choice_from_output` (METHODS §5.3): lowercase, the text after the last "the answer
 * is" (the whole text if absent), after the last '=' in it, commas removed, the first `(x)` of any
 * letter, uppercased.
 */
function iwsiChoice(text: string): string | null {
  let suffix = text.toLowerCase().split('the answer is').pop()!.trim();
  if (suffix.includes('=')) suffix = suffix.split('=').pop()!.trim();
  if (suffix.length === 0) return null;
  const m = /\(([a-z])\)/.exec(suffix.replaceAll(',', ''));
  return m === null ? null : m[1].toUpperCase();
}

/**
 * The chosen option of a solution, "A" to "E", or null. Rules, first match wins:
 * 1. After the last "the answer is" or "answer:" (any case), up to the end of that line: the first
 *    letter in parentheses ("(b)", "(B)"), else the first capital A–E standing alone ("B.", "B)").
 * 2. A text that is an option: "(b) 12 apples", "b) 12 apples", or only "B" / "B.".
 * Nothing else: "A" starting a sentence elsewhere is an article, not an answer.
 * `iwsiCompat` replaces this with IWSI's exact rule (any letter in parentheses, no bare letters,
 * and the whole text searched when the phrase is missing).
 */
export function extractChoiceAnswer(text: string, options: { iwsiCompat?: boolean } = {}): string | null {
  if (options.iwsiCompat) return iwsiChoice(text);
  let phraseEnd = -1;
  for (const m of text.matchAll(PHRASE)) phraseEnd = m.index + m[0].length;
  if (phraseEnd >= 0) {
    const tail = text.slice(phraseEnd).trimStart().split(/\r\n|\n|\r/)[0];
    const m = PARENTHESISED.exec(tail) ?? BARE_LETTER.exec(tail);
    return m === null ? null : m[1].toUpperCase();
  }
  const whole = WHOLE.exec(text);
  return whole === null ? null : (whole[1] ?? whole[2] ?? whole[3]).toUpperCase();
}
