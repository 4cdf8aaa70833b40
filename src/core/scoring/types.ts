import type { ChatRenderer } from './chat/types';

/**
 * The one primitive every metric reduces to: per-token log-probabilities of a token sequence under
 * the student model. Backends differ only in how they get them (in-process GGUF, vLLM, sift serve).
 */
import type { EndpointHealth } from '../net/health';

export interface TokenScorer {
  /** Identity of the model for the score store (file hash for local models, served name for HTTP). */
  readonly modelId: string;
  /** Where scores come from, for hovers and logs (a path or a URL; never a key). */
  readonly endpoint: string;
  /** BOS id prepended to every scored sequence, if the model has one. */
  readonly bosId: number | undefined;
  /** Maximum sequence length in tokens. */
  readonly maxContext: number;
  /** The model's own chat template (the `chat` template), when the backend can apply one. */
  readonly chat?: ChatRenderer;
  /** Why there is no `chat`, said when a run asks for the `chat` template and falls back. */
  readonly chatUnavailable?: string;
  /** Token ids of each text WITHOUT special tokens (no BOS). */
  tokenize(texts: string[], signal?: AbortSignal): Promise<number[][]>;
  /**
   * For each sequence `ids`, `lp[j-1] = log p(ids[j] | ids[<j])` for j = 1..ids.length-1
   * (so the result has length ids.length - 1; position 0 has no prediction).
   * `needFrom[i]`, when given, is the first token index j whose log-prob the caller needs for
   * sequence i: a backend may skip earlier ones (leaving NaN there) when that saves work.
   */
  logprobs(sequences: number[][], signal?: AbortSignal, needFrom?: number[]): Promise<Float64Array[]>;
  close(): Promise<void>;
  /** Whether each endpoint URL answers (HTTP backends): a caller can wait for one to come back. */
  readonly health?: EndpointHealth;
  /** Each replica's in-flight limit now (HTTP backends; it adapts to the replica's latency unless fixed). */
  inFlightLimits?(): { url: string; limit: number }[];
  /** HTTP backends: the route texts are tokenized at now (vLLM: `/v1/completions/render` or `/tokenize`). */
  tokenizeRoute?(): string;
}

/** Thrown for problems that retrying cannot fix (4xx other than 429, bad config). */
export class PermanentScorerError extends Error {
  override name = 'PermanentScorerError';
}

/** Thrown when an HTTP endpoint keeps failing after the configured retries. */
export class RetriesExhaustedError extends Error {
  override name = 'RetriesExhaustedError';
}

/**
 * Some sequences of a `logprobs` call could not be scored while the others were: `results[i]` holds
 * the log-probs of every scored sequence and is undefined for each index in `failures`, whose value
 * says why (e.g. the server's 400 for that one prompt). Callers that do not know this error treat it
 * as a failure of the whole call, which is safe; `scoreRecords` fails only the affected records.
 */
export class PartialLogprobsError extends PermanentScorerError {
  override name = 'PartialLogprobsError';
  constructor(
    readonly results: (Float64Array | undefined)[],
    readonly failures: ReadonlyMap<number, Error>,
  ) {
    const [first] = failures;
    super(
      `${failures.size} of ${results.length} sequences could not be scored` +
        (first ? `; sequence ${first[0]}: ${first[1].message}` : ''),
    );
  }
}
