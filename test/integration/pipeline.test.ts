import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { TrainingPair } from '../../src/core/dataset/types';
import { METHOD_VERSION, meanNll, renderPrompt, renderReversePrompt, instructionText } from '../../src/core/metrics';
import { LocalScorer } from '../../src/core/scoring/local';
import type { ScoringConfig } from '../../src/core/scoring/plan';
import { toRecordScore, type RecordScore } from '../../src/core/scoring/recordScore';
import { scoreRecords, type RecordLossResult } from '../../src/core/scoring/scoreRecords';
import { ScoreStore } from '../../src/core/store';
import { bundledModel, examplesDir, tempDir } from '../helpers/paths';

let scorer: LocalScorer;
before(async () => {
  scorer = await LocalScorer.load({ modelPath: bundledModel });
});
after(async () => {
  await scorer.close();
});

const config: ScoringConfig = { metrics: ['ifd', 'rifd', 'ds'], template: 'plain', boundary: 'clean', ifdVariant: 'ppl' };

function examplePairs(): (TrainingPair & { note: string })[] {
  return readFileSync(join(examplesDir, 'tinystories-instructions.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((line) => {
      const r = JSON.parse(line) as { instruction: string; input: string; output: string; note: string };
      return { instruction: r.instruction, input: r.input, response: r.output, history: [], note: r.note };
    });
}

async function run(pairs: TrainingPair[], store: ScoreStore, options: Partial<ScoringConfig> = {}): Promise<{ scores: RecordScore[]; evaluated: number; cached: number }> {
  const results: RecordLossResult[] = [];
  const cfg = { ...config, ...options };
  const stats = await scoreRecords(pairs.map((pair, id) => ({ id, pair })), {
    scorer,
    store,
    config: cfg,
    methodVersion: METHOD_VERSION,
    chunkTokens: 600,
    onResult: (r) => results.push(r),
  });
  results.sort((a, b) => a.id - b.id);
  const scores = results.map((r) => toRecordScore(r, cfg.metrics, { ifdVariant: cfg.ifdVariant, dsRule: 'paper', validMeanLoss: 1.0 }));
  return { scores, evaluated: stats.evaluatedTokens, cached: stats.cached };
}

/** The definition, computed by hand from the scorer primitive (METHODS §2.1, §4.1, §5.2). */
async function byHand(pair: TrainingPair): Promise<{ ifd: number; rifd: number; lossXY: number }> {
  const bos = scorer.bosId!;
  const [prompt, response, reverse, x] = await scorer.tokenize([renderPrompt('plain', pair), pair.response, renderReversePrompt('plain', pair.response), instructionText(pair)]);
  const [cond, direct, revCond, xDirect] = await scorer.logprobs([[bos, ...prompt, ...response], [bos, ...response], [bos, ...reverse, ...x], [bos, ...x]]);
  const lYX = meanNll(cond, 1 + prompt.length, 1 + prompt.length + response.length).mean;
  const lY = meanNll(direct, 1, 1 + response.length).mean;
  const lXY = meanNll(revCond, 1 + reverse.length, 1 + reverse.length + x.length).mean;
  const lX = meanNll(xDirect, 1, 1 + x.length).mean;
  const whole = meanNll(cond, 1, 1 + prompt.length + response.length).mean;
  return { ifd: Math.exp(lYX - lY), rifd: Math.exp(lXY - lX), lossXY: whole };
}

// llama.cpp's float32 results move in the 8th digit with how sequences share a batch, hence 1e-7.
test('pipeline scores equal the definitions computed by hand from the scorer', async () => {
  const pairs = examplePairs();
  const { scores } = await run(pairs, ScoreStore.memory());
  for (const i of [0, 5, 13]) {
    const expected = await byHand(pairs[i]);
    assert.ok(Math.abs(scores[i].metrics.ifd!.value! - expected.ifd) < 1e-7, `IFD of record ${i}: ${scores[i].metrics.ifd!.value! - expected.ifd}`);
    assert.ok(Math.abs(scores[i].metrics.rifd!.value! - expected.rifd) < 1e-7, `r-IFD of record ${i}`);
    assert.ok(Math.abs(scores[i].losses.xy!.mean - expected.lossXY) < 1e-7, `L(x,y) of record ${i}`);
    const ds = Math.max(1 / expected.lossXY, expected.lossXY);
    assert.ok(Math.abs(scores[i].metrics.ds!.value! - ds) < 1e-7, `DS of record ${i}`);
  }
});

test('the bundled model prefers instructions that match their story', async () => {
  const pairs = examplePairs();
  const { scores } = await run(pairs, ScoreStore.memory());
  const mean = (note: string, metric: 'ifd' | 'rifd'): number => {
    const values = scores.filter((_, i) => pairs[i].note === note).map((s) => s.metrics[metric]!.value!);
    return values.reduce((a, b) => a + b, 0) / values.length;
  };
  assert.ok(mean('matched', 'rifd') < mean('mismatched', 'rifd') - 0.05, `r-IFD ${mean('matched', 'rifd')} vs ${mean('mismatched', 'rifd')}`);
  assert.ok(mean('matched', 'ifd') < mean('mismatched', 'ifd'), `IFD ${mean('matched', 'ifd')} vs ${mean('mismatched', 'ifd')}`);
});

test('a re-run scores only what the store lacks', async () => {
  const pairs = examplePairs().slice(0, 6);
  const path = join(tempDir(), 'scores.jsonl');
  const persistent = await ScoreStore.open(path);
  const a = await run(pairs, persistent);
  assert.ok(a.evaluated > 0);
  assert.equal(a.cached, 0);
  await persistent.close();
  const reopened = await ScoreStore.open(path);
  const b = await run(pairs, reopened);
  assert.equal(b.evaluated, 0);
  assert.equal(b.cached, pairs.length);
  assert.deepEqual(b.scores.map((s) => s.metrics.ifd?.value), a.scores.map((s) => s.metrics.ifd?.value));
  // Edit one record: only it is scored again.
  const edited = pairs.map((p, i) => (i === 2 ? { ...p, response: p.response + ' The end.' } : p));
  const c = await run(edited, reopened);
  assert.equal(c.cached, pairs.length - 1);
  assert.ok(c.evaluated > 0);
});

test('records that cannot be scored get no score and a reason, never 0', async () => {
  const empty: TrainingPair = { instruction: 'A story about a cat.', input: '', response: '', history: [] };
  const longPrompt: TrainingPair = { instruction: 'The cat sat. '.repeat(200), input: '', response: 'It was happy.', history: [] };
  const longResponse: TrainingPair = { instruction: 'A story.', input: '', response: 'The dog ran and ran. '.repeat(120), history: [] };
  const { scores } = await run([empty, longPrompt, longResponse], ScoreStore.memory(), { metrics: ['ifd'] });
  assert.equal(scores[0].metrics.ifd?.value, null);
  assert.match(scores[0].metrics.ifd?.reason ?? '', /empty|no tokens/);
  assert.equal(scores[1].metrics.ifd?.value, null);
  assert.equal(scores[2].truncated, true);
  assert.equal(typeof scores[2].metrics.ifd?.value, 'number');
  // Both means cover the same response tokens after the cut.
  assert.equal(scores[2].losses.yGivenX?.n, scores[2].losses.y?.n);
});
