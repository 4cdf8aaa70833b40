import type { DocumentSymbol } from 'vscode-languageserver';
import type { LineRecord } from '../core/document/documentRecords';
import { decisiveDigits } from '../core/metrics/decisiveDigits';
import type { MetricName } from '../core/metrics/types';
import type { SiftSettings } from '../protocol';
import type { RecordByScoreParams, RecordByScoreResult, RecordParams } from '../protocol/records';
import type { RecordDetails, RecordMetric, RecordTurn } from '../protocol/recordView';
import type { SiftDocument } from './document';
import { bucketOf, METRIC_LABELS, primaryMetric, ruleThreshold, scoreLabel, UNVERIFIED_REASON } from './presentation';
import { recordOrder } from './recordOrder';
import { recordState } from './recordState';
import { documentSymbols } from './symbols';
import type { Scorers } from './resources';
import type { StoredScores } from './storedScores';

export interface RecordDeps {
  docs: ReadonlyMap<string, SiftDocument>;
  settingsFor(doc: SiftDocument): SiftSettings;
  scorers(): Scorers;
  stored: StoredScores;
  /** The workspace is trusted; when not, scores this installation did not compute are marked unverified. */
  trusted(): boolean;
}

/** What each metric measures and which way is good, in one line (the record view prints it under the value). */
export const METRIC_MEANINGS: Record<MetricName, string> = {
  ifd: 'Instruction-following difficulty, ppl(y|x) / ppl(y): below 1 the instruction helps the student predict the response, and higher is a harder, more informative pair; at 1 or above it does not help.',
  rifd: "Reversed IFD, ppl(x|y') / ppl(x): how well the response lets the student predict the instruction back; lower is better, and at 1 or above the response does not help.",
  ds: "DS weight: how far the record's loss is from that of the trusted valid set; lower is closer (better), 1 is the lowest.",
};

/** The view's number: four decimals, more where they decide the rule (core's `decisiveDigits`, as the labels). */
export function decisiveText(value: number, threshold: number | undefined): string {
  return decisiveDigits(value, threshold, { decimals: 4 });
}

/** What the value means against its rule's threshold: the one the labels and colours use (`ruleThreshold`, `sift.ifdWarnAt` for IFD). */
function verdict(metric: MetricName, value: number, threshold: number | undefined): string | undefined {
  if (threshold === undefined) return undefined;
  const label = METRIC_LABELS[metric];
  if (value < threshold) return `below ${threshold}: kept by the ${label} < ${threshold} rule`;
  return metric === 'ifd'
    ? `at or above ${threshold}: the instruction does not help, so the ${label} < ${threshold} rule drops this record`
    : `at or above ${threshold}: the response does not help, so the ${label} < ${threshold} rule drops this record`;
}

/** The turns of a record in order: earlier turns, then the scored instruction, its input, and the response. */
export function recordTurns(line: LineRecord): RecordTurn[] {
  const pair = line.pair;
  if (!pair) return [];
  const turns: RecordTurn[] = pair.history.map((turn) => ({ role: turn.role, part: 'history', content: turn.content }));
  turns.push({ role: 'user', part: 'instruction', content: pair.instruction });
  if (pair.input !== '') turns.push({ role: 'user', part: 'input', content: pair.input });
  turns.push({ role: 'assistant', part: 'response', content: pair.response });
  return turns;
}

/**
 * The record view's questions: one record's turns and scores, and the next or previous record in
 * the file's worst-first order. Stored scores of the line asked about are looked up first, as for
 * a hover.
 */
export class RecordQueries {
  constructor(private readonly deps: RecordDeps) {}

