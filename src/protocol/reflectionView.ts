/**
 * Teacher reflection as the editor shows it: the result of one record's reflection in the shape the
 * language server returns (plain JSON), and the messages between the diff webview and its host.
 *
 * The server, the VS Code client and the webview bundle all import this file. It imports only the
 * mode and candidate names from src/core/reflect/modes.ts (a file that imports nothing), so the
 * browser bundle never pulls in host code, and every type here survives JSON.
 */

import { CANDIDATE_IDS, REFLECTION_MODES, type CandidateId, type ReflectionMode } from '../core/reflect/modes';

export { CANDIDATE_IDS, REFLECTION_MODES, type CandidateId, type ReflectionMode };

/** The fields of a pair, as the diff shows them. */
export type PairField = 'instruction' | 'input' | 'response';
export const PAIR_FIELDS: readonly PairField[] = ['instruction', 'input', 'response'];

/** A metric value, or null with the reason there is none. */
export interface MetricView {
  value: number | null;
  reason?: string;
}

/** A mean loss (nats/token) over `n` tokens; null when no token was scored. */
export interface LossView {
  mean: number | null;
  n: number;
}

export interface TeacherCallView {
  calls: number;
  attempts: number;
  promptTokens: number;
  completionTokens: number;
  /** Answered from the reflection cache (no call made). */
  cached: boolean;
  /** The output was requested as a JSON schema. */
  structured: boolean;
}

/** One pair the pipeline considered: the original or a teacher rewrite, with the student's verdict. */
export interface CandidateView {
  id: CandidateId;
  instruction: string;
  input: string;
  response: string;
  /** Absent when the candidate was never scored (the teacher failed). */
  scores?: { ifd: MetricView; rifd: MetricView };
  /** L(y|x), L(y), L(x|y'), L(x): what IFD and r-IFD come from. */
  losses: { yGivenX?: LossView; y?: LossView; xGivenY?: LossView; x?: LossView };
  critique?: string;
  /** Fields whose teacher output was unusable, so the original text was kept there. */
  fallbacks: { field: 'instruction' | 'response'; reason: string }[];
  notes: string[];
  teacher?: TeacherCallView;
  teacherError?: string;
  /** Left out of the comparison, and why. */
  ineligible?: string;
  scoreError?: string;
  /**
   * The record line with this candidate's pair written back in the record's own format (no line
   * terminator). Absent for the original and for a candidate without a rewrite.
   */
  line?: string;
  /** The candidate's instruction (and input) with the original response; only when both sides changed. */
  instructionOnlyLine?: string;
  /** The original instruction (and input) with the candidate's response; only when both sides changed. */
  responseOnlyLine?: string;
  /** Why the pair could not be written back into the record. */
  lineError?: string;
}

export interface DecisionView {
  stage: 'instruction' | 'response';
  metric: 'ifd' | 'rifd';
  rule: 'higher' | 'lower';
  between: [CandidateId, CandidateId];
  chosen: CandidateId;
  reason: string;
}

/** Everything about one record's reflection that the diff view shows and Accept needs. */
export interface ReflectionView {
  /** The document URI as the server knows it. */
  uri: string;
  /** 0-based line of the record. */
  line: number;
  /** Document version and the line's text when the reflection started: Accept checks both. */
  version: number;
  originalText: string;
  /** The record format the lines are written in (alpaca, sharegpt, ...). */
  format: string;
  mode: ReflectionMode;
  candidates: CandidateView[];
  decisions: DecisionView[];
  /** The candidate the student kept; null when the released rule (both < 1) dropped the record. */
  kept: CandidateId | null;
  changed: boolean;
  reason: string;
  gate?: { passed: boolean; reason: string };
  usage: { calls: number; promptTokens: number; completionTokens: number; cachedReflections: number };
  error?: string;
  teacher: { model: string; endpoint: string; promptVersion: string };
  student: { model: string; template: string; ifdVariant: string };
}

// ---- the diff webview's messages ---------------------------------------------------------------

/** Which part of a candidate Accept writes. */
export type AcceptFields = 'both' | 'instruction' | 'response';
export const ACCEPT_FIELDS: readonly AcceptFields[] = ['both', 'instruction', 'response'];

export type RecordState = 'pending' | 'accepted' | 'rejected';

export interface RecordStatus {
  state: RecordState;
  /** What happened, in words (shown under the actions). */
  detail?: string;
}

/**
 * host -> webview. `show` replaces the content; its `session` is new for every new set of records,
 * so a webview restored with the same session keeps the candidates the user picked.
 */
export type HostMessage =
  | { type: 'show'; session: string; records: ReflectionView[]; statuses: RecordStatus[]; index: number; title: string }
  | { type: 'status'; index: number; status: RecordStatus }
  | { type: 'notice'; level: 'info' | 'error'; text: string };

