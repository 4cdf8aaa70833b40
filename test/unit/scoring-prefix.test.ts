import assert from 'node:assert/strict';
import { test } from 'node:test';
import { scorablePrefix } from '../../src/core/scoring/plan';

test('scorablePrefix: a text that could fit the context is never cut; a longer one keeps far more than the context needs', () => {
  const maxContext = 512;
  const fits = 'a'.repeat(maxContext * 256);
  assert.equal(scorablePrefix(fits, maxContext), fits);
  const long = 'b'.repeat(50_000_000);
  const cut = scorablePrefix(long, maxContext);
  assert.ok(cut.length < 1_000_000);
  // Even at 256 characters per token the cut text holds more tokens than the context.
  assert.ok(cut.length / 256 > maxContext);
});

test('scorablePrefix never splits a surrogate pair', () => {
  const maxContext = 1;
  const budget = scorablePrefix('x'.repeat(1e6), maxContext).length;
  const text = 'x'.repeat(budget - 1) + '😀'.repeat(10);
  const cut = scorablePrefix(text, maxContext);
  assert.equal(cut, 'x'.repeat(budget - 1));
  assert.doesNotMatch(cut, /[\uD800-\uDBFF]$/);
});
