import type { Histogram } from '../core/metrics/summary';
import { fmt } from './summary';

const BAR_WIDTH = 40;

/** A histogram as text rows: `[lo, hi)  ████████▌  count`. Eighth-blocks give sub-character bars. */
export function renderHistogram(h: Histogram): string[] {
  const max = Math.max(1, ...h.counts);
  const labels = h.counts.map((_, i) => `[${fmt(h.edges[i])}, ${fmt(h.edges[i + 1])}${i === h.counts.length - 1 ? ']' : ')'}`);
  const width = Math.max(...labels.map((l) => l.length));
  return h.counts.map((count, i) => `${labels[i].padEnd(width)}  ${bar(count / max)} ${count}`);
}

function bar(fraction: number): string {
  const eighths = Math.round(fraction * BAR_WIDTH * 8);
  const full = Math.floor(eighths / 8);
  const rest = eighths % 8;
  return ('█'.repeat(full) + (rest ? String.fromCodePoint(0x2590 - rest) : '')).padEnd(BAR_WIDTH);
}
