/**
 * The table `sift score` prints at the end of a run, on a million records: it printed nothing and
 * the run failed ("Maximum call stack size exceeded") when the minimum and maximum were taken by
 * spreading every value into Math.min / Math.max. Checked against values whose extremes are known
 * by construction.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { printSummary, RunSummary } from '../../src/cli/summary';

test('the summary of a million records: every count, and the minimum and maximum, by hand', () => {
  const n = 1_000_000;
  const summary = new RunSummary();
  // IFD of record i: 0.5 + (i * 7919 % n) / n; 7919 is prime to n, so i -> i * 7919 % n is a
  // permutation of 0 .. n - 1. Record 0 (the residue 0) failed: the others run from 0.500001 to
  // 1.499999, and exactly n / 2 of them (the residues n / 2 .. n - 1) are >= 1.
  for (let i = 0; i < n; i++) {
    summary.add(i === 0 ? { error: 'refused', ifd: null, rifd: null, ds: null, not_computable: {} } : { error: null, ifd: 0.5 + ((i * 7919) % n) / n, rifd: null, ds: null, not_computable: {} });
  }
  let printed = '';
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string) => ((printed += chunk), true)) as typeof process.stdout.write;
  try {
    printSummary(summary, ['ifd'], { stats: { records: n, cached: 0, evaluatedTokens: 0, invalid: 0, notes: [] } as never, modelId: 'm', endpoint: 'e', seconds: 1 });
  } finally {
    process.stdout.write = write;
  }
  assert.match(printed, /^999999 of 1000000 records scored, 1 failed/);
  const ifd = printed.split('\n').find((line) => line.startsWith('IFD '))!.trim().split(/\s+/);
  // metric, scored, not computable, mean, p10, median, p90, min, max, >= 1 (count and share)
  assert.equal(ifd[1], '999999');
  assert.equal(Number(ifd[7]), 0.5, 'the minimum 0.500001 shown to 4 decimals');
  assert.equal(Number(ifd[8]), 1.5, 'the maximum 1.499999 shown to 4 decimals');
  assert.equal(ifd[9], '500000');
  // The sorted values are 0.5 + k / n for k = 1 .. n - 1: mean 1, and the quantiles by the
  // interpolation rule of core/metrics/summary.ts at (n - 2) * q.
  assert.deepEqual(ifd.slice(3, 7), ['1.0000', '0.6000', '1.0000', '1.4000'], 'mean, p10, median, p90');
});
