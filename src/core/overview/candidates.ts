import { candidateClass, CANDIDATE_CLASSES, type CandidateClass } from '../reasoning/candidateClass';
import type { CandidatesOverview } from './types';

/** What the overview needs of one question's vote (core's `QuestionResult` has it). */
export interface VotedQuestion {
  /** The majority's share of the readable answers; null when none is readable. */
  agreement: number | null;
  /** Per candidate: does it agree with the majority. */
  agrees: readonly boolean[];
  /** Per candidate: does it match the gold answer (absent without a readable gold). */
  correct?: readonly boolean[];
  majorityCorrect?: boolean;
}

/** Agreement bins: tenths of [0, 1]. An agreement of exactly 1 (unanimous) is in the last bin. */
export const AGREEMENT_BINS = 10;

/** The agreement distribution of a CANDIDATES file and its candidates by class. */
export function candidatesOverview(questions: readonly VotedQuestion[], bins = AGREEMENT_BINS): CandidatesOverview {
  const total = new Array<number>(bins).fill(0);
  const classes = Object.fromEntries(CANDIDATE_CLASSES.map((c) => [c, 0])) as Record<CandidateClass, number>;
  let candidates = 0;
  let noAnswer = 0;
  let withGold = 0;
  let majorityCorrect = 0;
  for (const q of questions) {
    candidates += q.agrees.length;
    q.agrees.forEach((agrees, i) => classes[candidateClass(q.correct?.[i], agrees)]++);
    if (q.correct !== undefined) {
      withGold++;
      if (q.majorityCorrect === true) majorityCorrect++;
    }
    if (q.agreement === null) {
      noAnswer++;
      continue;
    }
    total[Math.min(bins - 1, Math.floor(q.agreement * bins))]++;
  }
  return { questions: questions.length, candidates, noAnswer, agreement: { lo: 0, width: 1 / bins, total }, classes, withGold, majorityCorrect };
}
