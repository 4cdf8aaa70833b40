import type { DsRule } from '../metrics/types';
import type { OverviewRules } from './types';

/** POSIX shell quoting: a word of safe characters as is, anything else in single quotes. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** A fraction as `sift filter` reads a share: 0.1 -> `10%`. */
function share(fraction: number): string {
  return `${String(Number((fraction * 100).toPrecision(12)))}%`;
}

/**
 * The `sift filter` command line that selects what the overview selects, for a pipeline: the same
 * rules in the same core function, so the same lines come out (given the same scores: the command
 * reads them from the same score store beside the dataset, and scores what it lacks).
 */
export function filterCommandLine(file: string, rules: OverviewRules, dsRule: DsRule, out: string): string {
  const words = ['sift', 'filter', shellQuote(file)];
  if (rules.selfConsistent) words.push('--self-consistent');
  if (rules.ifdMax !== undefined) words.push('--ifd-max', String(rules.ifdMax));
  if (rules.rifdMax !== undefined) words.push('--rifd-max', String(rules.rifdMax));
  if (rules.dsKeepFraction !== undefined) words.push('--ds-keep', share(rules.dsKeepFraction));
  if (rules.topFraction !== undefined) words.push('--top', share(rules.topFraction));
  if (rules.dsKeepFraction !== undefined && dsRule !== 'paper') words.push('--ds-rule', dsRule);
  words.push('--out', shellQuote(out));
  return words.join(' ');
}
