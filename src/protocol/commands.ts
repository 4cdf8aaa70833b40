/**
 * The server's commands (`workspace/executeCommand`), each declared once with its argument types,
 * its result type and a decoder for the arguments any LSP client may send (a hover link, Helix's
 * prompt, a hand-written Neovim mapping). The server's command table runs the decoded arguments;
 * the VS Code client calls the same declarations, so both sides agree on the shapes at compile time.
 */

import type { ReflectionMode, ReflectionView } from './reflectionView';
import type { FilterOptions, FilterResult, PendingTeacherBatch, ReflectionBatchParams, ReflectionBatchResult, ReflectionEstimate } from './index';

/** Arguments a command cannot run with; the message says what was expected (the server answers InvalidParams). */
export class CommandArgumentError extends Error {
  override name = 'CommandArgumentError';
}

/** One server command: `Args` is what a client sends, `Result` what it gets back. */
export interface ServerCommand<Args extends unknown[], Result> {
  readonly id: string;
  /** The arguments as sent, checked and typed; throws CommandArgumentError. */
  decode(args: readonly unknown[]): Args;
  /** The first argument names the open dataset the command acts on: the server checks it before the others. */
  readonly onDocument: boolean;
  /** Never set: carries the result type to `run` on both sides. */
  readonly result?: Result;
}

export type CommandArgs<C> = C extends ServerCommand<infer A, unknown> ? A : never;
export type CommandResult<C> = C extends ServerCommand<unknown[], infer R> ? R : never;

/** The command ids (hover links and code actions name them; the client's markdown allows exactly these). */
export const Commands = {
  scoreFile: 'sift.scoreFile',
  scoreLines: 'sift.scoreLines',
  cancel: 'sift.cancel',
  filterFile: 'sift.filterFile',
  clearScores: 'sift.clearScores',
  dropRecord: 'sift.dropRecord',
  reflect: 'sift.reflect',
  estimateReflection: 'sift.estimateReflection',
  reflectBatch: 'sift.reflectBatch',
  teacherBatches: 'sift.teacherBatches',
  sampleQuestion: 'sift.sampleQuestion',
} as const;

function command<Args extends unknown[], Result>(id: (typeof Commands)[keyof typeof Commands], decode: (args: readonly unknown[]) => Args): ServerCommand<Args, Result> {
  return { id, decode, onDocument: false };
}

/** A command whose first argument is the URI of an open dataset. */
function documentCommand<Args extends [string, ...unknown[]], Result>(id: (typeof Commands)[keyof typeof Commands], decode: (args: readonly unknown[]) => Args): ServerCommand<Args, Result> {
  return { id, decode, onDocument: true };
}

/** A document URI; the server says which documents are open (`not an open dataset: ...`). */
function uri(value: unknown): string {
  if (typeof value !== 'string') throw new CommandArgumentError(`not an open dataset: ${String(value)}`);
  return value;
}

