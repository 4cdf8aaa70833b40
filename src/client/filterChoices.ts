import { parseShare } from '../core/metrics/share';
import type { FilterOptions, FilterResult } from '../protocol';

/** The rules the Filter File command offers, in the order the server applies them. */
export type FilterRuleId = 'selfConsistent' | 'ifdMax' | 'rifdMax' | 'dsKeep' | 'top';

export interface FilterRuleChoice {
  id: FilterRuleId;
  label: string;
  detail: string;
  /** The question asked for the rule's value; absent for rules without one. */
  prompt?: string;
  /** Pre-filled answer. */
  defaultValue?: string;
  picked?: boolean;
}

export const FILTER_RULES: readonly FilterRuleChoice[] = [
  {
    id: 'ifdMax',
    label: 'Drop records with IFD ≥ threshold',
    detail: 'IFD ≥ 1: the instruction does not help the student predict the response (Cherry, Superfiltering).',
    prompt: 'Drop records whose IFD is at or above',
    defaultValue: '1',
    picked: true,
  },
  {
    id: 'top',
    label: 'Keep the top k% by IFD',
    detail: 'Of the records left, keep the k% with the highest IFD (Cherry LLM).',
    prompt: 'Keep this share of records, highest IFD first (e.g. 10% or 0.1)',
    defaultValue: '10%',
  },
  {
    id: 'dsKeep',
    label: 'Keep the lowest-DS k%',
    detail: 'Keep the k% with the lowest DS weight; needs a DS valid set (sift.dsValidSet).',
    prompt: 'Keep this share of records, lowest DS weight first (e.g. 80% or 0.8)',
    defaultValue: '80%',
  },
  {
    id: 'selfConsistent',
    label: 'Keep self-consistent answers',
    detail: "Drop candidate answers that disagree with the majority answer to the same question.",
  },
  {
    id: 'rifdMax',
    label: 'Drop records with r-IFD ≥ threshold',
    detail: 'Drop records whose response does not make the instruction more predictable.',
    prompt: 'Drop records whose r-IFD is at or above',
    defaultValue: '1',
  },
];

/** A threshold: any finite number. Returns the number or an error message. */
export function parseThreshold(text: string): number | string {
  const trimmed = text.trim();
  if (!trimmed) return 'Enter a number, e.g. 1';
  const value = Number(trimmed);
  return Number.isFinite(value) ? value : `"${trimmed}" is not a number`;
}

/** Validates the answer for a rule: undefined when valid, else the message to show. */
export function validateAnswer(rule: FilterRuleId, text: string): string | undefined {
  const parsed = rule === 'top' || rule === 'dsKeep' ? parseShare(text) : parseThreshold(text);
  return typeof parsed === 'string' ? parsed : undefined;
}

/** Builds the server's FilterOptions from the picked rules and their (validated) answers. */
export function buildFilterOptions(outPath: string, answers: ReadonlyMap<FilterRuleId, string>): FilterOptions {
  const options: FilterOptions = { outPath };
  for (const [rule, text] of answers) {
    switch (rule) {
      case 'ifdMax':
        options.ifdMax = parseThreshold(text) as number;
        break;
      case 'rifdMax':
        options.rifdMax = parseThreshold(text) as number;
        break;
      case 'top':
        options.topFraction = parseShare(text) as number;
        break;
      case 'dsKeep':
        options.dsKeepFraction = parseShare(text) as number;
        break;
      case 'selfConsistent':
        options.selfConsistent = true;
        break;
    }
  }
  return options;
}

/** `data.jsonl` -> `data.filtered.jsonl` (same folder; `.ndjson` keeps its extension). */
export function defaultFilteredPath(path: string): string {
  const slash = Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\'));
  const dir = path.slice(0, slash + 1);
  const name = path.slice(slash + 1);
  const match = /^(.*?)(\.(?:jsonl|ndjson))?$/i.exec(name)!;
  const base = match[1] || 'dataset';
  return `${dir}${base}.filtered${match[2] ?? '.jsonl'}`;
}

const count = (n: number): string => n.toLocaleString('en-US');

/** One line for the notification after a filter: `Kept 812 of 1,000 records (dropped: ifd-max 120, top 68).` */
export function describeFilterResult(result: FilterResult): string {
  const dropped = Object.entries(result.dropped)
    .filter(([, n]) => n > 0)
    .map(([rule, n]) => `${rule} ${count(n)}`);
  const tail = dropped.length > 0 ? ` (dropped: ${dropped.join(', ')})` : '';
  return `Kept ${count(result.kept)} of ${count(result.total)} records${tail}.`;
}
