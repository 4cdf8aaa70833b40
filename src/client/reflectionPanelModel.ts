import type { ReflectionBatchResult, ReflectionEstimate } from '../protocol';
import type { AcceptFields, CandidateId, CandidateView, ReflectionMode, ReflectionView } from '../protocol/reflectionView';
import { costLines } from './teacherBatchModel';
import { webviewPage, type WebviewPageParts } from './webviewPage';

/**
 * The host side of the reflection diff view that needs no editor: the webview's HTML and CSP, the
 * edit Accept makes (and when it must refuse), and the words of the estimate and summaries. The
 * vscode-bound code (reflectionPanel.ts, reflectCommands.ts) only wires these to the API.
 */

export const VIEW_TYPE = 'siftReflection';

export { contentSecurityPolicy, makeNonce } from './webviewPage';

/** The reflection view's page (see webviewPage.ts). */
export function webviewHtml(parts: WebviewPageParts): string {
  return webviewPage(parts, { text: 'Loading the reflection…', className: 'loading', live: 'off' });
}

// ---- Accept ------------------------------------------------------------------------------------

/** What Accept needs to know about the document now. */
export interface DocumentLines {
  version: number;
  lineCount: number;
  lineText(line: number): string;
}

export type AcceptPlan =
  | { ok: true; line: number; newText: string; note?: string }
  | { ok: false; reason: string };

const CANDIDATE_NAMES: Record<CandidateId, string> = {
  original: 'the original',
  'instruction-reflected': 'the instruction rewrite',
  'response-reflected': 'the response rewrite',
};

/** The record line Accept writes for a candidate (all of it, or one side), or why there is none. */
export function acceptedLine(candidate: CandidateView, fields: AcceptFields): { text: string } | { reason: string } {
  if (candidate.id === 'original') return { reason: 'the original is what the file already holds' };
  if (candidate.teacherError !== undefined) return { reason: `${CANDIDATE_NAMES[candidate.id]} has no rewrite: the teacher call failed (${candidate.teacherError})` };
  if (candidate.line === undefined) return { reason: candidate.lineError ?? `${CANDIDATE_NAMES[candidate.id]} cannot be written back into the record` };
  if (fields === 'both') return { text: candidate.line };
  const text = fields === 'instruction' ? candidate.instructionOnlyLine : candidate.responseOnlyLine;
  if (text === undefined) return { reason: `only one side of ${CANDIDATE_NAMES[candidate.id]} changed: use Accept` };
  return { text };
}

/**
 * Where Accept writes, checked against the document as it is now. The line must still hold exactly
 * the text the reflection started from: with the same version it does; after other edits it is
 * looked for at its line, then (when lines were inserted or removed above it) as the only line with
 * that text. Anything else is refused with the reason, so a rewrite never lands on another record.
 */
export function planAccept(doc: DocumentLines, view: ReflectionView, candidateId: CandidateId, fields: AcceptFields): AcceptPlan {
  const candidate = view.candidates.find((c) => c.id === candidateId);
  if (!candidate) return { ok: false, reason: `this reflection has no ${CANDIDATE_NAMES[candidateId]}` };
  const line = acceptedLine(candidate, fields);
  if ('reason' in line) return { ok: false, reason: line.reason };
  const here = view.line < doc.lineCount ? doc.lineText(view.line) : undefined;
  if (here === view.originalText) {
    if (line.text === view.originalText) return { ok: false, reason: 'the record already holds this text' };
    return { ok: true, line: view.line, newText: line.text };
  }
  if (here === line.text) return { ok: false, reason: `line ${view.line + 1} already holds this rewrite (accepted before)` };
  const matches: number[] = [];
  for (let i = 0; i < doc.lineCount && matches.length < 2; i++) if (doc.lineText(i) === view.originalText) matches.push(i);
  if (matches.length === 1) {
    return { ok: true, line: matches[0], newText: line.text, note: `the record moved from line ${view.line + 1} to line ${matches[0] + 1} since it was reflected` };
  }
  const why =
    matches.length > 1
      ? 'several lines now hold the original text and the record\'s own line does not'
      : `line ${view.line + 1} was edited since the reflection started (document version ${view.version} then, ${doc.version} now)`;
  return { ok: false, reason: `Not accepted: ${why}. Reflect the record again to get a rewrite of its current text.` };
}

