/**
 * One record as the record view shows it: its turns, its scores with what each means, and where it
 * stands in the file's worst-first order; and the messages between the record webview and its host.
 *
 * The server (which answers RecordRequest), the VS Code client and the webview bundle all import
 * this file. It imports nothing at run time, so the browser bundle never pulls in host code, and
 * every type here survives JSON.
 */

/** A colour bucket as in LineScore: 0 = best for the student ... 4 = worst; -1 pending; -2 no score. */
export type RecordBucket = -2 | -1 | 0 | 1 | 2 | 3 | 4;

/** What a turn is for the scorer: the scored pair is the instruction (with its input) and the response; earlier turns are context. */
export type TurnPart = 'history' | 'instruction' | 'input' | 'response';

export interface RecordTurn {
  role: 'system' | 'user' | 'assistant';
  part: TurnPart;
  content: string;
}

export interface RecordMetric {
  /** `ifd` | `rifd` | `ds`. */
  metric: string;
  /** `IFD`, `r-IFD`, `DS`. */
  label: string;
  value: number | null;
  /** The value as the view prints it. */
  text: string;
  /** Why there is no value. */
  reason?: string;
  /** Weak percentile rank among the file's scored records (0-100). */
  percentile?: number;
  bucket: RecordBucket;
  /** One line on what the metric measures and which direction is good. */
  meaning: string;
  /** What this value means for this record, against the rule that decides it (e.g. `≥ 1: the IFD < 1 rule drops it`). */
  verdict?: string;
}

/** Where the view's record stands when the file's scored records are put worst first. */
export interface RecordRank {
  /** 1-based: 1 is the worst. */
  position: number;
  of: number;
  /** The label of the metric that orders them (the one that colours the lines). */
  metric: string;
}

/** `waiting`: its scoring failed because the endpoint did not answer; it is scored when the endpoint answers again. */
export type RecordState = 'scored' | 'pending' | 'waiting' | 'failed' | 'unscored' | 'invalid' | 'blank';

export interface RecordDetails {
  uri: string;
  version: number;
  /** 0-based. */
  line: number;
  lineCount: number;
  state: RecordState;
  /** The record format the file is read as (`alpaca`, `sharegpt`, ...). */
  format: string;
  /** The record's turns in order; empty for a line that is not a record. */
  turns: RecordTurn[];
  metrics: RecordMetric[];
  /** Problems on the line (invalid JSON, schema, empty response), as people read them. */
  problems: string[];
  /** Why the scorer failed on this record (state `failed`). */
  failure?: string;
  /** Set in a restricted workspace when its scores came with the folder (imported or committed), not computed by this installation. */
  unverified?: string;
  rank?: RecordRank;
  /** Scored records of the file, and records not scored (yet). */
  scored: number;
  unscored: number;
}

// ---- the webview's messages ------------------------------------------------------------------

/** What the view shows: a record, or a sentence saying why there is none. */
export type RecordViewContent =
  | { kind: 'record'; details: RecordDetails; fileName: string; overview: boolean }
  | { kind: 'empty'; text: string };

/** host -> webview. */
export type RecordHostMessage = { type: 'show'; content: RecordViewContent };

export type RecordAction = 'reflect' | 'drop' | 'overview' | 'next' | 'previous' | 'reveal';
export const RECORD_ACTIONS: readonly RecordAction[] = ['reflect', 'drop', 'overview', 'next', 'previous', 'reveal'];

/** webview -> host. `action` names the record it was pressed on, so a stale press is refused. */
export type RecordWebviewMessage = { type: 'ready' } | { type: 'action'; action: RecordAction; uri: string; line: number; version: number };

export function isRecordWebviewMessage(value: unknown): value is RecordWebviewMessage {
  if (typeof value !== 'object' || value === null) return false;
  const m = value as Record<string, unknown>;
  if (m.type === 'ready') return true;
  return (
    m.type === 'action' &&
    (RECORD_ACTIONS as readonly unknown[]).includes(m.action) &&
    typeof m.uri === 'string' &&
    typeof m.line === 'number' &&
    Number.isInteger(m.line) &&
    m.line >= 0 &&
    typeof m.version === 'number'
  );
}

export function isRecordHostMessage(value: unknown): value is RecordHostMessage {
  if (typeof value !== 'object' || value === null) return false;
  const m = value as { type?: unknown; content?: { kind?: unknown } };
  return m.type === 'show' && typeof m.content === 'object' && m.content !== null && (m.content.kind === 'record' || m.content.kind === 'empty');
}
