import type { ChatMessage } from '../../metrics/chatSpans';

/** The generation settings every sample of a run shares (the seed is per sample). */
export interface GenerationSettings {
  temperature: number;
  topP: number;
  maxTokens: number;
  stop: readonly string[];
}

/** A prompt ready to send: its exact text, and its token ids when the student's chat template rendered it. */
export interface PreparedPrompt {
  kind: 'text' | 'chat';
  text: string;
  /** Set for chat prompts: sent as ids, so the server adds nothing (no second BOS). */
  ids?: number[];
}

/**
 * Samples of one prompt drawn with consecutive seeds: sample j of the job uses `firstSeed + j`.
 * A question's sample i always has seed `runSeed + i`, so a job for samples 7..14 draws exactly what
 * a job for 0..14 would have drawn for them (vLLM gives the j-th of `n` samples `seed + j`).
 */
export interface SampleJob {
  prompt: PreparedPrompt;
  firstSeed: number;
  count: number;
}

/** One generated solution. */
export interface Generated {
  text: string;
  finishReason: 'stop' | 'length';
  /** Generated tokens as the backend counts them (0 when it does not say). */
  tokens: number;
}

export interface SampleHandlers {
  /** Sample `offset` of job `job` is done. */
  onSample(job: number, offset: number, generated: Generated): void;
  /** The backend refuses job `job` (its prompt: too long, ...); the other jobs go on. */
  onJobError(job: number, error: Error): void;
}

/** A student that writes solutions: in-process (llama.cpp) or an inference server. */
export interface StudentSampler {
  /** The model's identity for the sample store (GGUF content hash, or `vllm:<served name>`...). */
  readonly modelId: string;
  /** Where samples come from, for messages (a path or URLs; never a key). */
  readonly endpoint: string;
  /** Samples are drawn on a server (a cost estimate is shown first). */
  readonly remote: boolean;
  /** Renders a conversation with the student's chat template; absent when the backend cannot (`chatUnavailable` says why). */
  renderChat?(messages: ChatMessage[], signal?: AbortSignal): Promise<PreparedPrompt>;
  readonly chatUnavailable?: string;
  /**
   * Draws every job's samples; resolves when all are done or refused. Rejects when the run cannot
   * go on (the server unreachable after retries, the signal aborted); samples reported before stay
   * reported.
   */
  sample(jobs: readonly SampleJob[], settings: GenerationSettings, handlers: SampleHandlers, signal?: AbortSignal): Promise<void>;
  close(): Promise<void>;
}
