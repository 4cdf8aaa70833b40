import type { TrainingPair } from '../dataset/types';
import { reflectionKey, type ReflectionCache } from './cache';
import { isComplete, pairFields, parseDelimited, parseStructured, reflectionSchema, unusableCount, type ParsedOutput } from './parse';
import { DEFAULT_PROMPTS, estimateCall, reflectionMessages, type CallEstimate, type PromptSet } from './prompts';
import { TeacherError, type ChatReply, type Teacher } from './teacher';
import type { FieldFallback, Reflection, ReflectionKind, TokenUsage } from './types';

export interface ReflectionSessionOptions {
  teacher: Teacher;
  /** Default: Sift's built-in prompts. */
  prompts?: PromptSet;
  /** Finished reflections; default: none (every reflection calls the teacher). */
  cache?: ReflectionCache;
  /**
   * `auto` (default): ask for a JSON schema until the endpoint rejects `response_format` with a 400
   * or 422, then use delimited sections for the rest of the session. `true`: always JSON (a
   * rejection is an error). `false`: always delimited sections.
   */
  structured?: 'auto' | boolean;
  /** Largest completion per call (default 2048, METHODS §4.4). */
  maxTokens?: number;
  /** Sampling temperature (default 0, as the authors used). */
  temperature?: number;
}

/**
 * One teacher, one prompt set, one cache: the unit an editor keeps per configuration and a CLI run
 * creates once. It remembers whether the endpoint takes structured output, so a batch against an
 * endpoint without it pays for the rejection once.
 */
export class ReflectionSession {
  readonly teacher: Teacher;
  readonly prompts: PromptSet;
  readonly cache: ReflectionCache | undefined;
  readonly maxTokens: number;
  readonly temperature: number;
  private readonly structuredOption: 'auto' | boolean;
  /** What the endpoint has shown about `response_format` so far. */
  structuredSupport: 'unknown' | 'yes' | 'no' = 'unknown';

  constructor(options: ReflectionSessionOptions) {
    this.teacher = options.teacher;
    this.prompts = options.prompts ?? DEFAULT_PROMPTS;
    this.cache = options.cache;
    this.maxTokens = options.maxTokens ?? 2048;
    this.temperature = options.temperature ?? 0;
    this.structuredOption = options.structured ?? 'auto';
  }

  /**
   * Cache keys written by the run this session belongs to, looked up as if they were not cached:
   * a teacher batch run reflects a waiting record again in its next round, and that record must
   * get the reflection it got in the first round (a call, with its usage), not a cache hit.
   */
  private ownKeys: Set<string> | undefined;

  /**
   * The same prompts, cache and options with another teacher (a teacher batch answers through its
   * own), starting from what this session knows about structured output. Sessions given the same
   * `ownKeys` do not answer each other's reflections from the cache.
   */
  withTeacher(teacher: Teacher, ownKeys?: Set<string>): ReflectionSession {
    const session = new ReflectionSession({
      teacher,
      prompts: this.prompts,
      cache: this.cache,
      structured: this.structuredOption,
      maxTokens: this.maxTokens,
      temperature: this.temperature,
    });
    session.structuredSupport = this.structuredSupport;
    session.ownKeys = ownKeys;
    return session;
  }

  /** Whether the next call asks for JSON. */
  get structured(): boolean {
    if (this.structuredOption === 'auto') return this.structuredSupport !== 'no';
    return this.structuredOption;
  }

  cacheKey(kind: ReflectionKind, pair: TrainingPair): string {
    return reflectionKey({
      promptVersion: this.prompts.version,
      teacherModel: this.teacher.model,
      kind,
      temperature: this.temperature,
      instruction: pair.instruction,
      input: pair.input,
      response: pair.response,
    });
  }

  isCached(kind: ReflectionKind, pair: TrainingPair): boolean {
    return this.cache?.has(this.cacheKey(kind, pair)) ?? false;
  }

  estimate(kind: ReflectionKind, pair: TrainingPair): CallEstimate {
    return estimateCall(kind, pair, this.prompts, this.structured, this.maxTokens);
  }

