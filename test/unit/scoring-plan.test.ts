import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ifd, rifd } from '../../src/core/metrics/ifd';
import { planSequence, type SpanRequest } from '../../src/core/scoring/plan';

// One token per character: counts in the reasons are easy to check.
const tokens = (text: string): number[] => [...text].map((c) => c.charCodeAt(0));

describe('planSequence: a span that cannot be scored says exactly why, with token counts', () => {
  it('names the reverse prompt, its length with BOS and the model context', () => {
    const request: SpanRequest = { kind: 'xGivenY', context: 'r'.repeat(529), target: 'Write a story.', whole: false };
    assert.equal(
      planSequence(request, tokens, 1, 'clean', 512),
      'the reverse prompt alone is 530 tokens (with BOS); the model context is 512, so no instruction token fits',
    );
  });

  it('names the prompt for IFD and leaves BOS out for a model without one', () => {
    const request: SpanRequest = { kind: 'yGivenX', context: 'p'.repeat(600), target: 'Once upon a time.', whole: false };
    assert.equal(planSequence(request, tokens, undefined, 'clean', 512), 'the prompt alone is 600 tokens; the model context is 512, so no response token fits');
  });

  it('names the empty field', () => {
    assert.equal(planSequence({ kind: 'x', context: '', target: '', whole: false }, tokens, 1, 'clean', 512), 'empty instruction: no tokens to score');
    assert.equal(planSequence({ kind: 'y', context: '', target: '', whole: false }, tokens, 1, 'clean', 512), 'empty response: no tokens to score');
  });
});

describe('IFD and r-IFD pass the span reason on', () => {
  it('gives the reason of the unscorable conditioned span, not a guess between two causes', () => {
    const unscorable = 'the reverse prompt alone is 530 tokens (with BOS); the model context is 512, so no instruction token fits';
    const result = rifd({ mean: Number.NaN, n: 0, unscorable }, { mean: 2, n: 5 });
    assert.deepEqual(result, { value: null, reason: `no instruction tokens scored for L(x|y'): ${unscorable}` });
    assert.doesNotMatch(result.reason ?? '', /, or /);
  });

  it('keeps the two possible causes for a score stored before reasons were kept', () => {
    assert.match(ifd({ mean: Number.NaN, n: 0 }, { mean: 2, n: 5 }).reason ?? '', /empty response, or the prompt fills the context/);
  });
});
