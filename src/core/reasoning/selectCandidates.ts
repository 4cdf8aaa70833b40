import { dsKeep } from '../metrics/select';
import { formatNumber, formatPercent, scoreValue } from '../metrics/scores';
import type { DsRule, Score } from '../metrics/types';
import type { QuestionResult } from './questionVotes';
import type { SourcedCandidate } from './readCandidates';

/**
 * The selection rules of IWSI and its baselines (METHODS §5.1, §5.3; IWSI Table 1):
 * - `majority` (LMSI): every candidate whose answer is its question's majority answer (D_c);
 * - `entropy` (Entropy-filter): the same, only for questions whose normalised answer entropy is at
 *   most `entropyMax` (`filter_data.py` mode "Entropy");
 * - `iwsi`: D_c, then the `keep` share with the lowest DS weight over all of D_c (Eq. 5).
 */
export const SELECT_RULES = ['iwsi', 'majority', 'entropy'] as const;
export type SelectRule = (typeof SELECT_RULES)[number];

export interface SelectOptions {
  /** `entropy`: the largest normalised entropy kept (IWSI's u*). */
  entropyMax?: number;
  /** `iwsi`: share of D_c kept, in [0, 1] (the paper's k = 80%). */
  keep?: number;
  dsRule?: DsRule;
  /** `iwsi`: a candidate's DS weight (a MetricResult with a reason when it has none). */
  dsOf?: (candidate: SourcedCandidate) => Score;
}

export interface CandidateDecision {
  candidate: SourcedCandidate;
  questionId: string;
  kept: boolean;
  /** Why, in words a report can show as is. */
  reason: string;
  /** Does its answer match gold (undefined without gold). */
  correct?: boolean;
  /** `iwsi`: the DS weight the rule ranked it by (null: none), for majority candidates. */
  ds?: number | null;
}

export interface RuleOutcome {
  rule: SelectRule;
  decisions: CandidateDecision[];
  kept: number;
  /** Questions with at least one kept candidate. */
  questionsKept: number;
  /** Kept candidates with a gold answer, and how many of them match it (the selection's precision). */
  keptWithGold: number;
  keptCorrect: number;
  /** The DS cutoff the `iwsi` rule applied. */
  threshold?: number;
}

function disagreement(r: QuestionResult, i: number): string {
  const answer = r.answers[i];
  if (answer === null) return 'no readable final answer';
  if (r.vote.majority === null) return 'no majority';
  return `answer ${answer.text} is not the majority ${r.vote.majority.text} (${r.vote.majorityCount} of ${r.vote.parsed})`;
}

/** Applies one rule to every question's candidates; decisions in question order, then file order. */
export function selectCandidates(results: readonly QuestionResult[], rule: SelectRule, options: SelectOptions = {}): RuleOutcome {
  const decisions: CandidateDecision[] = [];
  const majority: CandidateDecision[] = [];
  for (const r of results) {
    const h = r.vote.normalizedEntropy;
    r.candidates.forEach((candidate, i) => {
      const decision: CandidateDecision = { candidate, questionId: r.questionId, kept: false, reason: '' };
      if (r.correct) decision.correct = r.correct[i];
      decisions.push(decision);
      if (!r.vote.agrees[i]) {
        decision.reason = `self-consistency: ${disagreement(r, i)}`;
        return;
      }
      if (rule === 'entropy') {
        const max = options.entropyMax;
        if (max === undefined) throw new RangeError('the entropy rule needs entropyMax');
        if (h === null) {
          decision.reason = `entropy: fewer than 2 readable answers (${r.vote.parsed}), so no normalised entropy (IWSI drops such a question)`;
          return;
        }
        decision.kept = h <= max;
        decision.reason = `entropy: normalised entropy ${formatNumber(h, max)} ${decision.kept ? '<=' : '>'} ${formatNumber(max)}`;
        return;
      }
      decision.kept = true;
      decision.reason = `majority answer ${r.vote.majority!.text} (${r.vote.majorityCount} of ${r.vote.parsed})`;
      majority.push(decision);
    });
  }
  let threshold: number | undefined;
  if (rule === 'iwsi') {
    const keep = options.keep ?? 0.8;
    const dsOf = options.dsOf;
    if (!dsOf) throw new RangeError('the iwsi rule needs DS weights');
    const values = majority.map((d) => dsOf(d.candidate));
    const selection = dsKeep(values, keep, options.dsRule ?? 'paper');
    threshold = selection.threshold;
    selection.decisions.forEach((s, i) => {
      majority[i].kept = s.kept;
      majority[i].ds = scoreValue(values[i]);
      majority[i].reason = `DS (lowest ${formatPercent(keep)} of the ${majority.length} majority candidates): ${s.reason}`;
    });
  }
  const kept = decisions.filter((d) => d.kept);
  const outcome: RuleOutcome = {
    rule,
    decisions,
    kept: kept.length,
    questionsKept: new Set(kept.map((d) => d.questionId)).size,
    keptWithGold: kept.filter((d) => d.correct !== undefined).length,
    keptCorrect: kept.filter((d) => d.correct === true).length,
  };
  if (threshold !== undefined) outcome.threshold = threshold;
  return outcome;
}
