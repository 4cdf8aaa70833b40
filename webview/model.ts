/**
 * The reflection view's logic, free of the DOM: word diffs as data, which candidate to show, which
 * actions apply, the score rows and the keyboard shortcuts. render.ts turns these into elements;
 * the unit tests run this file in Node.
 */
import { diffWordsWithSpace } from 'diff';
import type { AcceptFields, CandidateId, CandidateView, LossView, MetricView, PairField, ReflectionView } from '../src/protocol/reflectionView';

export type SegmentKind = 'same' | 'added' | 'removed';

/** A run of text in a diff: dataset text, always rendered as text. */
export interface Segment {
  kind: SegmentKind;
  text: string;
}

/** Diffs longer than this (in ms) give up and show the whole text as replaced. */
const DIFF_TIMEOUT_MS = 1500;

/** A word-level diff of two texts (whitespace runs are tokens too, so nothing is lost). */
export function wordDiff(before: string, after: string): Segment[] {
  if (before === after) return before === '' ? [] : [{ kind: 'same', text: before }];
  const changes = diffWordsWithSpace(before, after, { timeout: DIFF_TIMEOUT_MS });
  if (!changes) {
    const whole: Segment[] = [];
    if (before) whole.push({ kind: 'removed', text: before });
    if (after) whole.push({ kind: 'added', text: after });
    return whole;
  }
  const segments: Segment[] = [];
  for (const change of changes) {
    if (change.value === '') continue;
    const kind: SegmentKind = change.added ? 'added' : change.removed ? 'removed' : 'same';
    const last = segments[segments.length - 1];
    if (last && last.kind === kind) last.text += change.value;
    else segments.push({ kind, text: change.value });
  }
  return segments;
}

/** The two sides of a diff: the original with what was removed, the rewrite with what was added. */
export function diffSides(segments: Segment[]): { before: Segment[]; after: Segment[] } {
  return {
    before: segments.filter((s) => s.kind !== 'added'),
    after: segments.filter((s) => s.kind !== 'removed'),
  };
}

export interface FieldDiff {
  field: PairField;
  label: string;
  changed: boolean;
  /** Both texts are empty: the field is not shown (an input most records do not have). */
  empty: boolean;
  before: Segment[];
  after: Segment[];
  /** Words added and removed, for a summary a screen reader can say. */
  added: number;
  removed: number;
}

const FIELD_LABELS: Record<PairField, string> = { instruction: 'Instruction', input: 'Input', response: 'Response' };

function words(text: string): number {
  return text.split(/\s+/).filter(Boolean).length;
}

export function fieldDiffs(original: CandidateView, shown: CandidateView): FieldDiff[] {
  return (['instruction', 'input', 'response'] as const).map((field) => {
    const a = original[field];
    const b = shown[field];
    const segments = wordDiff(a, b);
    const { before, after } = diffSides(segments);
    return {
      field,
      label: FIELD_LABELS[field],
      changed: a !== b,
      empty: a === '' && b === '',
      before,
      after,
      added: segments.filter((s) => s.kind === 'added').reduce((n, s) => n + words(s.text), 0),
      removed: segments.filter((s) => s.kind === 'removed').reduce((n, s) => n + words(s.text), 0),
    };
  });
}

export const CANDIDATE_TITLES: Record<CandidateId, string> = {
  original: 'Original',
  'instruction-reflected': 'Instruction rewrite',
  'response-reflected': 'Response rewrite',
};

/**
 * The candidate shown first: the one the student kept when it is a rewrite; otherwise the last
 * rewrite the teacher delivered (so the user can still see, and overrule, what was turned down);
 * the original only when there is no rewrite at all.
 */
export function defaultCandidate(view: ReflectionView): CandidateId {
  if (view.kept && view.kept !== 'original') return view.kept;
  const rewrites = view.candidates.filter((c) => c.id !== 'original' && c.teacherError === undefined);
  return rewrites.length > 0 ? rewrites[rewrites.length - 1].id : 'original';
}

export function shownCandidate(view: ReflectionView, picked: CandidateId | undefined): CandidateView {
  const id = picked && view.candidates.some((c) => c.id === picked) ? picked : defaultCandidate(view);
  return view.candidates.find((c) => c.id === id) ?? view.candidates[0];
}

export interface ActionState {
  enabled: boolean;
  /** Why it is disabled (a tooltip and what the status line says when it is tried). */
  why?: string;
}

export interface Actions {
  accept: ActionState;
  acceptInstruction: ActionState;
  acceptResponse: ActionState;
  openDiff: ActionState;
}

