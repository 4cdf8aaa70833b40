import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseShare } from '../../src/core/metrics/share';

describe('parseShare: one rule for --top, --ds-keep and the editor', () => {
  it('reads a percentage with % and a fraction below 1 as the same share', () => {
    assert.equal(parseShare('10%'), 0.1);
    assert.equal(parseShare(' 0.1 '), 0.1);
    assert.equal(parseShare('100%'), 1);
    assert.equal(parseShare('0.5%'), 0.005);
    assert.equal(parseShare('.25'), 0.25);
  });

  it('refuses a bare number of 1 or more as ambiguous, naming both readings', () => {
    assert.match(parseShare('1') as string, /ambiguous: write 1% or 100%/);
    assert.match(parseShare('10') as string, /ambiguous: write 10% \(a percentage\) or 0\.1 \(a fraction\)/);
  });

  it('refuses shares outside (0, 100%] and text that is no number', () => {
    for (const text of ['0', '0%', '150%', '-5', 'ten', '']) assert.equal(typeof parseShare(text), 'string', text);
  });
});
