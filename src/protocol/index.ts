/**
 * The custom part of the protocol between Sift's language server and its VS Code client. Everything
 * an LSP editor needs (diagnostics, hovers, inlay hints, code actions, commands, $/progress) is
 * standard LSP; these extra messages only feed the VS Code client's colours and status item.
 * Each message is declared once as a typed message object (its method and its parameter and result
 * types), and both sides send and handle that object. Both sides import this file; it imports
 * nothing from either.
 */

import { NotificationType, RequestType } from 'vscode-languageserver-protocol';
import type { ReflectionSettings, SiftSettings } from './settings';
import type { ReflectionMode, ReflectionView } from './reflectionView';

export { DEFAULT_REFLECTION_SETTINGS, DEFAULT_SETTINGS, type ReflectionSettings, type SiftSettings } from './settings';
export * from './commands';
export * from './datasets';
export * from './overview';
export * from './records';

/** initializationOptions of the server. The API key comes from SecretStorage, never from settings. */
export interface InitializationOptions {
  settings: SiftSettings;
  scorerApiKey?: string;
  /** Folder holding Sift's package.json and models/ (the extension's install folder). */
  packageRoot: string;
  /**
   * Serve textDocument/inlayHint (default true). A client that draws the same labels itself from
   * LineScoresRequest (the VS Code extension's decorations) can set false so they are not shown twice.
   */
  inlayHints?: boolean;
  /** Teacher reflection settings (default: no teacher). The teacher's key comes in `teacherApiKey`. */
  reflection?: ReflectionSettings;
  teacherApiKey?: string;
  /**
   * The client shows reflection results itself (the VS Code diff view). Other clients get code
   * actions that apply the record the student kept straight away, as an ordinary edit.
   */
  reflectionView?: boolean;
  /**
   * The client renders `command:` links in hover markdown (VS Code does; Neovim and Helix show them
   * as raw URL-encoded text). LSP has no capability for it, so the client says so here; without it
   * hovers point to the code actions, which carry the same commands.
   */
  commandLinks?: boolean;
  /**
   * Advertise textDocument/documentSymbol (default true). The VS Code client sets false and asks
   * anyway through a provider of its own, which it registers again as scores land: VS Code keeps a
   * document's symbols until the text changes, and LSP has no message to say they changed.
   */
  documentSymbols?: boolean;
  /**
   * The client says which lines are on screen in its `sift/lineScores` requests (the VS Code client
   * does, just after a dataset opens): a new score job waits a moment for them, so that its first
   * record is one on screen.
   */
  visibleLines?: boolean;
  /**
   * The workspace is trusted (default true: editors without workspace trust). In a restricted
   * workspace, stored scores that this installation did not compute are shown as unverified, and
   * reflections from a cache that came with the folder are asked of the teacher again.
   */
  workspaceTrusted?: boolean;
}

/**
 * client -> server notification: settings (or a key) changed. For a client that answers
 * workspace/configuration the server takes the keys, keeps the settings as the base of what it
 * pulls, and pulls every document's settings again; for other clients they are every document's.
 */
export interface SettingsChangedParams {
  settings: SiftSettings;
  scorerApiKey?: string;
  reflection?: ReflectionSettings;
  /** Absent: unchanged; '' clears it. */
  teacherApiKey?: string;
  /** Absent: unchanged (see InitializationOptions.workspaceTrusted). */
  workspaceTrusted?: boolean;
}
export const SettingsChangedNotification = new NotificationType<SettingsChangedParams>('sift/settingsChanged');

/** Colour bucket of a record: 0 = best for the student ... 4 = worst; -1 = pending; -2 = no score. */
export type ScoreBucket = -2 | -1 | 0 | 1 | 2 | 3 | 4;

export interface LineScore {
  /** 0-based line. */
  line: number;
  /** Short text shown at the line end, e.g. `IFD 0.82 · r-IFD 0.41`. */
  label: string;
  bucket: ScoreBucket;
}

/** client -> server request: scores of the lines in a range (the visible range plus a margin). */
export interface LineScoresParams {
  uri: string;
  /** The document version the client sees; a reply for another version is dropped by the client. */
  version: number;
  startLine: number;
  endLine: number;
  /**
   * The lines of the range that are on screen (0-based, inclusive), when the range is wider: their
   * records are scored before the rest of the file, shortest first.
   */
  visible?: { startLine: number; endLine: number };
}
export interface LineScoresResult {
  version: number;
  scores: LineScore[];
}
export const LineScoresRequest = new RequestType<LineScoresParams, LineScoresResult, void>('sift/lineScores');

/** server -> client notification: new scores landed for a document; re-request the visible range. */
export interface ScoresChangedParams {
  uri: string;
}
export const ScoresChangedNotification = new NotificationType<ScoresChangedParams>('sift/scoresChanged');

/** server -> client notification: job and endpoint state for the language status item. */
export interface StatusParams {
  uri?: string;
  scored: number;
  total: number;
  running: boolean;
  endpoint: string;
  /** Model id used in the store key (no secrets). */
  model: string;
  reachable: boolean | undefined;
  message?: string;
  /** Each configured endpoint URL's health (HTTP backends, once connected), in settings order. */
  endpoints?: EndpointHealthParams[];
  /** Records of this document that failed because the endpoint was down: re-scored when it answers. */
  waiting?: number;
}