  /**
   * Asks the teacher to reflect on `pair`. An output missing a needed section (or with an
   * unusable one) is asked for once more; what is still unusable after that keeps the original
   * text, marked as a fallback with its reason (METHODS §4.5). A finished reflection (every field
   * usable) is cached. Throws `TeacherError` when the endpoint fails for good, and the abort
   * reason when `signal` aborts.
   */
  async reflect(kind: ReflectionKind, pair: TrainingPair, signal?: AbortSignal): Promise<Reflection> {
    const key = this.cacheKey(kind, pair);
    const cached = this.ownKeys?.has(key) ? undefined : this.cache?.get(key);
    if (cached) {
      const fields = { critique: cached.critique, instruction: cached.instruction, response: cached.response };
      return {
        kind,
        critique: cached.critique,
        pair: withFields(kind, pair, fields, []),
        fallbacks: [],
        notes: [],
        teacher: { calls: 0, attempts: 0, usage: { promptTokens: 0, completionTokens: 0 }, cached: true, structured: cached.structured },
      };
    }
    const usage: TokenUsage = { promptTokens: 0, completionTokens: 0 };
    const notes: string[] = [];
    const outputs: { parsed: ParsedOutput; structured: boolean }[] = [];
    let calls = 0;
    let attempts = 0;
    // Set while the first delimited call after a 400 to a structured one is in flight: if that
    // call is refused too, the 400 was about something else (a prompt too long for the context)
    // and the endpoint's support for structured output is still unknown.
    let probing = false;
    while (outputs.length < 2) {
      const structured = this.structured;
      let reply: ChatReply;
      try {
        reply = await this.teacher.chat(
          {
            messages: reflectionMessages(kind, pair, this.prompts, structured),
            jsonSchema: structured ? reflectionSchema(kind) : undefined,
            maxTokens: this.maxTokens,
            temperature: this.temperature,
          },
          signal,
        );
      } catch (error) {
        if (structured && this.structuredOption === 'auto' && this.structuredSupport !== 'yes' && isFormatRejection(error)) {
          this.structuredSupport = 'no';
          probing = true;
          notes.push(`the endpoint refused the request with structured output (${(error as TeacherError).message}); asked for delimited sections instead`);
          continue;
        }
        if (probing && isFormatRejection(error)) {
          this.structuredSupport = 'unknown';
          throw error;
        }
        // A failed second call still leaves the first output to work with.
        if (outputs.length > 0 && error instanceof TeacherError && !error.fatal) {
          notes.push(`asking again failed: ${error.message}`);
          break;
        }
        throw error;
      }
      if (structured && this.structuredOption === 'auto') this.structuredSupport = 'yes';
      probing = false;
      calls++;
      attempts += reply.attempts;
      usage.promptTokens += reply.usage.promptTokens;
      usage.completionTokens += reply.usage.completionTokens;
      const parsed = structured ? parseStructured(kind, reply) : parseDelimited(kind, reply);
      outputs.push({ parsed, structured });
      if (isComplete(parsed)) break;
      if (outputs.length === 1) notes.push(`the first output was unusable (${problemSummary(parsed)}); asked again`);
    }
    // The better of the two outputs (fewest unusable fields; the later one on a tie) is used whole:
    // mixing fields of two outputs could pair an instruction with another output's answer.
    const best = outputs.reduce((a, b) => (unusableCount(b.parsed) <= unusableCount(a.parsed) ? b : a));
    const fallbacks: FieldFallback[] = [];
    const texts: { critique: string; instruction?: string; response?: string } = { critique: '' };
    for (const field of pairFields(kind)) {
      const outcome = best.parsed.fields[field];
      if (outcome?.ok) texts[field] = outcome.text;
      else fallbacks.push({ field, fallback: true, reason: outcome?.reason ?? `no ${field} in the output` });
    }
    const critique = best.parsed.fields.critique;
    if (critique?.ok) texts.critique = critique.text;
    else notes.push(`no usable critique: ${critique?.reason ?? 'missing'}`);
    if (outputs.length === 2 && fallbacks.length === 0) notes.push('the second output was usable');
    const reflection: Reflection = {
      kind,
      critique: texts.critique,
      pair: withFields(kind, pair, texts, fallbacks),
      fallbacks,
      notes,
      teacher: { calls, attempts, usage, cached: false, structured: best.structured },
    };
    if (fallbacks.length === 0 && this.cache) {
      this.ownKeys?.add(key);
      await this.cache.put(key, {
        critique: texts.critique,
        instruction: texts.instruction,
        response: texts.response ?? pair.response,
        usage,
        structured: best.structured,
        at: Date.now(),
      });
    }
    return reflection;
  }
}

/**
 * The candidate pair: the original with the usable rewritten fields. A new instruction replaces
 * instruction and input together (the teacher never saw the input, and the new instruction must
 * stand alone, METHODS §4.4); the record's history is kept.
 */
function withFields(
  kind: ReflectionKind,
  pair: TrainingPair,
  texts: { instruction?: string; response?: string },
  fallbacks: FieldFallback[],
): TrainingPair {
  const fellBack = (field: string): boolean => fallbacks.some((f) => f.field === field);
  const next: TrainingPair = { ...pair, history: pair.history };
  if (kind === 'instruction' && texts.instruction !== undefined && !fellBack('instruction')) {
    next.instruction = texts.instruction;
    next.input = '';
  }
  if (texts.response !== undefined && !fellBack('response')) next.response = texts.response;
  return next;
}

/** A 400 or 422 to a request that asked for `response_format`: the endpoint does not take it. */
function isFormatRejection(error: unknown): boolean {
  return error instanceof TeacherError && error.kind === 'status' && (error.status === 400 || error.status === 422);
}

function problemSummary(parsed: ParsedOutput): string {
  const reasons = pairFields(parsed.kind)
    .map((f) => parsed.fields[f])
    .filter((o): o is { ok: false; reason: string } => o !== undefined && !o.ok)
    .map((o) => o.reason);
  return [...new Set(reasons)].join('; ') || parsed.problems.join('; ');
}