/** Which actions apply to the candidate on screen. */
export function actionsFor(candidate: CandidateView): Actions {
  if (candidate.id === 'original') {
    const why = 'The original is what the file holds: pick a rewrite to accept it.';
    return { accept: { enabled: false, why }, acceptInstruction: { enabled: false, why }, acceptResponse: { enabled: false, why }, openDiff: { enabled: false, why } };
  }
  if (candidate.line === undefined) {
    const why = candidate.teacherError !== undefined ? `No rewrite: the teacher call failed (${candidate.teacherError}).` : (candidate.lineError ?? 'This rewrite cannot be written back into the record.');
    return { accept: { enabled: false, why }, acceptInstruction: { enabled: false, why }, acceptResponse: { enabled: false, why }, openDiff: { enabled: false, why } };
  }
  const split = candidate.instructionOnlyLine !== undefined && candidate.responseOnlyLine !== undefined;
  const onlyOne = 'Only one side of this rewrite changed: Accept takes it.';
  return {
    accept: { enabled: true },
    acceptInstruction: split ? { enabled: true } : { enabled: false, why: onlyOne },
    acceptResponse: split ? { enabled: true } : { enabled: false, why: onlyOne },
    openDiff: { enabled: true },
  };
}

export type Shortcut = 'accept' | 'acceptInstruction' | 'acceptResponse' | 'reject' | 'next' | 'previous' | 'openDiff';

/** The keys, as the panel documents them. Alt+letter by physical key, so other layouts and macOS's Option work too. */
export const SHORTCUTS: { action: Shortcut; key: string; code: string; label: string }[] = [
  { action: 'accept', key: 'Alt+A', code: 'KeyA', label: 'Accept the rewrite shown' },
  { action: 'acceptInstruction', key: 'Alt+I', code: 'KeyI', label: 'Accept its instruction only' },
  { action: 'acceptResponse', key: 'Alt+S', code: 'KeyS', label: 'Accept its response only' },
  { action: 'reject', key: 'Alt+R', code: 'KeyR', label: 'Reject' },
  { action: 'openDiff', key: 'Alt+D', code: 'KeyD', label: "Open in VS Code's diff editor" },
  { action: 'next', key: 'Alt+N', code: 'KeyN', label: 'Next record' },
  { action: 'previous', key: 'Alt+P', code: 'KeyP', label: 'Previous record' },
];

export interface KeyLike {
  altKey: boolean;
  ctrlKey: boolean;
  metaKey: boolean;
  shiftKey: boolean;
  code: string;
}

export function shortcutFor(event: KeyLike): Shortcut | undefined {
  if (!event.altKey || event.ctrlKey || event.metaKey || event.shiftKey) return undefined;
  return SHORTCUTS.find((s) => s.code === event.code)?.action;
}

export const ACCEPT_FIELDS_OF: Record<'accept' | 'acceptInstruction' | 'acceptResponse', AcceptFields> = {
  accept: 'both',
  acceptInstruction: 'instruction',
  acceptResponse: 'response',
};

// ---- numbers -----------------------------------------------------------------------------------

export function formatValue(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '—';
  return value.toFixed(4);
}

export interface ScoreRow {
  label: string;
  /** What the row means, for a tooltip. */
  hint: string;
  before: string;
  after: string;
  /** Why a value is missing, when one is. */
  reason?: string;
  /** The rewrite is better on this row by the stage's rule (higher IFD, lower r-IFD); undefined when not comparable or not a decision metric. */
  better?: boolean;
  /** The candidate's value fails the selection gate (IFD < 1, r-IFD < 1): a "better" IFD of 1.0011 is still dropped. */
  failsGate?: boolean;
}

function metricRow(label: string, hint: string, a: MetricView | undefined, b: MetricView | undefined, rule: 'higher' | 'lower', decides: boolean): ScoreRow {
  const row: ScoreRow = { label, hint, before: formatValue(a?.value), after: formatValue(b?.value) };
  const reason = [a?.value === null ? a.reason : undefined, b?.value === null ? b.reason : undefined].filter(Boolean).join('; ');
  if (reason) row.reason = reason;
  if (decides && typeof a?.value === 'number' && typeof b?.value === 'number' && a.value !== b.value) row.better = rule === 'higher' ? b.value > a.value : b.value < a.value;
  if (typeof b?.value === 'number' && b.value >= GATE_LIMIT) row.failsGate = true;
  return row;
}

function lossRow(label: string, hint: string, a: LossView | undefined, b: LossView | undefined): ScoreRow {
  const text = (l: LossView | undefined): string => (l && l.mean !== null ? `${l.mean.toFixed(4)} (${l.n} tok)` : '—');
  return { label, hint, before: text(a), after: text(b) };
}

/**
 * IFD, r-IFD and the four losses they come from, for the original and the candidate shown. Better /
 * worse is marked only on the metrics a stage of this reflection decided by (`decidedBy`).
 */