/** webview -> host */
export type WebviewMessage =
  | { type: 'ready' }
  | { type: 'navigate'; index: number }
  | { type: 'accept'; index: number; candidate: CandidateId; fields: AcceptFields }
  | { type: 'reject'; index: number }
  | { type: 'openDiff'; index: number; candidate: CandidateId };

/** What the webview keeps with setState, and what the panel serializer gets back after a reload. */
export interface PanelState {
  v: 1;
  session: string;
  title: string;
  records: ReflectionView[];
  statuses: RecordStatus[];
  index: number;
  /** The candidate shown for each record (by index), when the user picked one. */
  shown: Record<number, CandidateId>;
}

// ---- guards: both sides check what crosses the boundary ------------------------------------------

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isIndex = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;
const isString = (v: unknown): v is string => typeof v === 'string';
const oneOf = <T extends string>(values: readonly T[], v: unknown): v is T => typeof v === 'string' && (values as readonly string[]).includes(v);

export function isWebviewMessage(value: unknown): value is WebviewMessage {
  if (!isObject(value)) return false;
  switch (value.type) {
    case 'ready':
      return true;
    case 'navigate':
      return isIndex(value.index);
    case 'accept':
      return isIndex(value.index) && oneOf(CANDIDATE_IDS, value.candidate) && value.candidate !== 'original' && oneOf(ACCEPT_FIELDS, value.fields);
    case 'reject':
      return isIndex(value.index);
    case 'openDiff':
      return isIndex(value.index) && oneOf(CANDIDATE_IDS, value.candidate);
    default:
      return false;
  }
}

function isRecordStatus(value: unknown): value is RecordStatus {
  return isObject(value) && oneOf(['pending', 'accepted', 'rejected'] as const, value.state) && (value.detail === undefined || isString(value.detail));
}

function isCandidateView(value: unknown): value is CandidateView {
  return (
    isObject(value) &&
    oneOf(CANDIDATE_IDS, value.id) &&
    isString(value.instruction) &&
    isString(value.input) &&
    isString(value.response) &&
    Array.isArray(value.fallbacks) &&
    Array.isArray(value.notes) &&
    isObject(value.losses) &&
    (value.line === undefined || isString(value.line)) &&
    (value.instructionOnlyLine === undefined || isString(value.instructionOnlyLine)) &&
    (value.responseOnlyLine === undefined || isString(value.responseOnlyLine))
  );
}

/** A structural check of a reflection result (what a restored panel state or a server reply holds). */
export function isReflectionView(value: unknown): value is ReflectionView {
  return (
    isObject(value) &&
    isString(value.uri) &&
    isIndex(value.line) &&
    typeof value.version === 'number' &&
    isString(value.originalText) &&
    isString(value.format) &&
    oneOf(REFLECTION_MODES, value.mode) &&
    Array.isArray(value.candidates) &&
    value.candidates.length > 0 &&
    value.candidates.every(isCandidateView) &&
    (value.candidates[0] as CandidateView).id === 'original' &&
    Array.isArray(value.decisions) &&
    (value.kept === null || oneOf(CANDIDATE_IDS, value.kept)) &&
    typeof value.changed === 'boolean' &&
    isString(value.reason) &&
    isObject(value.usage) &&
    isObject(value.teacher) &&
    isObject(value.student)
  );
}

export function isHostMessage(value: unknown): value is HostMessage {
  if (!isObject(value)) return false;
  switch (value.type) {
    case 'show':
      return (
        Array.isArray(value.records) &&
        value.records.every(isReflectionView) &&
        Array.isArray(value.statuses) &&
        value.statuses.length === value.records.length &&
        value.statuses.every(isRecordStatus) &&
        isIndex(value.index) &&
        (value.records.length === 0 || value.index < value.records.length) &&
        isString(value.session) &&
        isString(value.title)
      );
    case 'status':
      return isIndex(value.index) && isRecordStatus(value.status);
    case 'notice':
      return oneOf(['info', 'error'] as const, value.level) && isString(value.text);
    default:
      return false;
  }
}

/** A saved panel state, or undefined when it is missing or not one (an older version, a corrupt state). */
export function panelState(value: unknown): PanelState | undefined {
  if (!isObject(value) || value.v !== 1 || !isString(value.title) || !isString(value.session)) return undefined;
  const { records, statuses, index, shown } = value;
  if (!Array.isArray(records) || records.length === 0 || !records.every(isReflectionView)) return undefined;
  if (!Array.isArray(statuses) || statuses.length !== records.length || !statuses.every(isRecordStatus)) return undefined;
  if (!isIndex(index) || index >= records.length) return undefined;
  const picked: Record<number, CandidateId> = {};
  if (isObject(shown)) {
    for (const [key, id] of Object.entries(shown)) {
      const i = Number(key);
      if (isIndex(i) && i < records.length && oneOf(CANDIDATE_IDS, id)) picked[i] = id;
    }
  }
  return { v: 1, session: value.session, title: value.title, records, statuses, index, shown: picked };
}
