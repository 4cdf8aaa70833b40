/** The overview view's DOM-free pieces: numbers near a threshold, sentences for screen readers, sorting, the messages' checks, refresh pacing. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defaultExportPath, nextRefreshDelay } from '../../src/client/overviewPanelModel';
import { checkRules, isOverviewWebviewMessage } from '../../src/protocol/overviewView';
import type { Histogram, OverviewRow } from '../../src/protocol/overview';
import { binRows, countsSentence, formatValue, histogramSentence, sortRows } from '../../webview/overviewModel';

test('a value next to a threshold shows the digits that decide it', () => {
  assert.equal(formatValue(1.0011, 1), '1.001');
  assert.equal(formatValue(0.99999, 1), '0.99999');
  assert.equal(formatValue(0.8234, 1), '0.823');
  assert.equal(formatValue(null), '—');
});

test('counts and histograms in words', () => {
  assert.equal(countsSentence({ records: 12, scored: 8, kept: 6, dropped: 3, unscored: 3, invalid: 1 }, true), 'Kept 6 of 8 scored records (75%), dropped 3, 3 not scored yet (scoring), 1 invalid line; 12 records in the file.');
  const h: Histogram = { metric: 'ifd', lo: 0.5, width: 0.25, total: [1, 4, 2], kept: [1, 3, 0], values: 7, min: 0.55, max: 1.2, below: 0, above: 0 };
  assert.deepEqual(binRows(h)[1], { from: 0.75, to: 1, total: 4, kept: 3 });
  assert.equal(histogramSentence(h), 'IFD histogram of 7 records, from 0.55 to 1.2; 4 kept. Most records are between 0.75 and 1.');
});

test('table rows sort by a column, records without the value last', () => {
  const rows: OverviewRow[] = [
    { line: 3, values: { ifd: 0.5, rifd: null }, kept: true, reason: '' },
    { line: 1, values: { ifd: 0.9, rifd: 0.4 }, kept: false, reason: '' },
    { line: 2, values: { ifd: 0.5, rifd: 0.7 }, kept: true, reason: '' },
  ];
  assert.deepEqual(sortRows(rows, { key: 'ifd', descending: true }).map((r) => r.line), [1, 2, 3]);
  assert.deepEqual(sortRows(rows, { key: 'rifd', descending: false }).map((r) => r.line), [1, 2, 3]);
  assert.deepEqual(sortRows(rows, { key: 'rifd', descending: true }).map((r) => r.line), [2, 1, 3]);
  assert.deepEqual(sortRows(rows, { key: 'line', descending: false }).map((r) => r.line), [1, 2, 3]);
});

test('messages from the webview are checked before use', () => {
  assert.deepEqual(checkRules({ ifdMax: 1, topFraction: 0.1, extra: 'x' }), { ifdMax: 1, topFraction: 0.1 });
  assert.equal(checkRules({ topFraction: 0 }), undefined);
  assert.equal(checkRules({ ifdMax: 'x' }), undefined);
  assert.equal(isOverviewWebviewMessage({ type: 'reveal', line: 0 }), false);
  assert.equal(isOverviewWebviewMessage({ type: 'reveal', line: 4 }), true);
  assert.equal(isOverviewWebviewMessage({ type: 'rules', rules: { rifdMax: Infinity } }), false);
  assert.equal(isOverviewWebviewMessage({ type: 'open', path: '/etc/passwd' }), false);
});

test('refreshes for streaming scores are paced by how long the last one took', () => {
  assert.equal(nextRefreshDelay(1000, undefined, false), 0);
  assert.equal(nextRefreshDelay(1000, { startedAt: 900, took: 50 }, true), 0);
  assert.equal(nextRefreshDelay(1000, { startedAt: 900, took: 50 }, false), 300);
  assert.equal(nextRefreshDelay(1000, { startedAt: 900, took: 800 }, false), 1500);
  assert.equal(defaultExportPath('/d/data.jsonl'), '/d/data.selected.jsonl');
  assert.equal(defaultExportPath('C:\\d\\x'), 'C:\\d\\x.selected.jsonl');
});
