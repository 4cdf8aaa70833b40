export interface AnswerOptions {
  /**
   * Reproduce IWSI's `derive_num_from_output` + `int(float(x))` exactly (METHODS §5.3): lowercase,
   * text after the last "the answer is" (the whole text if absent), after the last '=', all commas
   * removed, first unsigned number, rejected past 30 characters, decimals truncated (2.5 -> "2",
   * -5 -> "5"). Only for reproducing their vote counts.
   */
  iwsiCompat?: boolean;
}

// Thousands separators only in groups of three, so "5,6" is 5 (IWSI would read 56).
const NUMBER = /(?:\d{1,3}(?:,\d{3})+(?!\d)|\d+)(?:\.\d+)?/;
const BARE_NUMBER = new RegExp(`^[-\u2212]?\\$?${NUMBER.source}\\.?$`);
const ANSWER_PHRASE = /the answer is/gi;

/** Decimal string without grouping commas, leading zeros, trailing fraction zeros or a "-0". */
function canonical(digits: string, negative: boolean): string {
  const [whole, fraction = ''] = digits.replace(/,/g, '').split('.');
  const int = whole.replace(/^0+(?=\d)/, '');
  const frac = fraction.replace(/0+$/, '');
  const abs = frac === '' ? int : `${int}.${frac}`;
  return negative && /[1-9]/.test(abs) ? `-${abs}` : abs;
}

/**
 * First number in `text`, signed: a '-' (or U+2212) right before it, or before a '$' right before it,
 * is a minus sign unless a letter or digit precedes it ("3-4" is 3, "x-5" is 5).
 */
function firstNumber(text: string): string | null {
  const m = NUMBER.exec(text);
  if (m === null) return null;
  let p = m.index;
  if (text[p - 1] === '$') p--;
  const negative = (text[p - 1] === '-' || text[p - 1] === '\u2212') && !/\w/.test(text[p - 2] ?? '');
  return canonical(m[0], negative);
}

/** The number if `text` is nothing but one number (with an optional sign, '$' and final period). */
function bareNumber(text: string): string | null {
  const t = text.trim();
  return BARE_NUMBER.test(t) ? firstNumber(t) : null;
}

function iwsiAnswer(text: string): string | null {
  let suffix = text.toLowerCase().split('the answer is').pop()!.trim();
  if (suffix.includes('=')) suffix = suffix.split('=').pop()!.trim();
  if (suffix.length === 0) return null;
  const m = /\d+\.?\d*/.exec(suffix.replace(/,/g, ''));
  if (m === null || m[0].length > 30) return null;
  // int(float(x)): truncate the double, then print that double's exact integer value as Python does.
  return BigInt(Math.trunc(Number(m[0]))).toString();
}

/**
 * The final numeric answer of a solution, as a canonical decimal string ("1,000.50" -> "1000.5",
 * "-03" -> "-3"), or null when no answer can be found. Signs are kept. Rules, first match wins:
 * 1. GSM8K gold marker: the last line that starts with `####` and holds only a number ("#### 72").
 *    A `####` line holding anything else (a Markdown heading) is not a marker.
 * 2. The IWSI / self-consistency phrase (METHODS §5.3, §7): after the last "the answer is" (any
 *    case), up to the end of that line (so a continuation such as "Q: ..." is ignored), after the
 *    last '=' in it, the first number.
 * 3. A last non-empty line "A: <number>" (the answer line of grade-school-math's model solutions).
 * 4. A text that is only a number.
 * Nothing else: a text with no marker (e.g. a truncated solution) is unparsable and is left out of
 * the vote (METHODS §7), where IWSI would take the first number after the last '=' anywhere.
 * `iwsiCompat` replaces all of this with IWSI's exact rule.
 */
export function extractNumericAnswer(text: string, options: AnswerOptions = {}): string | null {
  if (options.iwsiCompat) return iwsiAnswer(text);
  const lines = text.split(/\r\n|\n|\r/);
  for (let i = lines.length - 1; i >= 0; i--) {
    if (!lines[i].startsWith('####')) continue;
    const answer = bareNumber(lines[i].slice(4));
    if (answer !== null) return answer;
  }
  let phraseEnd = -1;
  for (const m of text.matchAll(ANSWER_PHRASE)) phraseEnd = m.index + m[0].length;
  if (phraseEnd >= 0) {
    let tail = text.slice(phraseEnd).trimStart().split(/\r\n|\n|\r/)[0];
    const eq = tail.lastIndexOf('=');
    if (eq >= 0) tail = tail.slice(eq + 1);
    return firstNumber(tail);
  }
  const last = lines.filter((line) => line.trim() !== '').pop();
  const answerLine = last === undefined ? null : /^\s*A:(.*)$/.exec(last);
  if (answerLine !== null) return bareNumber(answerLine[1]);
  return bareNumber(text);
}

export interface Vote {
  /** The majority answer, or null when no answer was parsable. */
  answer: string | null;
  /** Votes for the majority answer. */
  count: number;
  /** How many answers took part (non-null). */
  parsed: number;
  /** Per input: does it equal the majority answer. */
  agree: boolean[];
}

/**
 * Plain self-consistency vote (Wang et al., METHODS §7; IWSI §5.3): null answers do not vote; the
 * majority is the answer with the most votes, a tie going to the answer seen first (IWSI's strict `>`
 * over first-seen order); with no parsable answer there is no majority and nothing agrees. Answers
 * compare as strings: canonicalise them first (`extractNumericAnswer` does).
 */
export function majorityVote(answers: readonly (string | null)[]): Vote {
  const counts = new Map<string, number>();
  for (const a of answers) if (a !== null) counts.set(a, (counts.get(a) ?? 0) + 1);
  let answer: string | null = null;
  let count = 0;
  let parsed = 0;
  for (const [a, c] of counts) {
    parsed += c;
    if (c > count) {
      answer = a;
      count = c;
    }
  }
  return { answer, count, parsed, agree: answers.map((a) => a !== null && a === answer) };
}

export interface Candidate {
  question: string;
  response: string;
}

export interface ConsistencyResult {
  /** This candidate's extracted answer (null: unparsable). */
  answer: string | null;
  /** Its question's majority answer (null: no candidate of the question was parsable). */
  majority: string | null;
  /** Does this candidate's answer equal the majority. */
  agrees: boolean;
  /** Votes for the majority, parsable answers and candidates in the question's group. */
  votes: number;
  parsed: number;
  candidates: number;
}

/**
 * Self-consistency over a flat list of candidate solutions: groups them by question (exact string),
 * votes per group, and says per candidate (in input order) whether it agrees with its group's majority.
 */
export function selfConsistency(candidates: readonly Candidate[], options: AnswerOptions = {}): ConsistencyResult[] {
  const answers = candidates.map((c) => extractNumericAnswer(c.response, options));
  const groups = new Map<string, number[]>();
  candidates.forEach((c, i) => {
    const group = groups.get(c.question);
    if (group === undefined) groups.set(c.question, [i]);
    else group.push(i);
  });
  const results: ConsistencyResult[] = new Array<ConsistencyResult>(candidates.length);
  for (const members of groups.values()) {
    const vote = majorityVote(members.map((i) => answers[i]));
    members.forEach((i, j) => {
      results[i] = {
        answer: answers[i],
        majority: vote.answer,
        agrees: vote.agree[j],
        votes: vote.count,
        parsed: vote.parsed,
        candidates: members.length,
      };
    });
  }
  return results;
}
