/**
 * The record view's pieces that need no editor: the worst-first order (against the colour rule it
 * must agree with), the digits that decide a threshold, a record's turns, the host's decisions
 * (page, stale presses, messages), the webview's words, and the markdown built as elements (on a
 * small stand-in for the DOM that records what is made, so nothing here can parse HTML either).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { LineRecord } from '../../src/core/document/documentRecords';
import type { MetricName } from '../../src/core/metrics/types';
import type { RecordDetails, RecordMetric } from '../../src/protocol/recordView';
import { fileNameOf, moveMessage, pressApplies, recordPageHtml, symbolsRefreshDelay, viewContent, viewTitle } from '../../src/client/recordViewModel';
import { bucketOf, SortedValues } from '../../src/server/presentation';
import { worstFirst } from '../../src/server/recordOrder';
import { decisiveText, recordTurns } from '../../src/server/records';
import { snippet } from '../../src/server/symbols';
import { actionButtons, ordinal, percentileText, rankText, stateText, turnTitle } from '../../webview/recordModel';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function details(extra: Partial<RecordDetails> = {}): RecordDetails {
  return { uri: 'file:///d/a%20b.jsonl', version: 3, line: 4, lineCount: 10, state: 'scored', format: 'alpaca', turns: [], metrics: [], problems: [], scored: 8, unscored: 1, ...extra };
}

describe('worst-first order', () => {
  it('IFD: at or above the warning level first (highest first), then from the lowest IFD up; ties in file order', () => {
    const values = [0.5, 1.2, 0.9, 1.0, 0.2, 3, 0.5];
    const lines = [0, 1, 2, 3, 4, 5, 6].sort(worstFirst(values, 'ifd', 1));
    assert.deepEqual(lines, [5, 1, 3, 4, 0, 6, 2]);
  });

  it('r-IFD and DS: the highest first', () => {
    const values = [0.3, 1.5, 0.9, 0.3];
    assert.deepEqual([0, 1, 2, 3].sort(worstFirst(values, 'rifd', 1)), [1, 2, 0, 3]);
    assert.deepEqual([0, 1, 2, 3].sort(worstFirst(values, 'ds', 1)), [1, 2, 0, 3]);
  });

  it('agrees with the colours: along the order the bucket never gets better, for every metric and colour mode', () => {
    const next = rng(11);
    for (const metric of ['ifd', 'rifd', 'ds'] as MetricName[]) {
      for (const colorBy of ['percentile', 'thresholds'] as const) {
        for (const ifdWarnAt of [1, 0.8]) {
          const values = Array.from({ length: 200 }, () => (metric === 'ds' ? 1 + next() * 2 : next() * 1.6));
          const file = new SortedValues(values);
          const order = values.map((_, i) => i).sort(worstFirst(values, metric, ifdWarnAt));
          const buckets = order.map((i) => bucketOf(values[i], metric, { colorBy, ifdWarnAt }, file));
          for (let k = 1; k < buckets.length; k++) assert.ok(buckets[k] <= buckets[k - 1], `${metric} ${colorBy} warn ${ifdWarnAt}: bucket ${buckets[k]} after ${buckets[k - 1]}`);
        }
      }
    }
  });
});

describe('values and turns', () => {
  it('shows the digits that decide the threshold', () => {
    assert.equal(decisiveText(0.5, 1), '0.5000');
    assert.equal(decisiveText(1, 1), '1.0000');
    assert.equal(decisiveText(1.00004, 1), '1.00004');
    assert.equal(decisiveText(0.99996, 1), '0.99996');
    // Was '1.000000000000' (a 12-decimal cap), which reads as exactly 1 though the value is above
    // it. The one rule the labels use prints the value to the digit where it leaves the threshold,
    // so the view and the line label (decisiveNumber) now both show 1.0000000000001.
    assert.equal(decisiveText(1.0000000000001, 1), '1.0000000000001');
    assert.equal(decisiveText(1.00004, undefined), '1.0000');
  });

  it('lists a conversation turn by turn: context, then the scored instruction, its input and the response', () => {
    const line = {
      pair: { instruction: 'Q2', input: 'data', response: 'A2', history: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Q1' }, { role: 'assistant', content: 'A1' }] },
    } as LineRecord;
    assert.deepEqual(recordTurns(line), [
      { role: 'system', part: 'history', content: 'Be brief.' },
      { role: 'user', part: 'history', content: 'Q1' },
      { role: 'assistant', part: 'history', content: 'A1' },
      { role: 'user', part: 'instruction', content: 'Q2' },
      { role: 'user', part: 'input', content: 'data' },
      { role: 'assistant', part: 'response', content: 'A2' },
    ]);
    assert.deepEqual(recordTurns({ pair: { instruction: 'Q', input: '', response: 'A', history: [] } } as unknown as LineRecord).map((t) => t.part), ['instruction', 'response']);
    assert.deepEqual(recordTurns({} as LineRecord), []);
  });

  it('symbol snippets are one line, cut with an ellipsis', () => {
    assert.equal(snippet('  Write\na  poem\tabout the sea. '), 'Write a poem about the sea.');
    assert.equal(snippet('x'.repeat(80), 10), `${'x'.repeat(9)}…`);
  });
});

describe('record view host', () => {
  it('the page: one script with the nonce, no inline code allowed, nothing from outside the bundle', () => {
    const html = recordPageHtml({ cspSource: 'vscode-resource:', nonce: 'N0nce', scriptUri: 'vscode-resource:/dist/webview/record.js', styleUri: 'vscode-resource:/dist/webview/record.css' });
    const csp = /content="([^"]+)"/.exec(html)![1];
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'nonce-N0nce'(;|$)/);
    assert.doesNotMatch(csp, /unsafe-(inline|eval)/);
    assert.equal(html.match(/<script/g)?.length, 1);
    assert.match(html, /<script nonce="N0nce" src="vscode-resource:\/dist\/webview\/record.js"><\/script>/);
  });

  it('says why there is no record, and titles a record by line and file', () => {
    assert.match((viewContent(undefined, undefined, false) as { text: string }).text, /Put the cursor on a record/);
    assert.match((viewContent(undefined, 'file:///a.jsonl', false) as { text: string }).text, /not running/);
    assert.match((viewContent(null, 'file:///d/big.jsonl', false) as { text: string }).text, /^big\.jsonl is not a dataset/);
    const content = viewContent(details(), 'file:///d/a%20b.jsonl', true);
    assert.deepEqual(content, { kind: 'record', details: details(), fileName: 'a b.jsonl', overview: true });
    assert.equal(viewTitle(content), 'Record 5 · a b.jsonl');
    assert.equal(fileNameOf('untitled:Untitled-1'), 'untitled:Untitled-1');
  });

  it('a press applies only to the record, line and version it was made on', () => {
    const press = { type: 'action', action: 'drop', uri: 'file:///d/a%20b.jsonl', line: 4, version: 3 } as const;
    assert.equal(pressApplies(press, details()), true);
    assert.equal(pressApplies({ ...press, version: 2 }, details()), false);
    assert.equal(pressApplies({ ...press, line: 5 }, details()), false);
    assert.equal(pressApplies(press, undefined), false);
  });

  it('refreshes the symbols of a large file less often', () => {
    assert.equal(symbolsRefreshDelay(41), 1505);
    assert.equal(symbolsRefreshDelay(100_000), 11_500);
  });

  it('says where a move by score landed, or why it did not', () => {
    assert.equal(moveMessage({ target: { line: 7, position: 3, label: 'IFD 1.02 · r-IFD 0.40' }, of: 40, metric: 'IFD', unscored: 0 }, 'next'), 'Sift: record 3 of 40 by IFD, worst first (line 8) — IFD 1.02 · r-IFD 0.40');
    assert.equal(moveMessage({ of: 40, metric: 'IFD', unscored: 2, message: 'This is the best record by IFD.' }, 'next'), 'Sift: This is the best record by IFD. (2 records not scored yet)');
    assert.match(moveMessage(null, 'previous'), /not a dataset/);
  });
});

describe('record view words', () => {
  const metric = (extra: Partial<RecordMetric>): RecordMetric => ({ metric: 'ifd', label: 'IFD', value: 0.5, text: '0.5000', bucket: 1, meaning: 'm', ...extra });

  it('names turns by field for single-turn formats and by role for conversations', () => {
    assert.equal(turnTitle({ role: 'user', part: 'instruction', content: '' }, 'alpaca'), 'Instruction');
    assert.equal(turnTitle({ role: 'user', part: 'input', content: '' }, 'alpaca'), 'Input');
    assert.equal(turnTitle({ role: 'assistant', part: 'response', content: '' }, 'qa'), 'Response');
    assert.equal(turnTitle({ role: 'system', part: 'history', content: '' }, 'messages'), 'System');
    assert.equal(turnTitle({ role: 'user', part: 'instruction', content: '' }, 'sharegpt'), 'User · the instruction scored');
    assert.equal(turnTitle({ role: 'assistant', part: 'response', content: '' }, 'messages'), 'Assistant · the response scored');
  });

  it('ranks and percentiles in words', () => {
    assert.deepEqual([1, 2, 3, 4, 11, 12, 13, 21, 22, 23, 101, 111].map(ordinal), ['1st', '2nd', '3rd', '4th', '11th', '12th', '13th', '21st', '22nd', '23rd', '101st', '111th']);
    assert.equal(rankText({ position: 1, of: 40, metric: 'IFD' }), 'the worst of 40 by IFD');
    assert.equal(rankText({ position: 3, of: 40, metric: 'IFD' }), '3rd worst of 40 by IFD');
    assert.equal(rankText({ position: 39, of: 40, metric: 'IFD' }), '2nd best of 40 by IFD');
    assert.equal(rankText({ position: 40, of: 40, metric: 'r-IFD' }), 'the best of 40 by r-IFD');
    assert.equal(percentileText(metric({ percentile: 56.4 }), 40), '56% of the 40 scored records in this file have an IFD at or below this one.');
    assert.equal(percentileText(metric({}), 40), undefined);
  });

  it('offers reflect and drop on records, drop alone on invalid lines, the overview only when it exists', () => {
    const actions = (d: RecordDetails, overview: boolean) => actionButtons(d, overview).map((b) => b.action);
    assert.deepEqual(actions(details(), true), ['reflect', 'drop', 'overview', 'reveal']);
    assert.deepEqual(actions(details(), false), ['reflect', 'drop', 'reveal']);
    assert.deepEqual(actions(details({ state: 'invalid' }), false), ['drop', 'reveal']);
    assert.deepEqual(actions(details({ state: 'blank' }), false), ['reveal']);
    assert.equal(stateText(details({ state: 'failed', failure: 'HTTP 500' })), 'This record could not be scored: HTTP 500');
    assert.equal(stateText(details({ state: 'waiting' })), 'Waiting for the scoring endpoint, which did not answer: this record is scored as soon as it answers again.');
    assert.deepEqual(actions(details({ state: 'waiting' }), false), ['reflect', 'drop', 'reveal']);
    assert.equal(stateText(details()), undefined);
  });
});
