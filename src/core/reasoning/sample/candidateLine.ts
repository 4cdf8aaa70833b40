/**
 * One line of the CANDIDATES file as `sift sample` writes it. The file's layout is defined once, by
 * the reasoning commands that read it (`CandidateRecord` in `src/core/reasoning/candidate.ts`,
 * described in docs/reasoning.md); this is the same shape with the fields sampling always fills, so
 * the two can be joined by replacing this type with an import of that one.
 */

/** How a candidate was sampled (`CandidateRecord.sampling`). */
export interface CandidateSampling {
  temperature: number;
  top_p: number;
  /** The seed of this sample's generation: the run's seed plus `sample_index` (see sampleKey.ts). */
  seed: number;
  max_tokens: number;
  /** Samples drawn per question in this run. */
  k: number;
  /** The exact text the model continued: the few-shot prefix with the question (or the rendered chat). */
  prompt: string;
}

export interface SampledCandidate {
  question_id: string;
  question: string;
  candidate: string;
  /** The final answer extracted from `candidate`, or null when it states none. */
  answer: string | null;
  gold?: string;
  sample_index: number;
  sampling: CandidateSampling;
  /** The student's identity: a content hash of its GGUF file, or the served model name. */
  model: string;
  /** Why generation ended: `stop` (end of sequence or a stop string) or `length` (`max_tokens` reached). */
  finish_reason: 'stop' | 'length';
}

/** One CANDIDATES line: the fields in the documented order, then `finish_reason` (an extra field readers ignore). */
export function formatCandidateLine(c: SampledCandidate): string {
  const ordered: Record<string, unknown> = { question_id: c.question_id, question: c.question, candidate: c.candidate, answer: c.answer };
  if (c.gold !== undefined) ordered.gold = c.gold;
  ordered.sample_index = c.sample_index;
  ordered.sampling = c.sampling;
  ordered.model = c.model;
  ordered.finish_reason = c.finish_reason;
  return JSON.stringify(ordered);
}
