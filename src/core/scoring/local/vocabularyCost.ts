/**
 * What a local run costs per token beyond the model's forward pass, said before a long run.
 *
 * Each scored position needs log p(token) = l − max − log Σ exp(l − max) over the whole
 * vocabulary. Through node-llama-cpp 3.22.1 the cheapest correct request (sequenceLogprobs.ts)
 * costs about 1.8–1.9× the cheapest request that makes llama.cpp produce the logits at 152k–256k
 * entries (`npm run bench`, synthetic models with a 64-wide hidden layer, where the output layer is
 * nearly all the work): one extra copy of the candidate array and one `expf` pass per position, about
 * 0.8 ms at 152k entries on this kind of CPU. For a real student that is a small share of its forward
 * pass; for a tiny model with a large vocabulary it doubles the time.
 */
export const LARGE_VOCABULARY = 32_768;

/** Extra CPU time per scored token for the log-softmax, measured per vocabulary entry (µs). */
const MICROSECONDS_PER_ENTRY = 0.0055;

export function vocabularyCostNote(vocabSize: number): string | undefined {
  if (vocabSize < LARGE_VOCABULARY) return undefined;
  const extraMs = (vocabSize * MICROSECONDS_PER_ENTRY) / 1000;
  return (
    `note: the local model has a ${vocabSize.toLocaleString('en')}-entry vocabulary: every scored token costs about ` +
    `${extraMs.toFixed(1)} ms of CPU for its log-probability on top of the model's forward pass; for large ` +
    `datasets a vLLM or SGLang server computes it on the GPU (--url)`
  );
}
