import { dirname, isAbsolute, resolve } from 'node:path';
import { splitDocumentLines } from '../core/dataset/lines';
import { AtomicFileWriter } from '../core/io/atomicWrite';
import { applyFilterRules, hasAnyRule, metricsForRules, type FilterCandidate, type FilterRules } from '../core/metrics/filterRules';
import type { MetricSettings } from '../core/metrics/recordMetrics';
import type { MetricName } from '../core/metrics/types';
import { toRecordScore } from '../core/scoring/recordScore';
import type { RecordOutcomes } from '../core/scoring/scoreRecords';
import type { FilterOptions, FilterResult, SiftSettings } from '../protocol';
import type { SiftDocument } from './document';
import type { JobItem } from './scheduler';

export class FilterError extends Error {
  override name = 'FilterError';
}

export interface FilterDeps {
  settings: SiftSettings;
  metricSettings: (metrics: MetricName[]) => Promise<MetricSettings>;
  /** Scores every item for `metrics` (from the store where it can), every assistant turn; keyed by text. */
  scoreAll: (items: JobItem[], metrics: MetricName[]) => Promise<Map<string, RecordOutcomes>>;
}

/** The rules of `sift filter` from the command's options; throws FilterError for options that make no sense. */
export function filterRules(options: FilterOptions, settings: SiftSettings): FilterRules {
  const fraction = (v: unknown, name: string): number | undefined => {
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'number' || !(v >= 0 && v <= 1)) throw new FilterError(`${name} must be a fraction in [0, 1]`);
    return v;
  };
  const number = (v: unknown, name: string): number | undefined => {
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new FilterError(`${name} must be a number`);
    return v;
  };
  const rules: FilterRules = {
    ifdMax: number(options.ifdMax, 'ifdMax'),
    rifdMax: number(options.rifdMax, 'rifdMax'),
    topFraction: fraction(options.topFraction, 'topFraction'),
    dsKeepFraction: fraction(options.dsKeepFraction, 'dsKeepFraction'),
    selfConsistent: options.selfConsistent === true,
    dsRule: settings.dsRule,
    ties: 'earlier',
  };
  if (!hasAnyRule(rules)) throw new FilterError('no filter rule given: set ifdMax, rifdMax, topFraction, dsKeepFraction and/or selfConsistent');
  return rules;
}

/**
 * The editor's Filter command: the CLI's rules (`applyFilterRules`) over the buffer as it is now,
 * scoring what the store lacks, and the kept lines written byte for byte (each with its own line
 * terminator) to a new file, atomically. Invalid lines are dropped and counted as `invalid`, as in
 * `sift filter`.
 */
export async function filterDocument(doc: SiftDocument, text: string, options: FilterOptions, deps: FilterDeps): Promise<FilterResult> {
  if (doc.tooLarge !== undefined) throw new FilterError('the file is too large for the editor: use `sift filter` in a terminal');
  if (!options || typeof options.outPath !== 'string' || options.outPath.trim() === '') throw new FilterError('outPath is required');
  const rules = filterRules(options, deps.settings);
  const outPath = isAbsolute(options.outPath) ? options.outPath : resolve(doc.path ? dirname(doc.path) : process.cwd(), options.outPath);
  if (doc.path !== undefined && resolve(outPath) === resolve(doc.path)) throw new FilterError('the output must be a new file, not the dataset itself');
  const metrics = metricsForRules(rules);
  if (metrics.includes('ds') && deps.settings.dsValidSet === '') {
    throw new FilterError('the DS rule needs a DS valid set (setting `dsValidSet`): DS weight is measured against it');
  }

  // A snapshot: the records are read from this text, and the kept lines written from it.
  const lines = splitDocumentLines(text);
  const records = doc.records;
  if (records.lineCount !== lines.length) throw new FilterError('the document changed while filtering; try again');
  const candidates: FilterCandidate[] = [];
  const items: JobItem[] = [];
  let invalid = 0;
  for (let i = 0; i < records.lineCount; i++) {
    const line = records.line(i)!;
    if (line.blank) continue;
    // As `sift filter`: a record with errors or without a pair is invalid; every other record is a
    // candidate, scored (an empty response gets no score and loses to every rule that needs one).
    if (!line.pair || line.problems.some((p) => p.severity === 'error')) {
      invalid++;
      continue;
    }
    candidates.push({ line: i + 1, metrics: {}, question: line.pair.instruction, response: line.pair.response });
    items.push({ text: line.text, pair: line.pair });
  }
  if (metrics.length > 0) {
    const results = await deps.scoreAll(items, metrics);
    const metricSettings = await deps.metricSettings(metrics);
    candidates.forEach((candidate, k) => {
      const result = results.get(items[k].text);
      // A conversation's score from its turns as the settings say (`turnScore`), as `sift filter` does.
      if (result) candidate.metrics = toRecordScore({ id: k, ...result }, metrics, metricSettings).metrics;
    });
  }
  const outcome = applyFilterRules(candidates, rules);
  if (invalid > 0) outcome.dropped.invalid = invalid;

  const writer = new AtomicFileWriter(outPath);
  try {
    let chunk = '';
    for (const n of [...outcome.keptLines].sort((a, b) => a - b)) {
      const src = lines[n - 1];
      chunk += src.text + (src.eol ?? '');
      if (chunk.length >= 1 << 20) {
        await writer.write(chunk);
        chunk = '';
      }
    }
    if (chunk) await writer.write(chunk);
    await writer.commit();
  } catch (error) {
    await writer.abort();
    throw error;
  }
  return { outPath, kept: outcome.keptLines.size, total: candidates.length + invalid, dropped: outcome.dropped };
}
