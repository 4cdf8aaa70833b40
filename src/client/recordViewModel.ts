import type { RecordByScoreResult, ScoreDirection } from '../protocol/records';
import type { RecordDetails, RecordViewContent, RecordWebviewMessage } from '../protocol/recordView';
import { webviewPage, type WebviewPageParts } from './webviewPage';
import { OVERVIEW_COMMAND } from '../protocol/overview';

/**
 * The host side of the record view that needs no editor: its page, what it is shown for a line,
 * whether a press in it still applies, and the words for a move by score. recordView.ts and
 * recordNavigation.ts only wire these to the VS Code API.
 */

export const RECORD_VIEW_TYPE = 'siftRecord';

/** The dataset overview's command; the view's button runs it with the dataset's URI. */
export const SHOW_OVERVIEW_COMMAND = OVERVIEW_COMMAND;

/** The pause after the cursor stops before the view asks for the record: holding an arrow key asks once, not per line. */
export const FOLLOW_DELAY_MS = 120;

/** The least time between two refreshes of the outline while scores stream in (each one asks for every record's symbol). */
export const SYMBOLS_REFRESH_MS = 1500;

/**
 * The time between two refreshes of a file's symbols while it is scored: every refresh sends a
 * symbol per line, so a large file waits longer (100k lines: 11.5 s rather than 1.5 s) and the
 * editor never spends its time re-reading an outline of megabytes.
 */
export function symbolsRefreshDelay(lineCount: number): number {
  return SYMBOLS_REFRESH_MS + Math.ceil(lineCount / 10);
}

export type RecordPageParts = Omit<WebviewPageParts, 'title'>;

/** The record view's page: the same strict CSP as the other views (see webviewPage.ts). */
export function recordPageHtml(parts: RecordPageParts): string {
  return webviewPage({ ...parts, title: 'Sift record' }, { text: 'Loading the record…', className: 'empty' });
}

/** The file name of a URI, for titles. */
export function fileNameOf(uri: string): string {
  const path = uri.split(/[?#]/)[0];
  return decodeURIComponent(path.slice(path.lastIndexOf('/') + 1)) || uri;
}

/** What the view shows for the server's answer about a line (null: the file is not served, or the line is gone). */
export function viewContent(details: RecordDetails | null | undefined, uri: string | undefined, overview: boolean): RecordViewContent {
  if (!uri) return { kind: 'empty', text: 'Put the cursor on a record of a JSONL dataset: this view shows it.' };
  if (details === undefined) return { kind: 'empty', text: 'The Sift language server is not running (see Sift: Show Log).' };
  if (details === null) return { kind: 'empty', text: `${fileNameOf(uri)} is not a dataset Sift reads here (too large for the editor, or not open).` };
  return { kind: 'record', details, fileName: fileNameOf(uri), overview };
}

/** The panel's title: the file and the line. */
export function viewTitle(content: RecordViewContent): string {
  return content.kind === 'record' ? `Record ${content.details.line + 1} · ${content.fileName}` : 'Sift record';
}

/** A press in the view applies only to the record it was made on: the same file, line and version as the view holds now. */
export function pressApplies(message: Extract<RecordWebviewMessage, { type: 'action' }>, shown: RecordDetails | undefined): boolean {
  return shown !== undefined && shown.uri === message.uri && shown.line === message.line && shown.version === message.version;
}

/** What the status bar says after a move by score. */
export function moveMessage(result: RecordByScoreResult | null | undefined, direction: ScoreDirection): string {
  if (!result) return 'Sift: this file is not a dataset Sift reads here.';
  const pending = result.unscored > 0 ? ` (${result.unscored} record${result.unscored === 1 ? '' : 's'} not scored yet)` : '';
  if (!result.target) return `Sift: ${result.message ?? `no ${direction} record`}${pending}`;
  const { position, label, line } = result.target;
  return `Sift: record ${position} of ${result.of} by ${result.metric}, worst first (line ${line + 1}) — ${label}${pending}`;
}
