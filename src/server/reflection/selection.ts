import type { TrainingPair } from '../../core/dataset/types';
import type { ReflectionSelection } from '../../protocol';
import type { SiftDocument } from '../document';
import type { JobItem } from '../scheduler';
import { ReflectionRequestError } from './errors';

/** A record of an open document chosen for reflection. */
export interface SelectedRecord {
  /** 0-based line. */
  line: number;
  text: string;
  pair: TrainingPair;
}

/** IFD of each item (by text), scoring what the store lacks; null when a record has none. */
export type IfdScores = (doc: SiftDocument, items: JobItem[], signal: AbortSignal) => Promise<Map<string, number | null>>;

/** The record on a 0-based line, or why that line cannot be reflected. */
export function selectedRecord(doc: SiftDocument, index: number): SelectedRecord {
  const line = doc.records.line(index);
  if (!line) throw new ReflectionRequestError(`there is no line ${index + 1}`);
  if (!line.scorable || !line.pair) {
    const problem = line.problems.find((p) => p.severity === 'error') ?? line.problems[0];
    const why = line.blank ? 'it is blank' : (problem?.reason ?? problem?.message ?? 'it is not a record with an instruction and a response');
    throw new ReflectionRequestError(`line ${index + 1} cannot be reflected: ${why}`);
  }
  return { line: index, text: line.text, pair: line.pair };
}

/**
 * The records a batch covers, in file order, and how many selected lines were left out: the given
 * lines, the `lowest` n by IFD (scoring what the store lacks), or all.
 */
export async function selectRecords(
  doc: SiftDocument,
  selection: ReflectionSelection,
  ifdScores: IfdScores,
  signal: AbortSignal,
): Promise<{ records: SelectedRecord[]; skipped: number }> {
  const records: SelectedRecord[] = [];
  let skipped = 0;
  const take = (index: number): void => {
    const line = doc.records.line(index);
    if (line?.scorable && line.pair) records.push({ line: index, text: line.text, pair: line.pair });
    else if (line && !line.blank) skipped++;
  };
  if (Array.isArray(selection.lines)) {
    const lines = [...new Set(selection.lines)].sort((a, b) => a - b);
    for (const index of lines) {
      if (!Number.isInteger(index) || index < 0) throw new ReflectionRequestError(`not a 0-based line number: ${String(index)}`);
      if (index >= doc.records.lineCount) throw new ReflectionRequestError(`there is no line ${index + 1}`);
      take(index);
    }
    return { records, skipped };
  }
  if (selection.lowest !== undefined) {
    const n = selection.lowest;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 1) throw new ReflectionRequestError(`lowest must be a positive integer, got ${String(n)}`);
    const all: SelectedRecord[] = [];
    for (let i = 0; i < doc.records.lineCount; i++) {
      const line = doc.records.line(i)!;
      if (line.scorable && line.pair) all.push({ line: i, text: line.text, pair: line.pair });
    }
    const unique = new Map(all.map((r) => [r.text, { text: r.text, pair: r.pair }]));
    const ifd = await ifdScores(doc, [...unique.values()], signal);
    const ranked = all
      .map((r) => ({ r, value: ifd.get(r.text) }))
      .filter((x): x is { r: SelectedRecord; value: number } => typeof x.value === 'number' && Number.isFinite(x.value))
      .sort((a, b) => a.value - b.value || a.r.line - b.r.line);
    const chosen = ranked.slice(0, n).map((x) => x.r);
    return { records: chosen.sort((a, b) => a.line - b.line), skipped: all.length - ranked.length };
  }
  if (selection.all === true) {
    for (let i = 0; i < doc.records.lineCount; i++) take(i);
    return { records, skipped };
  }
  throw new ReflectionRequestError('say which records to reflect: lines, lowest or all');
}
