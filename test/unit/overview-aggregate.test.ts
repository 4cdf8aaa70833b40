/**
 * The overview's aggregation against independent computations: the rules re-implemented here from
 * their papers' wording (thresholds strict, top k% = floor(n * k) of what passes them, ties to the
 * earlier line), the histogram range and bins recomputed from the sorted values, the density
 * counted cell by cell.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { datasetOverview, type OverviewRecord } from '../../src/core/overview/aggregate';
import { filterCommandLine, shellQuote } from '../../src/core/overview/command';
import type { MetricResult } from '../../src/core/metrics/types';
import { seededRandom } from '../helpers/random';

const value = (v: number | null): MetricResult => (v === null ? { value: null, reason: 'empty response' } : { value: v });

function dataset(n: number, seed: number): OverviewRecord[] {
  const random = seededRandom(seed);
  const records: OverviewRecord[] = [];
  for (let i = 0; i < n; i++) {
    const scored = random() > 0.1;
    const ifd = random() < 0.03 ? null : Math.round((0.3 + random() * 1.0) * 1000) / 1000; // rounded: ties happen
    const rifd = random() < 0.2 ? null : 0.2 + random() * 1.2;
    records.push({ line: i + 1, scored, metrics: scored ? { ifd: value(ifd), rifd: value(rifd) } : {}, question: `q${i}`, response: `r${i}` });
  }
  return records;
}

/** The rules as the papers state them, written out once more without the library. */
function expectedKept(records: OverviewRecord[], ifdMax: number, rifdMax: number, top: number): number[] {
  const scored = records.filter((r) => r.scored);
  const pass = scored.filter((r) => {
    const ifd = r.metrics.ifd!.value;
    const rifd = r.metrics.rifd!.value;
    return ifd !== null && ifd < ifdMax && rifd !== null && rifd < rifdMax;
  });
  const ranked = [...pass].sort((a, b) => b.metrics.ifd!.value! - a.metrics.ifd!.value! || a.line - b.line);
  return ranked.slice(0, Math.floor(pass.length * top)).map((r) => r.line).sort((a, b) => a - b);
}

test('counts and kept records agree with the rules computed by hand', () => {
  const records = dataset(3000, 7);
  const o = datasetOverview(records, 5, { ifdMax: 1, rifdMax: 1, topFraction: 0.3 }, { dsRule: 'paper', rows: 10 });
  const kept = expectedKept(records, 1, 1, 0.3);
  const scored = records.filter((r) => r.scored).length;
  assert.equal(o.counts.kept, kept.length);
  assert.equal(o.counts.scored, scored);
  assert.equal(o.counts.unscored, records.length - scored);
  assert.equal(o.counts.invalid, 5);
  assert.equal(o.counts.records, records.length + 5);
  assert.equal(o.counts.dropped, scored - kept.length + 5);
  // Every dropped record is counted under exactly one rule.
  assert.equal(o.dropped.reduce((a, d) => a + d.count, 0), o.counts.dropped);
  const ifdDropped = records.filter((r) => r.scored && (r.metrics.ifd!.value === null || r.metrics.ifd!.value >= 1)).length;
  const ifdNoValue = records.filter((r) => r.scored && r.metrics.ifd!.value === null).length;
  assert.deepEqual(o.dropped.find((d) => d.rule === 'ifd-max'), { rule: 'ifd-max', count: ifdDropped, noValue: ifdNoValue });
  // The best table is the kept records, highest IFD first (ties: earlier line).
  const keptSet = new Set(kept);
  const best = records.filter((r) => keptSet.has(r.line)).sort((a, b) => b.metrics.ifd!.value! - a.metrics.ifd!.value! || a.line - b.line).slice(0, 10);
  assert.deepEqual(o.best.map((r) => r.line), best.map((r) => r.line));
  assert.ok(o.best.every((r) => r.kept && r.reason === 'passed every rule'));
  // The top-k% cut is drawn at the lowest IFD kept.
  assert.equal(o.cutoffs.topIfd, Math.min(...records.filter((r) => keptSet.has(r.line)).map((r) => r.metrics.ifd!.value!)));
  const worst = records.filter((r) => r.scored && r.metrics.ifd!.value !== null).sort((a, b) => b.metrics.ifd!.value! - a.metrics.ifd!.value! || a.line - b.line).slice(0, 10);
  assert.deepEqual(o.worst.map((r) => r.line), worst.map((r) => r.line));
});