/**
 * The range Accept replaces: the line's content from its first character to its last, never its
 * terminator, so LF and CRLF files keep their line endings byte for byte.
 */
export function acceptRange(doc: DocumentLines, line: number): { line: number; start: number; end: number } {
  return { line, start: 0, end: doc.lineText(line).length };
}

/** A record line as indented JSON, for VS Code's diff editor (the line itself when it is not JSON). */
export function prettyRecord(line: string): string {
  try {
    return `${JSON.stringify(JSON.parse(line), null, 2)}\n`;
  } catch {
    return `${line}\n`;
  }
}

// ---- words -------------------------------------------------------------------------------------

export const MODE_LABELS: Record<ReflectionMode, string> = {
  instruction: 'Reflect instruction',
  response: 'Reflect response',
  selective: 'Selective reflection',
};

const n = (x: number): string => x.toLocaleString('en-US');

/** The confirmation before a batch: calls and tokens, from the server's estimate. */
export function estimateMessage(estimate: ReflectionEstimate): { message: string; detail: string } {
  const records = `${n(estimate.lines.length)} record${estimate.lines.length === 1 ? '' : 's'}`;
  const message = `${MODE_LABELS[estimate.mode]} of ${records}: up to ${n(estimate.calls)} teacher call${estimate.calls === 1 ? '' : 's'}, about ${n(estimate.estimatedTokens)} tokens.`;
  const detail = [
    `Teacher: ${estimate.teacher.model} at ${estimate.teacher.endpoint}.`,
    `Estimated tokens: ~${n(estimate.promptTokens)} prompt + ~${n(estimate.completionTokens)} completion (prompt characters / 4 plus an expected answer; retries not included).`,
    estimate.cachedCalls > 0 ? `${n(estimate.cachedCalls)} more reflection${estimate.cachedCalls === 1 ? ' is' : 's are'} answered by the reflection cache (no call).` : '',
    estimate.skipped > 0 ? `${n(estimate.skipped)} selected line${estimate.skipped === 1 ? ' is' : 's are'} not a record that can be reflected and will be skipped.` : '',
    ...costLines(estimate),
    'The student model scores every candidate; nothing in the file changes until you accept a rewrite.',
  ].filter(Boolean);
  return { message, detail: detail.join('\n') };
}

export function batchSummary(result: ReflectionBatchResult): string {
  const s = result.summary;
  const parts = [`${n(s.records)} record${s.records === 1 ? '' : 's'} reflected`, `${n(s.changed)} rewritten by the student's choice`];
  if (s.dropped > 0) parts.push(`${n(s.dropped)} dropped by the released rule`);
  if (s.failed > 0) parts.push(`${n(s.failed)} with errors`);
  parts.push(`${n(s.calls)} teacher call${s.calls === 1 ? '' : 's'}, ${n(s.promptTokens + s.completionTokens)} tokens, ${n(s.cachedReflections)} from the cache`);
  let text = `Sift: ${parts.join('; ')}.`;
  if (result.batch?.batchIds.length) text += ` Answered by teacher batch${result.batch.batchIds.length === 1 ? '' : 'es'} ${result.batch.batchIds.join(', ')}.`;
  if (result.cancelled && !result.batch?.pending) text += ' Cancelled: run the same batch again to resume (finished reflections are cached).';
  if (result.error) text += ` Stopped: ${result.error}`;
  return text;
}

/** `a.jsonl line 3` or `a.jsonl: 12 records`. */
export function panelTitle(fileName: string, records: ReflectionView[]): string {
  if (records.length === 1) return `Reflection: ${fileName} line ${records[0].line + 1}`;
  return `Reflection: ${fileName} (${records.length} records)`;
}
