import type { MetricName } from '../core/metrics/types';
import type { SiftSettings } from '../protocol';
import type { SiftDocument } from './document';
import type { SortedValues } from './presentation';

/**
 * A file's scored records, worst first by one metric: the order "next / previous record by score"
 * walks and the record view's "3rd worst of 40". Worse means what the colours mean (bucketOf in
 * presentation.ts): for IFD, records at or above `ifdWarnAt` come first (the most misaligned
 * first), then the others from the lowest IFD (the pairs the student already finds easy) up to the
 * highest; r-IFD and DS are worse the higher they are. Equal values keep file order.
 */
export function worstFirst(values: ArrayLike<number>, metric: MetricName, ifdWarnAt: number): (a: number, b: number) => number {
  const descending = (a: number, b: number): number => values[b] - values[a] || a - b;
  if (metric !== 'ifd') return descending;
  return (a, b) => {
    const aOver = values[a] >= ifdWarnAt;
    const bOver = values[b] >= ifdWarnAt;
    if (aOver !== bOver) return aOver ? -1 : 1;
    return aOver ? descending(a, b) : values[a] - values[b] || a - b;
  };
}

export interface RecordOrder {
  metric: MetricName;
  /** Lines (0-based) of the scored records, worst first. */
  lines: Int32Array;
  /** Place of a line in `lines`, or -1 for a line without a value of the metric. */
  positions: Int32Array;
}

interface Cached {
  /** The document's sorted values, rebuilt whenever a score lands or a line changes: a new object means a stale order. */
  stats: SortedValues;
  ifdWarnAt: number;
  order: RecordOrder;
}

const cache = new WeakMap<SiftDocument, Cached>();

/** The order of a document's records by `metric`, computed once per change of its scores or lines. */
export function recordOrder(doc: SiftDocument, metric: MetricName, settings: Pick<SiftSettings, 'ifdWarnAt'>): RecordOrder {
  const stats = doc.values(metric);
  const hit = cache.get(doc);
  if (hit && hit.stats === stats && hit.ifdWarnAt === settings.ifdWarnAt && hit.order.metric === metric) return hit.order;
  const count = doc.records.lineCount;
  const values = new Float64Array(count).fill(NaN);
  const scored: number[] = [];
  for (let i = 0; i < count; i++) {
    const v = doc.scoreOf(doc.records.line(i)!)?.metrics[metric]?.value;
    if (typeof v !== 'number' || !Number.isFinite(v)) continue;
    values[i] = v;
    scored.push(i);
  }
  scored.sort(worstFirst(values, metric, settings.ifdWarnAt));
  const lines = Int32Array.from(scored);
  const positions = new Int32Array(count).fill(-1);
  lines.forEach((line, place) => (positions[line] = place));
  const order = { metric, lines, positions };
  cache.set(doc, { stats, ifdWarnAt: settings.ifdWarnAt, order });
  return order;
}
