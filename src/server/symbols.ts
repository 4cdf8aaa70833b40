import { SymbolKind, type DocumentSymbol } from 'vscode-languageserver';
import type { LineRecord } from '../core/document/documentRecords';
import type { SiftSettings } from '../protocol';
import type { RecordState } from '../protocol/recordView';
import type { SiftDocument } from './document';
import { FAILED_LABEL, PENDING_LABEL, WAITING_LABEL, scoreLabel } from './presentation';
import { recordState } from './recordState';

/** What a record without a score is named with, as its line label says it. */
const STATE_LABELS: Partial<Record<RecordState, string>> = { pending: PENDING_LABEL, waiting: WAITING_LABEL, failed: FAILED_LABEL };

/** Characters of the instruction a symbol shows: enough to tell records apart in a list. */
const SNIPPET_CHARS = 60;

/** The first words of a text on one line. */
export function snippet(text: string, max = SNIPPET_CHARS): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length <= max ? flat : `${flat.slice(0, max - 1).trimEnd()}…`;
}

function symbolName(doc: SiftDocument, line: LineRecord, settings: SiftSettings, scorerFailed: boolean, trusted: boolean): string {
  const state = recordState(doc, line, scorerFailed);
  if (state === 'invalid') {
    const problem = line.problems[0];
    return `✖ not a valid record${problem ? `: ${snippet(problem.reason ?? problem.message)}` : ''}`;
  }
  const score = doc.scoreOf(line);
  const label = score ? scoreLabel(score, settings, trusted) : STATE_LABELS[state] ?? 'not scored';
  const words = snippet(line.pair?.instruction ?? '');
  return words ? `${label} · ${words}` : label;
}

/**
 * One symbol per record line, named with its scores and the first words of its instruction, so the
 * outline and "Go to Symbol" (which shows names only) list the records with their scores. The
 * detail is the line number. Blank lines are left out.
 */
export function documentSymbols(doc: SiftDocument, settings: SiftSettings, scorerFailed: boolean, trusted = true): DocumentSymbol[] {
  if (doc.tooLarge !== undefined) return [];
  const symbols: DocumentSymbol[] = [];
  for (let i = 0; i < doc.records.lineCount; i++) {
    const line = doc.records.line(i)!;
    if (line.blank) continue;
    const range = { start: { line: i, character: doc.column(i, 0) }, end: { line: i, character: doc.lineEnd(i) } };
    symbols.push({ name: symbolName(doc, line, settings, scorerFailed, trusted), detail: `line ${i + 1}`, kind: SymbolKind.Object, range, selectionRange: range });
  }
  return symbols;
}
