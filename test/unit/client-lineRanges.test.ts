import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { linesToRequest, mergeLineRanges, selectionLines } from '../../src/client/lineRanges';

describe('linesToRequest', () => {
  it('widens the viewport by the margin and clamps to the document', () => {
    assert.deepEqual(linesToRequest([{ start: 500, end: 540 }], 10_000, 100), [{ start: 400, end: 640 }]);
    assert.deepEqual(linesToRequest([{ start: 0, end: 40 }], 60, 100), [{ start: 0, end: 59 }]);
  });

  it('merges ranges that overlap or touch once widened, keeps distant ones apart', () => {
    assert.deepEqual(
      linesToRequest([{ start: 200, end: 220 }, { start: 0, end: 20 }, { start: 5000, end: 5010 }], 10_000, 100),
      [{ start: 0, end: 320 }, { start: 4900, end: 5110 }],
    );
    assert.deepEqual(linesToRequest([{ start: 0, end: 9 }, { start: 30, end: 39 }], 100, 10), [{ start: 0, end: 49 }]);
  });

  it('caps the total number of lines', () => {
    assert.deepEqual(linesToRequest([{ start: 0, end: 5000 }], 10_000, 100, 2000), [{ start: 0, end: 1999 }]);
    assert.deepEqual(
      linesToRequest([{ start: 0, end: 10 }, { start: 900, end: 950 }], 10_000, 0, 30),
      [{ start: 0, end: 10 }, { start: 900, end: 918 }],
    );
  });

  it('handles empty documents, reversed and non-finite ranges', () => {
    assert.deepEqual(linesToRequest([{ start: 0, end: 0 }], 0), []);
    assert.deepEqual(linesToRequest([{ start: 20, end: 10 }], 100, 0), [{ start: 10, end: 20 }]);
    assert.deepEqual(linesToRequest([{ start: Number.NaN, end: 3 }], 100, 0), []);
  });
});

describe('selectionLines', () => {
  const sel = (l1: number, c1: number, l2: number, c2: number) => ({ start: { line: l1, character: c1 }, end: { line: l2, character: c2 } });

  it('covers the lines the selection touches', () => {
    assert.deepEqual(selectionLines(sel(3, 4, 7, 2)), { start: 3, end: 7 });
  });

  it('does not count a line the selection only reaches at column 0', () => {
    assert.deepEqual(selectionLines(sel(3, 0, 8, 0)), { start: 3, end: 7 });
  });

  it('is the cursor line for an empty selection', () => {
    assert.deepEqual(selectionLines(sel(5, 0, 5, 0)), { start: 5, end: 5 });
  });

  it('merges multi-cursor selections', () => {
    assert.deepEqual(mergeLineRanges([{ start: 10, end: 12 }, { start: 1, end: 2 }, { start: 3, end: 4 }, { start: 11, end: 20 }]), [
      { start: 1, end: 4 },
      { start: 10, end: 20 },
    ]);
  });
});
