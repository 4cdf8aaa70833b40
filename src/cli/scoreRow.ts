import type { Problem } from '../core/dataset/types';
import type { RecordMetrics } from '../core/metrics/recordMetrics';
import type { MetricName, RecordLosses } from '../core/metrics/types';
import { notComputable, type RecordScore } from '../core/scoring/recordScore';

/**
 * One line of `sift score --out`: scores, the losses they came from, token counts, why a metric is
 * not computable for this record, or the error that kept the run from scoring it.
 */
export interface ScoreRow {
  line: number;
  ifd: number | null;
  rifd: number | null;
  ds: number | null;
  loss_y_given_x: number | null;
  loss_y: number | null;
  loss_x_given_y: number | null;
  loss_x: number | null;
  loss_xy: number | null;
  tokens: { y_given_x: number | null; y: number | null; x_given_y: number | null; x: number | null; xy: number | null };
  truncated: boolean;
  /** Per metric without a value because of the record's text (not a failure): the exact reason. */
  not_computable: Partial<Record<MetricName, string>>;
  /** Why the record failed: invalid, or the run could not score it (endpoint or engine error). */
  error: string | null;
  /** Multi-turn records: every assistant turn's scores, in order (the record's come from them by `--turn-score`). */
  turns?: TurnRow[];
  /** How a sequence was built when it departs from the rule (the chat template's token-prefix fallback). */
  notes?: string[];
}

/** One assistant turn of a multi-turn record, scored given the whole conversation before it. */
export type TurnRow = Pick<ScoreRow, 'ifd' | 'rifd' | 'ds' | 'loss_y_given_x' | 'loss_y' | 'loss_x_given_y' | 'loss_x' | 'loss_xy' | 'tokens'>;

const value = (x: number | undefined): number | null => (x === undefined || !Number.isFinite(x) ? null : x);

export function scoreRow(line: number, score: RecordScore, metrics: MetricName[]): ScoreRow {
  const row: ScoreRow = {
    line,
    ...turnRow(score.metrics, score.losses, metrics),
    truncated: score.truncated,
    not_computable: notComputable(score, metrics),
    error: score.error ?? null,
  };
  if (score.turns) row.turns = score.turns.map((turn) => turnRow(turn.metrics, turn.losses, metrics));
  if (score.notes) row.notes = score.notes;
  return row;
}

function turnRow(values: RecordMetrics, l: RecordLosses, metrics: MetricName[]): TurnRow {
  const metric = (name: MetricName): number | null => (metrics.includes(name) ? values[name]?.value ?? null : null);
  return {
    ifd: metric('ifd'),
    rifd: metric('rifd'),
    ds: metric('ds'),
    loss_y_given_x: value(l.yGivenX?.mean),
    loss_y: value(l.y?.mean),
    loss_x_given_y: value(l.xGivenY?.mean),
    loss_x: value(l.x?.mean),
    loss_xy: value(l.xy?.mean),
    tokens: { y_given_x: l.yGivenX?.n ?? null, y: l.y?.n ?? null, x_given_y: l.xGivenY?.n ?? null, x: l.x?.n ?? null, xy: l.xy?.n ?? null },
  };
}

export function invalidRow(line: number, problems: Problem[]): ScoreRow {
  return {
    line,
    ifd: null,
    rifd: null,
    ds: null,
    loss_y_given_x: null,
    loss_y: null,
    loss_x_given_y: null,
    loss_x: null,
    loss_xy: null,
    tokens: { y_given_x: null, y: null, x_given_y: null, x: null, xy: null },
    truncated: false,
    not_computable: {},
    error: problems.map((p) => p.message).join('; ') || 'invalid record',
  };
}
