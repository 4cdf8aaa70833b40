import { extractNumericAnswer } from '../../metrics/consistency';
import type { SampledCandidate } from './candidateLine';
import { chatMessages, renderTextPrompt, type PromptSpec } from './prompts';
import type { Question } from './questions';
import { sampleKey, type SampleStore } from './sampleStore';
import type { GenerationSettings, PreparedPrompt, SampleJob, StudentSampler } from './types';

export interface SamplingRun extends GenerationSettings {
  /** Samples per question. */
  k: number;
  /** Sample i of every question is drawn with seed + i. */
  seed: number;
  prompt: PromptSpec;
  /** Render the prompt with the student's chat template instead of as text. */
  chat: boolean;
}

/** A question that got no candidates, and why. */
export interface QuestionFailure {
  line: number;
  message: string;
}

/** What is left to draw once the store has been consulted. */
export interface SamplingPlan {
  prompts: (PreparedPrompt | undefined)[];
  jobs: SampleJob[];
  /** Per job: the question's index and the sample index of its first sample. */
  owners: { question: number; firstIndex: number }[];
  /** Samples the store already holds. */
  stored: number;
  /** Samples to draw. */
  missing: number;
  failures: QuestionFailure[];
}

/**
 * Prepares every question's prompt and finds the samples the store lacks, as jobs of consecutive
 * sample indices (a resumed question asks only for its missing samples, with their own seeds).
 */
export async function planSampling(questions: readonly Question[], run: SamplingRun, sampler: StudentSampler, store: SampleStore, signal?: AbortSignal): Promise<SamplingPlan> {
  const plan: SamplingPlan = { prompts: [], jobs: [], owners: [], stored: 0, missing: 0, failures: [] };
  // A chat template the backend cannot apply fails every question the same way: say it once.
  const first = questions.length > 0 && run.chat ? await preparePrompt(questions[0]!, run, sampler, signal) : undefined;
  plan.prompts = await Promise.all(
    questions.map(async (q, i) => {
      if (i === 0 && first) return first;
      try {
        return await preparePrompt(q, run, sampler, signal);
      } catch (error) {
        if (signal?.aborted) throw error;
        plan.failures.push({ line: q.line, message: (error as Error).message });
        return undefined;
      }
    }),
  );
  questions.forEach((_, qi) => {
    const prompt = plan.prompts[qi];
    if (!prompt) return;
    let runStart = -1;
    for (let i = 0; i <= run.k; i++) {
      const have = i < run.k && store.get(keyOf(prompt, run, sampler.modelId, i)) !== undefined;
      if (i < run.k && have) plan.stored++;
      const missing = i < run.k && !have;
      if (missing && runStart < 0) runStart = i;
      if (!missing && runStart >= 0) {
        plan.jobs.push({ prompt, firstSeed: run.seed + runStart, count: i - runStart });
        plan.owners.push({ question: qi, firstIndex: runStart });
        plan.missing += i - runStart;
        runStart = -1;
      }
    }
  });
  plan.failures.sort((a, b) => a.line - b.line);
  return plan;
}

async function preparePrompt(q: Question, run: SamplingRun, sampler: StudentSampler, signal?: AbortSignal): Promise<PreparedPrompt> {
  if (!run.chat) return { kind: 'text', text: renderTextPrompt(run.prompt, q.question) };
  if (!sampler.renderChat) throw new Error(`--chat: ${sampler.chatUnavailable ?? 'this backend cannot apply a chat template'}`);
  return sampler.renderChat(chatMessages(run.prompt, q.question), signal);
}

function keyOf(prompt: PreparedPrompt, run: SamplingRun, model: string, sampleIndex: number): string {
  return sampleKey({
    model,
    prompt: prompt.text,
    promptKind: prompt.kind,
    temperature: run.temperature,
    topP: run.topP,
    maxTokens: run.maxTokens,
    stop: run.stop,
    seed: run.seed,
    sampleIndex,
  });
}

export interface SamplingProgress {
  /** Samples drawn so far in this run (not counting stored ones). */
  drawn: number;
  /** Tokens those samples generated. */
  tokens: number;
}

/**
 * Draws the plan's missing samples into the store (each as soon as it is done, so an interrupted
 * run keeps it), then reads every question's k candidates back in order. A question the backend
 * refused fails alone; a failure of the run itself (server unreachable, interruption) rejects.
 */
