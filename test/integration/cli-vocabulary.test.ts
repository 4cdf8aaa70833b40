// Before a long local run, the user learns what a large vocabulary costs per token (the log-softmax
// over every entry runs on the CPU), and that a GPU server computes it instead.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { sift } from '../helpers/cli';
import { bundledModel, tempDir } from '../helpers/paths';
import { baseTokensOf, writeSyntheticModel } from '../helpers/syntheticGguf';

test('sift score names the per-token cost of a large local vocabulary before it starts, and not for a small one', async () => {
  const dir = tempDir();
  const dataset = join(dir, 'data.jsonl');
  writeFileSync(dataset, JSON.stringify({ instruction: 'Tell a story about a cat.', input: '', output: 'The cat sat in the sun.' }) + '\n');
  const large = join(dir, 'synthetic-50000.gguf');
  writeSyntheticModel(large, { vocabulary: 50_000, baseTokens: await baseTokensOf(bundledModel) });
  const withLarge = sift(['score', dataset, '--model', large, '--no-cache']);
  assert.equal(withLarge.status, 0, withLarge.stderr);
  assert.match(withLarge.stderr, /a 50,000-entry vocabulary: every scored token costs about 0\.\d ms of CPU for its log-probability/);
  assert.match(withLarge.stderr, /vLLM or SGLang server/);
  const withBundled = sift(['score', dataset, '--no-cache']);
  assert.equal(withBundled.status, 0, withBundled.stderr);
  assert.doesNotMatch(withBundled.stderr, /-entry vocabulary/);
});
