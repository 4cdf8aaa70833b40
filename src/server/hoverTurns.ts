import type { MetricName } from '../core/metrics/types';
import type { RecordScore } from '../core/scoring/recordScore';
import type { SiftSettings } from '../protocol';
import { METRIC_LABELS } from './presentation';

/**
 * The per-turn part of a record's hover: for a multi-turn record, each assistant turn's scores
 * (each given the whole conversation before it) and which of them the record's score is; and how a
 * sequence was built when it departs from the rule (the chat template's token-prefix fallback).
 * Empty for a single-turn record scored by the rule.
 */
export function turnsHover(score: RecordScore, settings: SiftSettings): string[] {
  const parts: string[] = [];
  if (score.turns && score.turns.length > 1) {
    const metrics: MetricName[] = settings.metrics.filter((m) => score.turns!.some((t) => t.metrics[m] !== undefined));
    const header = `| turn | ${metrics.map((m) => METRIC_LABELS[m]).join(' | ')} |`;
    const rule = `|---:|${metrics.map(() => '---:|').join('')}`;
    const rows = score.turns.map((turn, k) => `| ${k + 1} | ${metrics.map((m) => formatValue(turn.metrics[m]?.value)).join(' | ')} |`);
    const which = settings.turnScore === 'last' ? 'the last turn' : `the ${settings.turnScore} over turns`;
    parts.push(`**Assistant turns** (each given the conversation before it; the record's score is ${which}, \`turnScore\`)\n\n${[header, rule, ...rows].join('\n')}`);
  }
  for (const note of score.notes ?? []) parts.push(`_Note:_ ${note}`);
  return parts;
}

function formatValue(value: number | null | undefined): string {
  return typeof value === 'number' ? value.toFixed(4) : '—';
}
