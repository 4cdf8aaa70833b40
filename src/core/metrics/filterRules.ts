import { selfConsistency } from './consistency';
import { dsKeepVerdicts, keepBelowVerdicts, topFractionVerdicts, type RuleVerdicts, type TieRule } from './select';
import type { DsRule, MetricName, MetricResult, Score } from './types';

/** The rules of `sift filter` and the editor's Filter command. Fractions are in [0, 1]. */
export interface FilterRules {
  ifdMax?: number;
  rifdMax?: number;
  topFraction?: number;
  dsKeepFraction?: number;
  selfConsistent?: boolean;
  dsRule: DsRule;
  ties: TieRule;
}

export interface FilterCandidate {
  line: number;
  metrics: Partial<Record<MetricName, MetricResult>>;
  /** The instruction (question) and response, for self-consistency. */
  question: string;
  response: string;
}

export interface FilterDecision {
  line: number;
  kept: boolean;
  /** `rule: why`, or 'passed every rule'. */
  reason: string;
}

export interface FilterOutcome {
  keptLines: Set<number>;
  /** 1 where `candidates[i]` is kept. */
  keptAt: Uint8Array;
  /** Dropped records per rule name, in the rules' order. */
  dropped: Record<string, number>;
  /** Of `dropped`, per rule: the records it dropped because they have no value of its metric. */
  droppedNoValue: Record<string, number>;
  /** The decision on `candidates[i]`, its reason worded now. */
  decisionAt(i: number): FilterDecision;
  /** Every decision in line order, every reason worded: for a report (the overview words only the rows it shows). */
  decisions(): FilterDecision[];
}

/** Metrics the rules need. */
export function metricsForRules(rules: FilterRules): MetricName[] {
  const metrics: MetricName[] = [];
  if (rules.ifdMax !== undefined || rules.topFraction !== undefined) metrics.push('ifd');
  if (rules.rifdMax !== undefined) metrics.push('rifd');
  if (rules.dsKeepFraction !== undefined) metrics.push('ds');
  return metrics;
}

export function hasAnyRule(rules: FilterRules): boolean {
  return rules.ifdMax !== undefined || rules.rifdMax !== undefined || rules.topFraction !== undefined || rules.dsKeepFraction !== undefined || rules.selfConsistent === true;
}

/** One rule's pass over the survivors of the rules before it. */
interface Stage {
  rule: string;
  /** Why the survivor at `position` of this stage's input was dropped. */
  why(position: number): string;
}

/**
 * Rules apply in a fixed order, each to the survivors of the one before, as the papers chain them:
 * self-consistency (IWSI's D_c), then thresholds (Cherry and Superfiltering drop IFD >= 1 first; the
 * comparison is strict, `< max` is kept), then the lowest-DS k% (IWSI), then the top k% by IFD
 * (Cherry: k% of the post-threshold count). Candidates must be in dataset order. Reasons are worded
 * only when asked for (`decisionAt`, `decisions`): the rules themselves cost arrays, not strings.
 */
export function applyFilterRules(candidates: readonly FilterCandidate[], rules: FilterRules): FilterOutcome {
  const n = candidates.length;
  /** 0: kept; s: dropped by stages[s - 1], at `positionIn` of that stage's input. */
  const droppedBy = new Uint8Array(n);
  const positionIn = new Int32Array(n);
  const stages: Stage[] = [];
  const dropped: Record<string, number> = {};
  const droppedNoValue: Record<string, number> = {};
  let survivors: number[] = Array.from({ length: n }, (_, i) => i);

  const applyStage = (stage: Stage, kept: (position: number) => boolean, noValue: (position: number) => boolean): void => {
    stages.push(stage);
    const next: number[] = [];
    let count = 0;
    let withoutValue = 0;
    survivors.forEach((i, position) => {
      if (kept(position)) {
        next.push(i);
        return;
      }
      droppedBy[i] = stages.length;
      positionIn[i] = position;
      count++;
      if (noValue(position)) withoutValue++;
    });
    if (count > 0) {
      dropped[stage.rule] = count;
      droppedNoValue[stage.rule] = withoutValue;
    }
    survivors = next;
  };
  const applyVerdicts = (rule: string, verdicts: RuleVerdicts): void =>
    applyStage({ rule, why: (position) => verdicts.reason(position) }, (position) => verdicts.kept[position] === 1, (position) => verdicts.noValue[position] === 1);
  const scoresOf = (metric: MetricName): Score[] => survivors.map((i) => candidates[i].metrics[metric]);

  if (rules.selfConsistent) {
    const results = selfConsistency(survivors.map((i) => ({ question: candidates[i].question, response: candidates[i].response })));
    const why = (position: number): string => {
      const result = results[position];
      return result.answer === null
        ? 'no parsable final answer'
        : `answer ${result.answer} disagrees with the majority ${result.majority ?? '(none)'} (${result.votes} of ${result.candidates} candidates)`;
    };
    applyStage({ rule: 'self-consistency', why }, (position) => results[position].agrees, () => false);
  }
  if (rules.ifdMax !== undefined) applyVerdicts('ifd-max', keepBelowVerdicts(scoresOf('ifd'), rules.ifdMax, { inclusive: false, label: 'IFD' }));
  if (rules.rifdMax !== undefined) applyVerdicts('rifd-max', keepBelowVerdicts(scoresOf('rifd'), rules.rifdMax, { inclusive: false, label: 'r-IFD' }));
  if (rules.dsKeepFraction !== undefined) applyVerdicts('ds-keep', dsKeepVerdicts(scoresOf('ds'), rules.dsKeepFraction, rules.dsRule));
  if (rules.topFraction !== undefined) {
    applyVerdicts('top', topFractionVerdicts(scoresOf('ifd'), rules.topFraction, { order: 'desc', ties: rules.ties, label: 'IFD' }));
  }

  const keptAt = new Uint8Array(n);
  for (const i of survivors) keptAt[i] = 1;
  const decisionAt = (i: number): FilterDecision => {
    const line = candidates[i].line;
    if (droppedBy[i] === 0) return { line, kept: true, reason: 'passed every rule' };
    const stage = stages[droppedBy[i] - 1];
    return { line, kept: false, reason: `${stage.rule}: ${stage.why(positionIn[i])}` };
  };
  return {
    keptLines: new Set(survivors.map((i) => candidates[i].line)),
    keptAt,
    dropped,
    droppedNoValue,
    decisionAt,
    decisions: () => Array.from({ length: n }, (_, i) => decisionAt(i)).sort((a, b) => a.line - b.line),
  };
}
