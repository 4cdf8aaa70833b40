// The engine's raw evaluation throughput on exactly the sequences `sift score` evaluates: the same
// planning code builds them, then llama.cpp evaluates each one plainly (no log-prob extraction, no
// prefix reuse, no store, no parsing) on a context of the same shape.
import { availableParallelism } from 'node:os';
import { parseFile } from '../out/src/core/dataset/index.js';
import { metricRequests, planSequence } from '../out/src/core/scoring/plan.js';
import { LocalScorer } from '../out/src/core/scoring/local/index.js';

export async function plannedSequences(datasetPath, modelPath, config) {
  const scorer = await LocalScorer.load({ modelPath });
  const unique = new Map();
  try {
    for await (const record of parseFile(datasetPath)) {
      if (!record.pair) continue;
      for (const metric of config.metrics) {
        const requests = metricRequests(metric, record.pair, config);
        const texts = [...new Set(requests.flatMap((r) => [r.context, r.target]))];
        const tokenized = await scorer.tokenize(texts);
        const ids = new Map(texts.map((t, i) => [t, tokenized[i]]));
        const spans = new Map();
        for (const request of requests) {
          const partner = request.pairedWith ? spans.get(request.pairedWith) : undefined;
          const fitted = partner && typeof partner !== 'string' ? partner.end - partner.start : undefined;
          const plan = planSequence(request, (t) => ids.get(t) ?? [], scorer.bosId, config.boundary, scorer.maxContext, fitted);
          spans.set(request.kind, plan);
          if (typeof plan !== 'string') unique.set(plan.ids.join(','), plan.ids);
        }
      }
    }
  } finally {
    await scorer.close();
  }
  return [...unique.values()];
}

/** Tokens per second of plain evaluation of `sequences`, two sequences side by side like the scorer. */
export async function rawEvaluation(modelPath, sequences, lanes = 2) {
  const { getLlama, LlamaLogLevel } = await import('node-llama-cpp');
  const llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error, progressLogs: false, skipDownload: true });
  const model = await llama.loadModel({ modelPath });
  const contextSize = Math.min(model.trainContextSize, 4096);
  const context = await model.createContext({ contextSize: contextSize * lanes, sequences: lanes, batchSize: Math.max(512, contextSize), threads: availableParallelism() });
  const tokens = sequences.reduce((n, s) => n + s.length, 0);
  const started = performance.now();
  const per = Math.ceil(sequences.length / lanes);
  await Promise.all(Array.from({ length: lanes }, async (_, lane) => {
    const sequence = context.getSequence();
    for (const ids of sequences.slice(lane * per, (lane + 1) * per)) {
      await sequence.clearHistory();
      await sequence.evaluateWithoutGeneratingNewTokens(ids);
    }
  }));
  const seconds = (performance.now() - started) / 1000;
  await context.dispose();
  await model.dispose();
  return { tokens, seconds, tokensPerSecond: tokens / seconds };
}
