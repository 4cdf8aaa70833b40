import { selfConsistency } from './consistency';
import { dsKeep, keepBelow, topFraction, type Selection, type TieRule } from './select';
import type { DsRule, MetricName, MetricResult } from './types';

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
  decisions: FilterDecision[];
  /** Dropped records per rule name. */
  dropped: Record<string, number>;
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

/**
 * Rules apply in a fixed order, each to the survivors of the one before, as the papers chain them:
 * self-consistency (IWSI's D_c), then thresholds (Cherry and Superfiltering drop IFD >= 1 first; the
 * comparison is strict, `< max` is kept), then the lowest-DS k% (IWSI), then the top k% by IFD
 * (Cherry: k% of the post-threshold count). Candidates must be in dataset order.
 */
export function applyFilterRules(candidates: readonly FilterCandidate[], rules: FilterRules): FilterOutcome {
  const decisions: FilterDecision[] = [];
  const dropped: Record<string, number> = {};
  let survivors = [...candidates];
  const drop = (candidate: FilterCandidate, rule: string, why: string): void => {
    decisions.push({ line: candidate.line, kept: false, reason: `${rule}: ${why}` });
    dropped[rule] = (dropped[rule] ?? 0) + 1;
  };
  const applySelection = (selection: Selection, rule: string): void => {
    const next: FilterCandidate[] = [];
    selection.decisions.forEach((decision, i) => {
      if (decision.kept) next.push(survivors[i]);
      else drop(survivors[i], rule, decision.reason);
    });
    survivors = next;
  };
  if (rules.selfConsistent) {
    const results = selfConsistency(survivors.map((c) => ({ question: c.question, response: c.response })));
    const next: FilterCandidate[] = [];
    results.forEach((result, i) => {
      if (result.agrees) next.push(survivors[i]);
      else {
        const why = result.answer === null
          ? 'no parsable final answer'
          : `answer ${result.answer} disagrees with the majority ${result.majority ?? '(none)'} (${result.votes} of ${result.candidates} candidates)`;
        drop(survivors[i], 'self-consistency', why);
      }
    });
    survivors = next;
  }
  if (rules.ifdMax !== undefined) applySelection(keepBelow(survivors.map((c) => c.metrics.ifd), rules.ifdMax, { inclusive: false, label: 'IFD' }), 'ifd-max');
  if (rules.rifdMax !== undefined) applySelection(keepBelow(survivors.map((c) => c.metrics.rifd), rules.rifdMax, { inclusive: false, label: 'r-IFD' }), 'rifd-max');
  if (rules.dsKeepFraction !== undefined) applySelection(dsKeep(survivors.map((c) => c.metrics.ds), rules.dsKeepFraction, rules.dsRule), 'ds-keep');
  if (rules.topFraction !== undefined) {
    applySelection(topFraction(survivors.map((c) => c.metrics.ifd), rules.topFraction, { order: 'desc', ties: rules.ties, label: 'IFD' }), 'top');
  }
  for (const c of survivors) decisions.push({ line: c.line, kept: true, reason: 'passed every rule' });
  decisions.sort((a, b) => a.line - b.line);
  return { keptLines: new Set(survivors.map((c) => c.line)), decisions, dropped };
}
