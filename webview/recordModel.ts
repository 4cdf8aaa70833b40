/**
 * The words of the record view, with no DOM: what each turn is called, where the record stands in
 * the file, what a percentile and a colour mean, and which actions apply. record.ts only lays them out.
 */
import type { RecordAction, RecordBucket, RecordDetails, RecordMetric, RecordRank, RecordTurn } from '../src/protocol/recordView';

const ROLE_NAMES: Record<RecordTurn['role'], string> = { system: 'System', user: 'User', assistant: 'Assistant' };

/** Formats whose records are one instruction and one response (no roles to show). */
const SINGLE_TURN = new Set(['alpaca', 'prompt-completion', 'qa', 'candidates', 'custom']);

/** A turn's heading: the field name for single-turn formats, the role (and what the scorer does with it) for conversations. */
export function turnTitle(turn: RecordTurn, format: string): string {
  if (SINGLE_TURN.has(format)) return turn.part === 'instruction' ? 'Instruction' : turn.part === 'input' ? 'Input' : turn.part === 'response' ? 'Response' : ROLE_NAMES[turn.role];
  if (turn.part === 'instruction') return `${ROLE_NAMES[turn.role]} · the instruction scored`;
  if (turn.part === 'input') return 'Input';
  if (turn.part === 'response') return `${ROLE_NAMES[turn.role]} · the response scored`;
  return ROLE_NAMES[turn.role];
}

/** 1 -> "1st", 22 -> "22nd", 13 -> "13th". */
export function ordinal(n: number): string {
  const mod100 = n % 100;
  const suffix = mod100 >= 11 && mod100 <= 13 ? 'th' : n % 10 === 1 ? 'st' : n % 10 === 2 ? 'nd' : n % 10 === 3 ? 'rd' : 'th';
  return `${n}${suffix}`;
}

/** "the worst of 40 by IFD", "3rd worst of 40 by IFD", "2nd best of 40 by IFD", "the best of 40 by IFD". */
export function rankText(rank: RecordRank): string {
  const { position, of, metric } = rank;
  if (position === 1) return `the worst of ${of} by ${metric}`;
  if (position === of) return `the best of ${of} by ${metric}`;
  const fromBest = of - position + 1;
  return position <= fromBest ? `${ordinal(position)} worst of ${of} by ${metric}` : `${ordinal(fromBest)} best of ${of} by ${metric}`;
}

/** What a percentile ranks by, in words. */
export function percentileText(metric: RecordMetric, scored: number): string | undefined {
  if (metric.percentile === undefined) return undefined;
  return `${Math.round(metric.percentile)}% of the ${scored} scored record${scored === 1 ? '' : 's'} in this file have an ${metric.label} at or below this one.`;
}

const BUCKET_NAMES: Record<RecordBucket, string> = {
  0: 'best',
  1: 'good',
  2: 'middle',
  3: 'poor',
  4: 'worst',
  [-1]: 'scoring',
  [-2]: 'no value',
};

/** The colour of a value in words (the swatch is never the only sign). */
export function bucketText(bucket: RecordBucket): string {
  return BUCKET_NAMES[bucket];
}

/** What the view says of a record that has no scores to show. */
export function stateText(details: RecordDetails): string | undefined {
  switch (details.state) {
    case 'scored':
      return details.unverified;
    case 'pending':
      return 'Scoring this record…';
    case 'waiting':
      return 'Waiting for the scoring endpoint, which did not answer: this record is scored as soon as it answers again.';
    case 'failed':
      return `This record could not be scored${details.failure ? `: ${details.failure}` : '.'}`;
    case 'unscored':
      return 'Not scored yet: run Sift: Score File or Score Selection.';
    case 'invalid':
      return 'This line is not a record Sift can score:';
    case 'blank':
      return 'A blank line: not a record.';
  }
}

export interface ActionButton {
  action: RecordAction;
  label: string;
  title: string;
  secondary: boolean;
}

/** The buttons for a record: reflect and drop on records, the overview when it is installed, and a way back to the line. */
export function actionButtons(details: RecordDetails, overview: boolean): ActionButton[] {
  const buttons: ActionButton[] = [];
  const record = details.state !== 'invalid' && details.state !== 'blank';
  if (record) buttons.push({ action: 'reflect', label: 'Reflect…', title: 'Selective reflection: the teacher rewrites, the student decides', secondary: false });
  if (details.state !== 'blank') buttons.push({ action: 'drop', label: 'Drop record', title: 'Delete this line from the dataset (an ordinary edit: undo restores it)', secondary: true });
  if (overview) buttons.push({ action: 'overview', label: 'Open overview', title: 'Sift: Dataset Overview of this file', secondary: true });
  buttons.push({ action: 'reveal', label: `Go to line ${details.line + 1}`, title: 'Put the cursor on this record in the dataset', secondary: true });
  return buttons;
}