export function scoreRows(original: CandidateView, shown: CandidateView, decidedBy: readonly ('ifd' | 'rifd')[] = ['ifd', 'rifd']): ScoreRow[] {
  return [
    metricRow('IFD', 'Instruction-following difficulty: the instruction stage keeps the higher IFD.', original.scores?.ifd, shown.scores?.ifd, 'higher', decidedBy.includes('ifd')),
    metricRow('r-IFD', 'Reversed IFD: the response stage keeps the lower r-IFD.', original.scores?.rifd, shown.scores?.rifd, 'lower', decidedBy.includes('rifd')),
    lossRow('L(y|x)', 'Mean loss of the response after the instruction.', original.losses.yGivenX, shown.losses.yGivenX),
    lossRow('L(y)', 'Mean loss of the response alone.', original.losses.y, shown.losses.y),
    lossRow("L(x|y')", 'Mean loss of the instruction after the response.', original.losses.xGivenY, shown.losses.xGivenY),
    lossRow('L(x)', 'Mean loss of the instruction alone.', original.losses.x, shown.losses.x),
  ];
}

/**
 * The released selection's gate (IFD < 1 and r-IFD < 1), which is also where the default filter
 * (`sift filter`, IFD < 1) and the worst colour cut: a pair at or above 1 on either is dropped there.
 */
export const GATE_LIMIT = 1;

/** Which side of the gate a candidate falls on, and why, in words; undefined without both scores. */
export function gateOf(candidate: CandidateView): { passes: boolean; why: string; ifdFails: boolean } | undefined {
  const ifd = candidate.scores?.ifd.value;
  const rifd = candidate.scores?.rifd.value;
  if (typeof ifd !== 'number' || typeof rifd !== 'number') return undefined;
  const ifdFails = ifd >= GATE_LIMIT;
  const fails = [ifdFails ? `IFD ${ifd.toFixed(4)} ≥ 1` : '', rifd >= GATE_LIMIT ? `r-IFD ${rifd.toFixed(4)} ≥ 1` : ''].filter(Boolean);
  return { passes: fails.length === 0, why: fails.length === 0 ? 'IFD < 1 and r-IFD < 1' : fails.join(' and '), ifdFails };
}

/**
 * When the gate was not applied (`sift.reflection.gateBothBelowOne` off) and the record the student
 * kept fails it: what the gate and the default filter would do, and whether the original would
 * pass. Undefined when there is no conflict to show.
 */
export function gateConflict(view: ReflectionView): string | undefined {
  if (view.gate || view.kept === null) return undefined;
  const kept = view.candidates.find((c) => c.id === view.kept);
  const keptGate = kept && gateOf(kept);
  if (!kept || !keptGate || keptGate.passes) return undefined;
  const name = view.kept === 'original' ? 'The original' : `The ${CANDIDATE_TITLES[kept.id].toLowerCase()} the student chose`;
  const filter = keptGate.ifdFails ? ", and so would the default filter (IFD < 1)" : ' (the default filter, IFD < 1 only, keeps it)';
  const original = view.kept === 'original' ? undefined : view.candidates.find((c) => c.id === 'original');
  const originalGate = original && gateOf(original);
  const instead = originalGate?.passes ? ` The original passes (${originalGate.why}): Reject keeps it.` : '';
  return `${name} has ${keptGate.why}: the released selection's gate (IFD < 1 and r-IFD < 1) would drop this record${filter}.${instead}`;
}

/** The action the view highlights: Accept when the student chose a rewrite that passes the gate, Reject otherwise. */
export function primaryAction(view: ReflectionView): 'accept' | 'reject' {
  if (view.kept === null || view.kept === 'original') return 'reject';
  return gateConflict(view) === undefined ? 'accept' : 'reject';
}

/** One sentence on what the student decided for this record. */
export function decisionHeadline(view: ReflectionView): { text: string; tone: 'changed' | 'kept' | 'dropped' | 'error' } {
  if (view.kept === null) return { text: 'Dropped by the released rule (both IFD and r-IFD must be below 1)', tone: 'dropped' };
  if (view.error && !view.changed) return { text: 'The reflection did not finish', tone: 'error' };
  if (view.kept === 'original') return { text: 'The student kept the original', tone: 'kept' };
  return { text: `The student chose the ${CANDIDATE_TITLES[view.kept].toLowerCase()}`, tone: 'changed' };
}

/** Visible warnings: fallbacks, teacher failures, unscorable or ineligible rewrites, notes. */
export function warningsOf(view: ReflectionView, shown: CandidateView): string[] {
  const out: string[] = [];
  for (const c of view.candidates) {
    const name = CANDIDATE_TITLES[c.id];
    for (const f of c.fallbacks) out.push(`${name}: the teacher's ${f.field} was unusable (${f.reason}); the original ${f.field} was kept there.`);
    if (c.teacherError !== undefined) out.push(`${name}: the teacher call failed: ${c.teacherError}`);
    if (c.scoreError !== undefined) out.push(`${name}: the student could not score it: ${c.scoreError}`);
    if (c.ineligible !== undefined && c.fallbacks.length === 0) out.push(`${name}: not compared: ${c.ineligible}`);
    if (c.lineError !== undefined) out.push(`${name}: ${c.lineError}`);
  }
  if (view.error) out.push(`Error: ${view.error}`);
  if (shown.id !== 'original') for (const note of shown.notes) out.push(`${CANDIDATE_TITLES[shown.id]}: ${note}`);
  return out;
}
