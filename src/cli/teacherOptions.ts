import { DEFAULT_PROMPTS, PromptOverrideError, loadPromptOverride, teacherBaseUrl, type PromptSet } from '../core/reflect';
import { displayUrl } from '../core/net/redact';
import { REFLECTION_SETTINGS } from '../protocol/settings';
import { integerFlag, requireFile } from './settings';
import { UsageError, parseNumber } from './usage';

/** The teacher's flags of `sift reflect`, as commander gives them. */
export interface TeacherFlags {
  teacherUrl?: string;
  teacherModel?: string;
  teacherConcurrency: string;
  teacherTimeout: string;
  teacherRetries: string;
  maxTokens: string;
  temperature: string;
  prompts?: string;
}

export interface TeacherOptions {
  url: string;
  model: string;
  concurrency: number;
  timeoutMs: number;
  retries: number;
  maxTokens: number;
  temperature: number;
  prompts: PromptSet;
}

export const DEFAULT_TEACHER_URL = 'https://api.openai.com/v1';
/** The only origin `OPENAI_API_KEY` is sent to. */
export const OPENAI_ORIGIN = 'https://api.openai.com';

/** The teacher's settings from the flags and the environment, checked before anything runs. */
export async function teacherOptions(flags: TeacherFlags): Promise<TeacherOptions> {
  const url = flags.teacherUrl ?? process.env.SIFT_TEACHER_URL ?? DEFAULT_TEACHER_URL;
  try {
    teacherBaseUrl(url);
  } catch {
    throw new UsageError(`--teacher-url must be an http(s) URL (got "${displayUrl(url)}")`);
  }
  const model = flags.teacherModel ?? process.env.SIFT_TEACHER_MODEL;
  if (!model) throw new UsageError('--teacher-model NAME is required (or set SIFT_TEACHER_MODEL)');
  const timeoutSeconds = parseNumber(flags.teacherTimeout, '--teacher-timeout');
  if (!(timeoutSeconds > 0)) throw new UsageError('--teacher-timeout must be a positive number of seconds');
  const retries = Number(flags.teacherRetries);
  if (!Number.isInteger(retries) || retries < 0) throw new UsageError('--teacher-retries expects a non-negative integer');
  const temperature = parseNumber(flags.temperature, '--temperature');
  if (temperature < 0 || temperature > 2) throw new UsageError('--temperature must be from 0 to 2');
  let prompts: PromptSet = DEFAULT_PROMPTS;
  if (flags.prompts) {
    try {
      prompts = await loadPromptOverride(requireFile(flags.prompts, 'prompt file'));
    } catch (error) {
      if (error instanceof PromptOverrideError) throw new UsageError(error.message);
      throw error;
    }
  }
  return {
    url,
    model,
    concurrency: integerFlag(flags.teacherConcurrency, REFLECTION_SETTINGS.maxConcurrency, '--teacher-concurrency'),
    timeoutMs: timeoutSeconds * 1000,
    retries,
    maxTokens: positiveInteger(flags.maxTokens, '--max-tokens'),
    temperature,
    prompts,
  };
}

/**
 * The teacher's key. `SIFT_TEACHER_API_KEY` was set for the teacher, so it goes to whatever
 * --teacher-url says. `OPENAI_API_KEY` is set in many shells for OpenAI alone: sent to any other
 * URL (a typo, a URL copied from a repository's docs) it would hand the user's OpenAI key to that
 * server, so it goes to OpenAI's own origin only.
 */
export function teacherApiKey(url: string, env: NodeJS.ProcessEnv, say: (text: string) => void): string | undefined {
  if (env.SIFT_TEACHER_API_KEY) return env.SIFT_TEACHER_API_KEY;
  if (!env.OPENAI_API_KEY) return undefined;
  if (new URL(url).origin === OPENAI_ORIGIN) return env.OPENAI_API_KEY;
  say(`note: OPENAI_API_KEY is sent to ${OPENAI_ORIGIN} only, not to ${displayUrl(url)}; set SIFT_TEACHER_API_KEY for this teacher`);
  return undefined;
}

function positiveInteger(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${flag} expects a positive integer (got "${value}")`);
  return n;
}