/** Whether one endpoint URL (replica) answers, and when it is tried again if not. */
export interface EndpointHealthParams {
  /** Display URL (no credentials). */
  url: string;
  up: boolean;
  /** While down: since when (ms since the epoch). */
  downSince?: number;
  /** While down: why the last request or probe failed. */
  lastError?: string;
  /** While down: when the server probes it next (ms since the epoch). */
  nextProbeAt?: number;
}
export const StatusNotification = new NotificationType<StatusParams>('sift/status');

/** Which records a reflection batch covers: one of these (checked in this order). */
export interface ReflectionSelection {
  /** 0-based lines. */
  lines?: number[];
  /** The N records with the lowest IFD (records without a score yet are scored first). */
  lowest?: number;
  all?: boolean;
}

export interface ReflectionBatchParams extends ReflectionSelection {
  mode: ReflectionMode;
  /**
   * Send the teacher's requests through the Batch API (about half the price, results within 24 h;
   * a selective run takes one batch per stage). The dataset's pending batches are picked up first.
   */
  batch?: boolean;
}

/** What the teacher calls of an estimate cost in money (the price table and `sift.teacher.priceFile`). */
export interface ReflectionCost {
  currency: string;
  /** As synchronous calls, and as a batch. */
  sync: number;
  batch: number;
  /** The price list entry used. */
  priced: string;
  /** Per 1M tokens. */
  input: number;
  output: number;
  asOf: string;
  /** `built-in` or the price file's path. */
  source: string;
}

export interface ReflectionEstimate {
  /** The records the batch covers (0-based lines), in file order: pass them back as `lines` to run exactly these. */
  lines: number[];
  version: number;
  /** Selected lines that are not records that can be reflected (invalid, blank, unscorable). */
  skipped: number;
  mode: ReflectionMode;
  /** Teacher calls at most, and those the reflection cache answers. */
  calls: number;
  cachedCalls: number;
  promptTokens: number;
  completionTokens: number;
  estimatedTokens: number;
  structured: boolean;
  teacher: { model: string; endpoint: string };
  /** Undefined when the price table has no price for the model (`costNote` says so). */
  cost?: ReflectionCost;
  costNote?: string;
  /** Teacher batches submitted for this dataset and teacher and not finished yet: a batch run picks them up. */
  pendingBatches: number;
}

export interface ReflectionBatchResult {
  results: ReflectionView[];
  /** Records that could not be reflected at all (the document changed under them, ...). */
  failed: { line: number; error: string }[];
  /** Stopped by the user: `results` holds what had finished; running the batch again resumes from the cache. */
  cancelled: boolean;
  /** A fatal teacher error (bad key, unknown model) that stopped the batch. */
  error?: string;
  /** A batch run: the batches that answered, and whether one is still pending (stopped while waiting: it goes on at the teacher). */
  batch?: { batchIds: string[]; submittedRequests: number; pending: boolean };
  summary: { records: number; changed: number; dropped: number; failed: number; calls: number; promptTokens: number; completionTokens: number; cachedReflections: number };
}

/** A dataset's teacher batches that are not finished (or not applied) yet, as the editor picks them up. */
export interface PendingTeacherBatch {
  /** The dataset. */
  uri: string;
  mode: ReflectionMode;
  /** The records of the run (0-based lines): run `ReflectBatchCommand` with them and `batch: true` to pick it up. */
  lines: number[];
  batchIds: string[];
  teacher: { endpoint: string; model: string };
  /** Sent to the teacher configured now: only such a run is picked up (another teacher would be asked anew). */
  current: boolean;
  /** The latest batch's last known status and counts. */
  status?: string;
  counts?: { total: number; completed: number; failed: number };
  submittedAt: number;
}

/**
 * `ResponseError.data.reason` of a command error a client reacts to (rather than matching the
 * message, which is written for people and may change).
 */
export const ErrorReasons = {
  /** Reflection was asked for but no teacher is configured. */
  noTeacher: 'no-teacher',
  /** The URI is not an open dataset. */
  notOpen: 'not-open',
  /** The dataset is larger than the editor limit (MAX_DOCUMENT_CHARS): the command line covers it. */
  tooLarge: 'too-large',
} as const;
export type ErrorReason = (typeof ErrorReasons)[keyof typeof ErrorReasons];

/** `ResponseError.data.reason` when reflection is asked for but no teacher is configured. */
export const NO_TEACHER = ErrorReasons.noTeacher;


export interface FilterOptions {
  outPath: string;
  ifdMax?: number;
  rifdMax?: number;
  /** Fractions in [0, 1]. */
  topFraction?: number;
  dsKeepFraction?: number;
  selfConsistent?: boolean;
}

export interface FilterResult {
  outPath: string;
  kept: number;
  total: number;
  /** Dropped counts per rule. */
  dropped: Record<string, number>;
}
