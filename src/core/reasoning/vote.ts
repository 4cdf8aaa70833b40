import { majorityVote } from '../metrics/consistency';
import type { Answer } from './answers';

/** One distinct answer of a question. */
export interface AnswerTally {
  answer: Answer;
  count: number;
  /** count / parsed answers. */
  share: number;
}

/** The plain self-consistency vote of one question (METHODS §5.3, §7). */
export interface QuestionVote {
  /** The majority answer; null when no candidate had a readable answer. */
  majority: Answer | null;
  majorityCount: number;
  /** Candidates with a readable answer (only they vote). */
  parsed: number;
  candidates: number;
  /** majorityCount / parsed: the share of readable answers the majority holds; null with none. */
  agreement: number | null;
  /**
   * Entropy (nats) of the distribution of readable answers, -Σ p ln p with p = count / parsed;
   * null with none. 0 when they all agree.
   */
  entropy: number | null;
  /**
   * entropy / ln(parsed), as IWSI's Entropy-filter code divides it (`filter_data.py`: `max_en =
   * log(total)` over parsed answers; the paper writes ln m over all candidates). Null when fewer than
   * two answers were readable: the code's `max_en == 0` drops such a question.
   */
  normalizedEntropy: number | null;
  /** Distinct answers in first-seen order. */
  tally: AnswerTally[];
  /** Answers that share the top count with the majority (the majority first); more than one is a tie. */
  tied: Answer[];
  /** Per candidate, in input order: does its answer equal the majority. */
  agrees: boolean[];
}

/**
 * Votes on the answers of one question's candidates. Unreadable answers (null) do not vote
 * (METHODS §7). The majority is the answer with the most votes; a tie goes to the answer seen first
 * (IWSI's strict `>` over first-seen order, consistency.ts `majorityVote`), and `tied` lists every
 * answer in the tie, since TDG's evaluation instead splits the credit among them.
 */
export function voteOnAnswers(answers: readonly (Answer | null)[]): QuestionVote {
  const keys = answers.map((a) => a?.key ?? null);
  const vote = majorityVote(keys);
  const byKey = new Map<string, { answer: Answer; count: number }>();
  for (const a of answers) {
    if (a === null) continue;
    const entry = byKey.get(a.key);
    if (entry) entry.count++;
    else byKey.set(a.key, { answer: a, count: 1 });
  }
  const parsed = vote.parsed;
  const tally = [...byKey.values()].map(({ answer, count }) => ({ answer, count, share: count / parsed }));
  let entropy: number | null = null;
  if (parsed > 0) {
    entropy = 0;
    for (const { share } of tally) entropy -= share * Math.log(share);
  }
  const majority = vote.answer === null ? null : byKey.get(vote.answer)!.answer;
  return {
    majority,
    majorityCount: vote.count,
    parsed,
    candidates: answers.length,
    agreement: parsed > 0 ? vote.count / parsed : null,
    entropy,
    normalizedEntropy: entropy !== null && parsed >= 2 ? entropy / Math.log(parsed) : null,
    tally,
    tied: tally.filter((t) => t.count === vote.count && vote.count > 0).map((t) => t.answer),
    agrees: vote.agree,
  };
}

/**
 * How a candidate's score s ∈ (0, 1] enters a weighted vote, as TDG's `ASC.py` aggregations
 * (METHODS §6.4): `s` is V(a) = Σ s_i (flag 3, the pure score-weighted vote), `1+s` is Σ (1 + s_i)
 * (flag 2), `1+2s` is Σ (1 + 2 s_i) (flag 1). Which one the paper calls ASC is not known.
 */
export const WEIGHT_FORMS = ['s', '1+s', '1+2s'] as const;
export type WeightForm = (typeof WEIGHT_FORMS)[number];

export interface WeightedVote {
  /** The answer with the largest total; null when no candidate had a readable answer. */
  answer: Answer | null;
  /** Its total weight. */
  total: number;
  /** Total weight per distinct answer, first-seen order. */
  totals: { answer: Answer; total: number }[];
  /** Answers whose total equals the winner's (the winner first). */
  tied: Answer[];
  /** The scores the vote used per candidate, after missing ones were filled. */
  scores: number[];
  /** How many candidates had no score and got the question's mean score (or 1). */
  filled: number;
}

function formWeight(s: number, form: WeightForm): number {
  switch (form) {
    case 's':
      return s;
    case '1+s':
      return 1 + s;
    case '1+2s':
      return 1 + 2 * s;
  }
}

/**
 * A score-weighted vote in the spirit of TDG's ranker-weighted self-consistency (METHODS §6.4), with
 * a score Sift computes instead of TDG's trained ranker. A missing score (null or not finite) is
 * replaced by the mean of the question's other scores, or 1 when none has one, as `Test.py` does.
 * Unreadable answers do not vote; ties go to the answer seen first.
 */
export function weightedVote(answers: readonly (Answer | null)[], scores: readonly (number | null)[], form: WeightForm = 's'): WeightedVote {
  if (scores.length !== answers.length) throw new RangeError(`${scores.length} scores for ${answers.length} answers`);
  const known = scores.filter((s): s is number => s !== null && Number.isFinite(s));
  const fill = known.length > 0 ? known.reduce((a, b) => a + b, 0) / known.length : 1;
  const used = scores.map((s) => (s !== null && Number.isFinite(s) ? s : fill));
  const totals = new Map<string, { answer: Answer; total: number }>();
  answers.forEach((a, i) => {
    if (a === null) return;
    const entry = totals.get(a.key);
    const w = formWeight(used[i], form);
    if (entry) entry.total += w;
    else totals.set(a.key, { answer: a, total: w });
  });
  let best: { answer: Answer; total: number } | null = null;
  for (const entry of totals.values()) if (best === null || entry.total > best.total) best = entry;
  const list = [...totals.values()];
  return {
    answer: best?.answer ?? null,
    total: best?.total ?? 0,
    totals: list,
    tied: best === null ? [] : list.filter((t) => t.total === best.total).map((t) => t.answer),
    scores: used,
    filled: scores.length - known.length,
  };
}
