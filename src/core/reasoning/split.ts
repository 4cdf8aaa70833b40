import type { QuestionResult } from './questionVotes';
import type { SourcedCandidate } from './readCandidates';

/** Python's `len` of a string: code points, not UTF-16 units (TDG's length cut counts them). */
export function codePointLength(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    // A high surrogate followed by a low one is one code point.
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
    n++;
  }
  return n;
}

/**
 * TDG's length cut (METHODS §6.1, `dataset.py`): a sample is kept when
 * `len(question + '\n' + generated_answer) < maxLength` (1600 for NAT, 1200 for NCE).
 */
export function withinTdgLength(question: string, candidate: string, maxLength: number): boolean {
  return codePointLength(question) + 1 + codePointLength(candidate) < maxLength;
}

export type SplitSide = 'positive' | 'negative';

export interface SplitCounts {
  positive: number;
  negative: number;
  /** Candidates of questions whose gold answer is missing or unreadable: on neither side. */
  noGold: number;
  /** Candidates dropped by the length cut (counted on no side). */
  tooLong: number;
}

export interface QuestionSplit {
  questionId: string;
  counts: SplitCounts;
  /** Why the question's candidates are on neither side, when they are not. */
  noGoldReason?: string;
}

export interface SplitResult {
  positive: SourcedCandidate[];
  negative: SourcedCandidate[];
  perQuestion: QuestionSplit[];
  totals: SplitCounts;
  /** Questions with at least one candidate on each side (what NAT's pairs and TDG's ranker need). */
  questionsWithBoth: number;
}

/**
 * Positive and negative data against the gold answer, as TDG splits its teacher's solutions
 * (METHODS §6.1): a candidate whose answer matches gold is positive, any other (a wrong or a missing
 * answer) negative. Questions without a readable gold answer are left out and counted. `maxLength`
 * applies TDG's length cut to both sides. Order is the input's question order, then file order.
 */
export function splitByGold(results: readonly QuestionResult[], options: { maxLength?: number } = {}): SplitResult {
  const out: SplitResult = { positive: [], negative: [], perQuestion: [], totals: { positive: 0, negative: 0, noGold: 0, tooLong: 0 }, questionsWithBoth: 0 };
  for (const r of results) {
    const counts: SplitCounts = { positive: 0, negative: 0, noGold: 0, tooLong: 0 };
    const entry: QuestionSplit = { questionId: r.questionId, counts };
    if (r.correct === undefined) {
      counts.noGold = r.candidates.length;
      entry.noGoldReason = r.goldText === undefined ? 'no gold answer given' : 'the gold answer could not be read';
    } else {
      r.candidates.forEach((c, i) => {
        if (options.maxLength !== undefined && !withinTdgLength(c.record.question, c.record.candidate, options.maxLength)) {
          counts.tooLong++;
          return;
        }
        if (r.correct![i]) {
          counts.positive++;
          out.positive.push(c);
        } else {
          counts.negative++;
          out.negative.push(c);
        }
      });
    }
    if (counts.positive > 0 && counts.negative > 0) out.questionsWithBoth++;
    for (const key of ['positive', 'negative', 'noGold', 'tooLong'] as const) out.totals[key] += counts[key];
    out.perQuestion.push(entry);
  }
  return out;
}

/**
 * One question in TDG's data layout (METHODS §6.1): `question`, the gold `answer`, and every
 * candidate in `generated_answer`, which TDG's loaders split themselves. Sift adds `question_id` and
 * the indices of the positive candidates, which TDG's code ignores. TDG's own files also carry
 * "Problem:\n" / "Solution:\n" prefixes; Sift writes the texts as they are.
 */
export function tdgRecord(r: QuestionResult): Record<string, unknown> | undefined {
  if (r.goldText === undefined) return undefined;
  return {
    question_id: r.questionId,
    question: r.question,
    answer: r.goldText,
    generated_answer: r.candidates.map((c) => c.record.candidate),
    positive: r.correct === undefined ? [] : r.correct.flatMap((ok, i) => (ok ? [i] : [])),
  };
}