  details(params: RecordParams): RecordDetails | null {
    const doc = this.deps.docs.get(params?.uri);
    if (!doc || doc.tooLarge !== undefined) return null;
    const index = Math.floor(params.line);
    const line = doc.records.line(index);
    if (!line) return null;
    this.deps.stored.resolveRange(doc, index, index);
    const settings = this.deps.settingsFor(doc);
    const state = recordState(doc, line, this.deps.scorers().lastError !== undefined);
    const score = doc.scoreOf(line);
    const metrics: RecordMetric[] = settings.metrics.map((metric) => {
      const result = score?.metrics[metric];
      const base = { metric, label: METRIC_LABELS[metric], meaning: METRIC_MEANINGS[metric] };
      if (!result || result.value === null) {
        const reason = result?.reason ?? (metric === 'ds' && settings.dsValidSet === '' ? 'set a DS valid set (sift.dsValidSet) to compute it' : score ? 'not computed' : undefined);
        // As the line label: a record queued, or waiting for the endpoint, is marked pending.
        return { ...base, value: null, text: '—', reason, bucket: state === 'pending' || state === 'waiting' ? -1 : -2 };
      }
      const values = doc.values(metric);
      const percentile = values.percentile(result.value);
      const threshold = ruleThreshold(metric, settings);
      return {
        ...base,
        value: result.value,
        text: decisiveText(result.value, threshold),
        percentile: Number.isFinite(percentile) ? percentile : undefined,
        bucket: bucketOf(result.value, metric, settings, settings.colorBy === 'percentile' ? values : undefined),
        verdict: verdict(metric, result.value, threshold),
      };
    });
    const metric = primaryMetric(settings.metrics);
    const order = recordOrder(doc, metric, settings);
    const position = order.positions[index];
    const { scored, total } = doc.counts();
    return {
      uri: doc.uri,
      version: doc.version,
      line: index,
      lineCount: doc.records.lineCount,
      state,
      format: doc.records.format.name,
      turns: recordTurns(line),
      metrics,
      problems: line.problems.map((p) => p.reason ?? p.message),
      failure: state === 'failed' ? doc.failures.get(line.text) : undefined,
      unverified: score?.foreign && !this.deps.trusted() ? `Unverified: ${UNVERIFIED_REASON}` : undefined,
      rank: position >= 0 ? { position: position + 1, of: order.lines.length, metric: METRIC_LABELS[metric] } : undefined,
      scored,
      unscored: total - scored,
    };
  }

  /** The outline's symbols: one per record line, named with its scores (symbols.ts). */
  symbols(uri: string): DocumentSymbol[] {
    const doc = this.deps.docs.get(uri);
    return doc ? documentSymbols(doc, this.deps.settingsFor(doc), this.deps.scorers().lastError !== undefined, this.deps.trusted()) : [];
  }

  byScore(params: RecordByScoreParams): RecordByScoreResult | null {
    const doc = this.deps.docs.get(params?.uri);
    if (!doc) return null;
    const settings = this.deps.settingsFor(doc);
    const metric = primaryMetric(settings.metrics);
    const label = METRIC_LABELS[metric];
    const { scored, total } = doc.counts();
    const base = { of: 0, metric: label, unscored: total - scored };
    if (doc.tooLarge !== undefined) return { ...base, message: 'This file is too large for the editor: use the sift command line.' };
    const order = recordOrder(doc, metric, settings);
    const of = order.lines.length;
    if (of === 0) return { ...base, message: `No record has a${metric === 'ifd' ? 'n' : ''} ${label} yet.` };
    const from = order.positions[Math.floor(params.line)] ?? -1;
    const next = params.direction === 'next' ? (from < 0 ? 0 : from + 1) : from < 0 ? of - 1 : from - 1;
    if (next < 0) return { ...base, of, message: `This is the worst record by ${label}.` };
    if (next >= of) return { ...base, of, message: `This is the best record by ${label}.` };
    const line = order.lines[next];
    const score = doc.scoreOf(doc.records.line(line)!)!;
    return { ...base, of, target: { line, position: next + 1, label: scoreLabel(score, settings, this.deps.trusted()) } };
  }
}