test('histogram bins and the density match a recount from the sorted values', () => {
  const records = dataset(5000, 11);
  const o = datasetOverview(records, 0, { ifdMax: 1 }, { dsRule: 'paper', bins: 30, densityBins: 12 });
  const keptLines = new Set(records.filter((r) => r.scored && r.metrics.ifd!.value !== null && r.metrics.ifd!.value < 1).map((r) => r.line));
  for (const metric of ['ifd', 'rifd'] as const) {
    const h = o.histograms.find((x) => x.metric === metric)!;
    const scored = records.filter((r) => r.scored && r.metrics[metric]!.value !== null);
    const values = scored.map((r) => r.metrics[metric]!.value!).sort((a, b) => a - b);
    // The range: the 0.1% and 99.9% order statistics, widened to include 1.
    const lo = Math.min(values[Math.floor(0.001 * values.length)], 1);
    const hi = Math.max(values[Math.ceil(0.999 * values.length) - 1], 1);
    assert.equal(h.lo, lo);
    assert.ok(Math.abs(h.lo + h.width * 30 - hi) < 1e-6 * (hi - lo), `${metric}: the bins end at the range's top`);
    assert.equal(h.values, values.length);
    assert.equal(h.min, values[0]);
    assert.equal(h.max, values[values.length - 1]);
    const total = new Array(30).fill(0);
    const kept = new Array(30).fill(0);
    for (const r of scored) {
      const v = r.metrics[metric]!.value!;
      const i = Math.min(29, Math.max(0, Math.floor((v - h.lo) / h.width)));
      total[i]++;
      if (keptLines.has(r.line)) kept[i]++;
    }
    assert.deepEqual(h.total, total);
    assert.deepEqual(h.kept, kept);
    assert.equal(h.below, values.filter((v) => v < h.lo).length);
    assert.equal(h.above, values.filter((v) => v >= h.lo + h.width * 30).length);
  }
  const d = o.density!;
  const both = records.filter((r) => r.scored && r.metrics.ifd!.value !== null && r.metrics.rifd!.value !== null);
  assert.equal(d.points, both.length);
  assert.equal(d.total.reduce((a, b) => a + b, 0), both.length);
  const cell = (v: number, axis: typeof d.x): number => Math.min(axis.bins - 1, Math.max(0, Math.floor((v - axis.lo) / axis.width)));
  const expected = new Array(144).fill(0);
  for (const r of both) expected[cell(r.metrics.rifd!.value!, d.y) * 12 + cell(r.metrics.ifd!.value!, d.x)]++;
  assert.deepEqual(d.total, expected);
});

test('records not scored yet are neither kept nor dropped, and a file without scores has no charts', () => {
  const records: OverviewRecord[] = [1, 2, 3].map((line) => ({ line, scored: false, metrics: {}, question: 'q', response: 'r' }));
  const o = datasetOverview(records, 1, { ifdMax: 1 }, { dsRule: 'paper' });
  assert.deepEqual(o.counts, { records: 4, scored: 0, kept: 0, dropped: 1, unscored: 3, invalid: 1 });
  assert.deepEqual(o.histograms, []);
  assert.equal(o.density, undefined);
  assert.equal(o.rankedBy, undefined);
});

test('the equivalent command line names the same rules in sift filter’s flags', () => {
  assert.equal(filterCommandLine('data/a b.jsonl', { ifdMax: 1, rifdMax: 0.9, topFraction: 0.1, dsKeepFraction: 0.25, selfConsistent: true }, 'repo', 'out.jsonl'),
    "sift filter 'data/a b.jsonl' --self-consistent --ifd-max 1 --rifd-max 0.9 --ds-keep 25% --top 10% --ds-rule repo --out out.jsonl");
  assert.equal(filterCommandLine('x.jsonl', { topFraction: 0.07 }, 'paper', 'y.jsonl'), 'sift filter x.jsonl --top 7% --out y.jsonl');
  assert.equal(shellQuote("it's"), `'it'\\''s'`);
});
