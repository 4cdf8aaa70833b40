// Local log-probs at the vocabulary sizes real students have: synthetic llama GGUFs with random
// weights (dim 64, 2 layers; written here, nothing downloaded) with 512 / 32,000 / 151,936 /
// 256,000 entries. Per vocabulary, µs per token (best of the rounds) for:
//   - plain evaluation (no logits) and the floor: the cheapest request that makes llama.cpp produce
//     the logits at every position (`generateNext: { token: true }`, temperature 0);
//   - each request form that yields a log-prob (bench/logprobForms.mjs; the scorer uses
//     includeSelected), as a multiple of the floor;
//   - the local backend end to end (LocalScorer.logprobs) and `sift serve` (echo over HTTP).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LocalScorer } from '../out/src/core/scoring/local/index.js';
import { baseTokensOf, writeSyntheticModel } from '../out/test/helpers/syntheticGguf.js';
import { startServe } from './serve.mjs';
import { ALL_LOGITS_FORM, FLOOR_FORM, USED_FORM, benchLogprobForms } from './logprobForms.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
export const VOCABULARIES = [512, 32_000, 151_936, 256_000];


async function bestOf(rounds, run) {
  let best = Infinity;
  for (let r = 0; r < rounds; r++) {
    const started = performance.now();
    await run();
    best = Math.min(best, performance.now() - started);
  }
  return best;
}

export async function benchVocabularies({ vocabularies = VOCABULARIES, sequences = 2, length = 100, rounds = 2, log = console.log } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'sift-vocab-'));
  const base = await baseTokensOf(join(root, 'models', 'stories260K.gguf'));
  const rows = [];
  try {
    for (const vocabulary of vocabularies) {
      const modelPath = join(dir, `synthetic-${vocabulary}.gguf`);
      writeSyntheticModel(modelPath, { vocabulary, baseTokens: base });
      let seed = vocabulary;
      const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
      const ids = Array.from({ length: sequences }, () => [1, ...Array.from({ length: length - 1 }, () => 3 + (next() % (vocabulary - 3)))]);
      const tokens = ids.reduce((n, s) => n + s.length, 0);
      // A Map of every logit per position: only where the vocabulary keeps that affordable.
      const forms = await benchLogprobForms(modelPath, ids, { rounds, skip: vocabulary > 32_000 ? [ALL_LOGITS_FORM] : [] });
      const scorer = await LocalScorer.load({ modelPath, parallelSequences: 1 });
      let localMs;
      try {
        localMs = await bestOf(rounds, async () => {
          for (const s of ids) {
            await scorer.logprobs([[...s, 0]]); // a different last token each round defeats the prefix reuse
            await scorer.logprobs([[0, ...s.slice(1)]]);
          }
        });
        localMs /= 2;
      } finally {
        await scorer.close();
      }
      const serve = await startServe(['--model', modelPath]);
      let serveMs;
      try {
        const body = (prompt) => JSON.stringify({ prompt, echo: true, max_tokens: 0, logprobs: 0 });
        let flip = 0;
        serveMs = await bestOf(rounds, async () => {
          for (const s of ids) {
            const prompt = flip++ % 2 === 0 ? s : [0, ...s.slice(1)];
            const response = await fetch(`${serve.url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: body(prompt) });
            if (!response.ok) throw new Error(`sift serve answered ${response.status}: ${await response.text()}`);
            await response.json();
          }
        });
      } finally {
        await serve.stop();
      }
      const floor = forms.results[FLOOR_FORM].microsecondsPerToken;
      const row = {
        vocabulary,
        tokens,
        forms: forms.results,
        localMicrosecondsPerToken: (localMs * 1000) / tokens,
        serveMicrosecondsPerToken: (serveMs * 1000) / tokens,
      };
      row.localRatioToFloor = row.localMicrosecondsPerToken / floor;
      row.serveRatioToFloor = row.serveMicrosecondsPerToken / floor;
      row.usedRatioToFloor = forms.results[USED_FORM].microsecondsPerToken / floor;
      rows.push(row);
      const f = (name) => (forms.results[name] ? `${forms.results[name].microsecondsPerToken.toFixed(0).padStart(6)} ×${forms.results[name].ratioToLogitsFloor.toFixed(2)}` : '     –      ');
      log(
        `  ${String(vocabulary).padStart(7)} | ${Object.values(FORMS_ORDER).map(f).join(' | ')} | ` +
          `${row.localMicrosecondsPerToken.toFixed(0).padStart(6)} ×${row.localRatioToFloor.toFixed(2)} | ${row.serveMicrosecondsPerToken.toFixed(0).padStart(6)} ×${row.serveRatioToFloor.toFixed(2)}`,
      );
      rmSync(modelPath, { force: true });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}

/** Column order of the printed table. */
export const FORMS_ORDER = {
  plain: 'plain evaluation (no logits)',
  floor: FLOOR_FORM,
  used: USED_FORM,
  includeMax: 'filter [target] + includeMax + Σ (old, wrong)',
  includeTop: 'filter [target] + includeTop 1 + Σ',
  allLogits: ALL_LOGITS_FORM,
};
export const HEADER = '  vocabulary | plain (no logits) | floor: logits   | includeSelected (used) | includeMax (wrong) | includeTop 1     | all logits (JS)  | local backend    | sift serve (echo)';
