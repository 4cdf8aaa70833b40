// How the local engine can get a log-prob out of llama.cpp, per scored position, on the bundled model:
// the cost of each request form on the same sequences (µs per token, best of 3), relative to asking
// for nothing (plain evaluation) and to the cheapest request that still makes llama.cpp produce the
// logits (`generateNext: { token: true }` at temperature 0). `includeSelected` is the form the scorer
// uses (sequenceLogprobs.ts); `includeMax` was the old, wrong one (node-llama-cpp adds the max only
// when it is already in the list); `includeTop: 1` is correct but sorts the vocabulary every time.
import { availableParallelism } from 'node:os';

const FORMS = {
  'plain evaluation (no logits)': null,
  'logits, cheapest request (token, temperature 0)': () => ({ generateNext: { token: true } }),
  'filter [target] + includeSelected + Σ (used)': (next) => ({ generateNext: { logits: { filter: { tokens: [next], includeSelected: true } }, totalLogitWeight: true, options: { temperature: 0 } } }),
  'filter [target] + includeMax + Σ (old, wrong)': (next) => ({ generateNext: { logits: { filter: { tokens: [next], includeMax: true } }, totalLogitWeight: true } }),
  'filter [target] + includeTop 1 + Σ': (next) => ({ generateNext: { logits: { filter: { tokens: [next], includeTop: 1 } }, totalLogitWeight: true } }),
  'all logits (softmax in JavaScript)': () => ({ generateNext: { logits: true } }),
};

export const ALL_LOGITS_FORM = 'all logits (softmax in JavaScript)';
export const USED_FORM = 'filter [target] + includeSelected + Σ (used)';
export const FLOOR_FORM = 'logits, cheapest request (token, temperature 0)';
export const PLAIN_FORM = 'plain evaluation (no logits)';
export const TOP_FORM = 'filter [target] + includeTop 1 + Σ';

export async function benchLogprobForms(modelPath, sequences, { rounds = 3, skip = [] } = {}) {
  const { getLlama, LlamaLogLevel } = await import('node-llama-cpp');
  const llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error, progressLogs: false, skipDownload: true });
  const model = await llama.loadModel({ modelPath });
  const contextSize = Math.min(model.trainContextSize, 4096);
  const context = await model.createContext({ contextSize, batchSize: Math.max(512, contextSize), threads: availableParallelism() });
  const sequence = context.getSequence();
  const tokens = sequences.reduce((n, s) => n + s.length, 0);
  const results = {};
  try {
    for (const [name, request] of Object.entries(FORMS)) {
      if (skip.includes(name)) continue;
      let best = Infinity;
      for (let round = 0; round < rounds; round++) {
        const started = performance.now();
        for (const ids of sequences) {
          await sequence.clearHistory();
          if (request === null) await sequence.evaluateWithoutGeneratingNewTokens(ids);
          else await sequence.controlledEvaluate(ids.map((t, i) => (i + 1 < ids.length ? [t, request(ids[i + 1])] : t)));
        }
        best = Math.min(best, performance.now() - started);
      }
      results[name] = { microsecondsPerToken: (best * 1000) / tokens };
    }
  } finally {
    await context.dispose();
    await model.dispose();
  }
  const floor = results[FLOOR_FORM].microsecondsPerToken;
  for (const r of Object.values(results)) r.ratioToLogitsFloor = r.microsecondsPerToken / floor;
  return { vocabulary: model.fileInfo?.metadata?.tokenizer?.ggml?.tokens?.length, tokens, results };
}
