/**
 * The overview view's logic, free of the DOM: number formats, the sentences screen readers get for
 * the counts and each chart, the bins as table rows, and the tables' sorting. overview.ts turns
 * these into elements; the unit tests run this file in Node.
 */
import { decisiveDigits } from '../src/core/metrics/decisiveDigits';
import type { CandidatesOverview, Histogram, MetricName, OverviewCounts, OverviewResult, OverviewRow } from '../src/protocol/overview';

export const METRIC_LABELS: Record<MetricName, string> = { ifd: 'IFD', rifd: 'r-IFD', ds: 'DS' };

/** What each metric means and which end the selections prefer, in words (the legend). */
export const METRIC_MEANINGS: Record<MetricName, string> = {
  ifd: 'IFD = loss of the response with the instruction ÷ without it. At or above 1 the instruction does not help the student (a misaligned pair): dropped by "IFD below". Below 1, higher is a harder, more informative pair: "top %" keeps the highest.',
  rifd: 'r-IFD = how much the response helps predict the instruction. Lower is better; at or above 1 the response does not help.',
  ds: 'DS weight = how far a record is from the valid set. Lower is closer; "lowest-DS %" keeps the closest.',
};

const count = new Intl.NumberFormat('en-US');

export function formatCount(n: number): string {
  return count.format(n);
}

/** Three significant digits, more where they decide the rule the value is compared with (core's `decisiveDigits`: 1.0011 is not "1"). */
export function formatValue(v: number | null | undefined, near?: number): string {
  if (typeof v !== 'number' || !Number.isFinite(v)) return '—';
  return decisiveDigits(v, near, { significant: 3 });
}

/** `1 record`, `3 records`. */
export function counted(n: number, noun: string): string {
  return `${formatCount(n)} ${noun}${n === 1 ? '' : 's'}`;
}

export function formatShare(part: number, whole: number): string {
  if (whole === 0) return '0%';
  return `${String(Number(((100 * part) / whole).toPrecision(3)))}%`;
}

/** The counts in one sentence (the status line a screen reader announces). */
export function countsSentence(c: OverviewCounts, scoring: boolean): string {
  const parts = [`Kept ${formatCount(c.kept)} of ${formatCount(c.scored)} scored records (${formatShare(c.kept, c.scored)})`, `dropped ${formatCount(c.dropped)}`];
  if (c.unscored > 0) parts.push(`${formatCount(c.unscored)} not scored yet${scoring ? ' (scoring)' : ''}`);
  if (c.invalid > 0) parts.push(`${counted(c.invalid, 'invalid line')}`);
  return `${parts.join(', ')}; ${counted(c.records, 'record')} in the file.`;
}

/** What the rule names in `dropped` mean. */
export const RULE_LABELS: Record<string, string> = {
  'self-consistency': 'self-consistency (answer disagrees with the majority)',
  'ifd-max': 'IFD at or above the maximum',
  'rifd-max': 'r-IFD at or above the maximum',
  'ds-keep': 'not in the lowest-DS share',
  top: 'not in the top share by IFD',
  invalid: 'cannot be scored (bad JSON, not a record, or an empty response)',
};

export interface BinRow {
  from: number;
  to: number;
  total: number;
  kept: number;
}

export function binRows(h: Histogram): BinRow[] {
  return h.total.map((total, i) => ({ from: h.lo + i * h.width, to: h.lo + (i + 1) * h.width, total, kept: h.kept[i] }));
}

/** A histogram in one sentence, for the chart's label. */
export function histogramSentence(h: Histogram): string {
  const label = METRIC_LABELS[h.metric];
  const kept = h.kept.reduce((a, b) => a + b, 0);
  const peak = h.total.indexOf(Math.max(...h.total));
  const rows = binRows(h);
  const outside = h.below + h.above > 0 ? ` ${formatCount(h.below + h.above)} values outside the range are counted in the edge bins.` : '';
  return `${label} histogram of ${counted(h.values, 'record')}, from ${formatValue(h.min)} to ${formatValue(h.max)}; ${formatCount(kept)} kept. Most records are between ${formatValue(rows[peak].from)} and ${formatValue(rows[peak].to)}.${outside}`;
}

export type SortKey = 'line' | MetricName | 'kept';

export interface SortState {
  key: SortKey;
  descending: boolean;
}

/** The table's rows in the chosen order (records without the value last), stable by line. */
export function sortRows(rows: readonly OverviewRow[], sort: SortState): OverviewRow[] {
  const value = (r: OverviewRow): number | null => (sort.key === 'line' ? r.line : sort.key === 'kept' ? (r.kept ? 1 : 0) : (r.values[sort.key] ?? null));
  return [...rows].sort((a, b) => {
    const va = value(a);
    const vb = value(b);
    if (va === null || vb === null) return va === vb ? a.line - b.line : va === null ? 1 : -1;
    return (sort.descending ? vb - va : va - vb) || a.line - b.line;
  });
}

/** The metrics to show columns for: those the settings compute or that have values. */
export function shownMetrics(result: OverviewResult): MetricName[] {
  const withValues = new Set(result.histograms.map((h) => h.metric));
  return (['ifd', 'rifd', 'ds'] as MetricName[]).filter((m) => result.metrics.includes(m) || withValues.has(m));
}

/** The agreement distribution in one sentence, for the chart's label and screen readers. */
export function agreementSentence(c: CandidatesOverview): string {
  const unanimous = c.agreement.total[c.agreement.total.length - 1];
  const half = c.agreement.total.slice(0, Math.floor(c.agreement.total.length / 2) + 1).reduce((a, b) => a + b, 0);
  const none = c.noAnswer > 0 ? ` ${counted(c.noAnswer, 'question')} without any readable answer ${c.noAnswer === 1 ? 'has' : 'have'} no agreement.` : '';
  return `Agreement of ${counted(c.questions - c.noAnswer, 'question')} (the majority answer's share of its readable answers): ${formatCount(unanimous)} at 90% or more, ${formatCount(half)} at 50% or less.${none}`;
}

/** The candidates by class and the majority vote against gold, in one sentence. */
export function candidatesSentence(c: CandidatesOverview): string {
  const gold = c.withGold > 0 ? ` Against gold: the majority answer is correct on ${formatCount(c.majorityCorrect)} of ${counted(c.withGold, 'question')} (${formatShare(c.majorityCorrect, c.withGold)}).` : ' No gold answers: nothing is known correct.';
  return `${counted(c.candidates, 'candidate')} of ${counted(c.questions, 'question')}: ${formatCount(c.classes.correct)} correct, ${formatCount(c.classes.majority)} more agree with their majority, ${formatCount(c.classes.minority)} do not.${gold}`;
}
