import type { LineFailure, ReflectionEstimate, ReflectionMode, ReflectionTotals, TeacherUsage } from '../core/reflect';

const n = (x: number): string => x.toLocaleString('en-US');

/** What a run will cost, shown before the teacher is called. */
export function describeEstimate(estimate: ReflectionEstimate, mode: ReflectionMode, model: string, endpoint: string): string {
  const cached = estimate.cachedCalls > 0 ? `, ${n(estimate.cachedCalls)} more answered by the reflection cache` : '';
  return (
    `sift reflect: ${n(estimate.records)} record(s), mode ${mode}: at most ${n(estimate.calls)} teacher call(s) to ${model} at ${endpoint}${cached}\n` +
    `  estimated tokens: ~${n(estimate.promptTokens)} prompt + ~${n(estimate.completionTokens)} completion = ~${n(estimate.totalTokens)} ` +
    `(prompt characters / 4 plus an expected answer; retries not included)`
  );
}

export interface ReflectOutcome {
  mode: ReflectionMode;
  /** Where the output went, as the user should read it. */
  output: string;
  releasedGate: boolean;
  records: number;
  totals: ReflectionTotals;
  failures: readonly LineFailure[];
  teacherUsage: TeacherUsage;
  /** The teacher batches that answered (a `--batch` run). */
  batchIds?: readonly string[];
}

/** The run's summary for stdout. */
export function reflectSummary(outcome: ReflectOutcome): string {
  const { totals, teacherUsage: usage } = outcome;
  const out = [
    `reflected ${outcome.records} record(s) (${outcome.mode}) -> ${outcome.output}`,
    `  rewritten: ${totals.changed} (instruction stage kept ${totals.instructionKept}, response stage kept ${totals.responseKept})`,
    `  kept original: ${totals.unchanged}`,
  ];
  if (outcome.releasedGate) out.push(`  dropped by the released rule: ${totals.dropped}`);
  if (totals.fallbacks > 0) out.push(`  teacher output fell back to the original text: ${totals.fallbacks} field(s) (see the report)`);
  if (outcome.failures.length > 0) out.push(`  failed: ${outcome.failures.length}`);
  const through = outcome.batchIds ? ` through teacher batch(es) ${outcome.batchIds.join(', ') || '(none: every answer was there already)'}` : '';
  out.push(
    `  teacher: ${usage.calls} call(s)${through}, ${n(usage.promptTokens)} prompt + ${n(usage.completionTokens)} completion tokens, ${totals.cachedReflections} reflection(s) from the cache`,
  );
  return out.join('\n');
}
