/**
 * Where a candidate stands in its question's vote, for the editor's colours and the overview:
 * `correct` when its answer equals the gold answer; else `majority` when it agrees with its
 * question's majority answer (self-consistency keeps it); else `minority` (a minority answer or no
 * readable answer: self-consistency drops it).
 */
export const CANDIDATE_CLASSES = ['correct', 'majority', 'minority'] as const;
export type CandidateClass = (typeof CANDIDATE_CLASSES)[number];

export function candidateClass(correct: boolean | undefined, agreesWithMajority: boolean): CandidateClass {
  if (correct === true) return 'correct';
  return agreesWithMajority ? 'majority' : 'minority';
}