export async function sampleQuestions(
  questions: readonly Question[],
  run: SamplingRun,
  sampler: StudentSampler,
  store: SampleStore,
  plan: SamplingPlan,
  options: { signal?: AbortSignal; onProgress?: (progress: SamplingProgress) => void } = {},
): Promise<{ candidates: SampledCandidate[]; failures: QuestionFailure[] }> {
  const failures = [...plan.failures];
  const progress: SamplingProgress = { drawn: 0, tokens: 0 };
  await sampler.sample(
    plan.jobs,
    run,
    {
      onSample: (job, offset, generated) => {
        const owner = plan.owners[job]!;
        const prompt = plan.prompts[owner.question]!;
        store.put(keyOf(prompt, run, sampler.modelId, owner.firstIndex + offset), {
          text: generated.text,
          finishReason: generated.finishReason,
          tokens: generated.tokens,
          at: Date.now(),
        });
        progress.drawn++;
        progress.tokens += generated.tokens;
        options.onProgress?.({ ...progress });
      },
      onJobError: (job, error) => {
        const owner = plan.owners[job]!;
        failures.push({ line: questions[owner.question]!.line, message: error.message });
      },
    },
    options.signal,
  );
  const failed = new Set(failures.map((f) => f.line));
  const candidates: SampledCandidate[] = [];
  questions.forEach((q, qi) => {
    const prompt = plan.prompts[qi];
    if (!prompt || failed.has(q.line)) return;
    for (let i = 0; i < run.k; i++) {
      const stored = store.get(keyOf(prompt, run, sampler.modelId, i));
      if (!stored) throw new Error(`sample ${i} of line ${q.line} was neither drawn nor refused`);
      candidates.push({
        question_id: q.id,
        question: q.question,
        candidate: stored.text,
        answer: extractNumericAnswer(stored.text),
        ...(q.gold !== undefined ? { gold: q.gold } : {}),
        sample_index: i,
        sampling: { temperature: run.temperature, top_p: run.topP, seed: run.seed + i, max_tokens: run.maxTokens, k: run.k, prompt: prompt.text },
        model: sampler.modelId,
        finish_reason: stored.finishReason,
      });
    }
  });
  failures.sort((a, b) => a.line - b.line);
  return { candidates, failures };
}

/** What a run will generate at most, shown before a remote run. */
export interface SamplingEstimate {
  questions: number;
  /** Questions with at least one sample to draw. */
  questionsToSample: number;
  /** Samples to draw (stored ones excluded). */
  samples: number;
  stored: number;
  /** Prompt characters / 4, once per job (a server reads a prompt once for all its samples). */
  promptTokens: number;
  /** samples × max_tokens: the most the run can generate. */
  maxCompletionTokens: number;
}

/**
 * What a remote run will generate at most, shown before it starts (`sift sample` on its standard
 * error, the editor in its progress and log): two lines, what is drawn from where, then the tokens.
 */
export function describeSamplingEstimate(estimate: SamplingEstimate, run: SamplingRun, model: string, endpoint: string): [string, string] {
  const n = (x: number): string => x.toLocaleString('en-US');
  const stored = estimate.stored > 0 ? `; ${n(estimate.stored)} more are in the sample store` : '';
  return [
    `${n(estimate.samples)} sample(s) to draw for ${n(estimate.questionsToSample)} of ${n(estimate.questions)} question(s) (k = ${run.k}) from ${model} at ${endpoint}${stored}`,
    `at most ${n(estimate.maxCompletionTokens)} generated tokens (${n(estimate.samples)} × max tokens ${n(run.maxTokens)}) and ~${n(estimate.promptTokens)} prompt tokens (prompt characters / 4, once per request)`,
  ];
}

export function estimateSampling(plan: SamplingPlan, run: SamplingRun, questions: number): SamplingEstimate {
  const promptChars = plan.jobs.reduce((sum, job) => sum + job.prompt.text.length, 0);
  return {
    questions,
    questionsToSample: new Set(plan.owners.map((o) => o.question)).size,
    samples: plan.missing,
    stored: plan.stored,
    promptTokens: Math.ceil(promptChars / 4),
    maxCompletionTokens: plan.missing * run.maxTokens,
  };
}