/** A URI, or none (every open dataset) when the argument is missing or not a string. */
function optionalUri(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** A 0-based line; a numeric string (from a command URI) is taken too. */
function line(value: unknown): number {
  const n = typeof value === 'number' ? value : Number(value);
  if (!Number.isInteger(n) || n < 0) throw new CommandArgumentError(`expected a 0-based line number, got ${String(value)}`);
  return n;
}

/** A document version: anything else means "no version check". */
function optionalVersion(value: unknown): number | undefined {
  return typeof value === 'number' ? value : undefined;
}

/** An options object; its fields are checked by the code that uses them (the filter, the reflection). */
function options<T extends object>(value: unknown): T {
  return (value ?? {}) as T;
}

export interface ScoreResult {
  queued: number;
}

export interface DropResult {
  applied: boolean;
  reason?: string;
}

/** [uri?]: no URI (Helix's prompt sends none) scores every open dataset. */
export const ScoreFileCommand = command<[uri?: string], ScoreResult>(Commands.scoreFile, (a) => [a[0] === undefined ? undefined : uri(a[0])]);

/** [uri, startLine, endLine] (0-based, inclusive; endLine defaults to startLine). */
export const ScoreLinesCommand = documentCommand<[uri: string, startLine: number, endLine: number], ScoreResult>(Commands.scoreLines, (a) => {
  const first = line(a[1]);
  return [uri(a[0]), first, line(a[2] ?? a[1])];
});

/** [uri?]: no URI stops every job. */
export const CancelCommand = command<[uri?: string], { cancelled: number }>(Commands.cancel, (a) => [optionalUri(a[0])]);

/** [uri, FilterOptions]: the kept records written to `outPath` (the filter checks the options). */
export const FilterFileCommand = documentCommand<[uri: string, options: FilterOptions], FilterResult>(Commands.filterFile, (a) => [uri(a[0]), a[1] as FilterOptions]);

/** [uri?]: the score store of that dataset (every open dataset sharing it loses its scores); no URI: every open dataset's. */
export const ClearScoresCommand = command<[uri?: string], { cleared: number }>(Commands.clearScores, (a) => [optionalUri(a[0])]);

/**
 * [uri, line, version?] (0-based line): deletes that record line through workspace/applyEdit (an
 * ordinary, undoable edit). Used by the hover's "Drop record" link; the code action carries the
 * same edit directly. With a version, a document that has changed since is left alone.
 */
export const DropRecordCommand = documentCommand<[uri: string, line: number, version?: number], DropResult>(Commands.dropRecord, (a) => [uri(a[0]), line(a[1]), optionalVersion(a[2])]);

/**
 * [uri, line, mode, version?, { apply? }]: the selective reflection pipeline for one record
 * (0-based line; mode `instruction` | `response` | `selective`, default `selective`; the reflection
 * checks it). With a version, a document that has changed since is refused. With `apply`, a record
 * the student changed is written back through workspace/applyEdit (for editors without Sift's diff view).
 */
export const ReflectCommand = documentCommand<[uri: string, line: number, mode?: ReflectionMode, version?: number, options?: { apply?: boolean }], ReflectionView>(
  Commands.reflect,
  (a) => [uri(a[0]), line(a[1]), (a[2] ?? 'selective') as ReflectionMode, optionalVersion(a[3]), { apply: (a[4] as { apply?: unknown } | undefined)?.apply === true }],
);

/** What a batch would cost, before it runs. */
export const EstimateReflectionCommand = documentCommand<[uri: string, params: ReflectionBatchParams], ReflectionEstimate>(Commands.estimateReflection, (a) => [
  uri(a[0]),
  options<ReflectionBatchParams>(a[1]),
]);

/**
 * Runs a batch, with $/progress and cancel; resumable from the reflection cache. With `batch: true`
 * the teacher's requests go through the Batch API; cancelling stops waiting (the batch goes on and
 * the same command picks it up).
 */
export const ReflectBatchCommand = documentCommand<[uri: string, params: ReflectionBatchParams], ReflectionBatchResult>(Commands.reflectBatch, (a) => [
  uri(a[0]),
  options<ReflectionBatchParams>(a[1]),
]);

/** [uri of a `.sift/teacher-batches.json`]: the pending teacher batches it records, by dataset. */
export const TeacherBatchesCommand = command<[jobsFile: string], PendingTeacherBatch[]>(Commands.teacherBatches, (a) => {
  if (typeof a[0] !== 'string') throw new CommandArgumentError(`expected the URI of a teacher batch file, got ${String(a[0])}`);
  return [a[0]];
});

/** What "Sample candidates for this question" wrote. */
export interface SampleQuestionResult {
  /** The CANDIDATES file beside the dataset (`<name>.candidates.jsonl`), as a path and a file URI. */
  path: string;
  uri: string;
  /** Lines added to it (a line it already held is not added again). */
  added: number;
  /** The question's candidates (k). */
  candidates: number;
  /** Samples the student drew now, and samples found in the sample store. */
  drawn: number;
  stored: number;
}

/** The student samples k solutions for the question on `line` (settings `sampleK`, `sampleTemperature`, `sampleSeed`, `sampleMaxTokens`). */
export const SampleQuestionCommand = documentCommand<[uri: string, line: number], SampleQuestionResult>(Commands.sampleQuestion, (a) => [uri(a[0]), line(a[1])]);
