import { DEFAULT_REFLECTION_SETTINGS, type ReflectionSettings } from '../protocol';
import type { InspectedValue } from './settingsModel';

/**
 * The reflection settings as VS Code names them (`sift.teacher.*`, `sift.reflection.*`), relative
 * to the `sift` section, and the field of ReflectionSettings each one fills.
 */
export const REFLECTION_SETTING_KEYS = {
  'teacher.baseUrl': 'baseUrl',
  'teacher.model': 'model',
  'teacher.structuredOutput': 'structuredOutput',
  'teacher.maxConcurrency': 'maxConcurrency',
  'teacher.promptsFile': 'promptsFile',
  'reflection.gateBothBelowOne': 'gateBothBelowOne',
} as const satisfies Record<string, keyof ReflectionSettings>;

export type ReflectionSettingKey = keyof typeof REFLECTION_SETTING_KEYS;

/**
 * Settings that send the dataset (and the teacher key) somewhere, or read a file: from a workspace
 * the user has not trusted, only user-level values count (package.json restricts the same keys).
 */
export const RESTRICTED_REFLECTION_KEYS: readonly ReflectionSettingKey[] = ['teacher.baseUrl', 'teacher.promptsFile'];

export const STRUCTURED_OUTPUT_VALUES: readonly ReflectionSettings['structuredOutput'][] = ['auto', 'on', 'off'];

export interface ReflectionSettingSource {
  get(key: ReflectionSettingKey): unknown;
  inspect(key: ReflectionSettingKey): InspectedValue | undefined;
}

function userLevelValue(inspected: InspectedValue | undefined): unknown {
  if (!inspected) return undefined;
  return inspected.globalLanguageValue ?? inspected.globalValue ?? inspected.defaultLanguageValue ?? inspected.defaultValue;
}

/** Resolves the reflection settings, each checked (an invalid value falls back to its default). */
export function resolveReflectionSettings(source: ReflectionSettingSource, trusted: boolean): ReflectionSettings {
  const raw = (key: ReflectionSettingKey): unknown => (!trusted && RESTRICTED_REFLECTION_KEYS.includes(key) ? userLevelValue(source.inspect(key)) : source.get(key));
  const text = (key: ReflectionSettingKey, fallback: string): string => {
    const v = raw(key);
    return typeof v === 'string' ? v.trim() : fallback;
  };
  const d = DEFAULT_REFLECTION_SETTINGS;
  const structured = raw('teacher.structuredOutput');
  const concurrency = raw('teacher.maxConcurrency');
  const gate = raw('reflection.gateBothBelowOne');
  return {
    baseUrl: text('teacher.baseUrl', d.baseUrl),
    model: text('teacher.model', d.model),
    structuredOutput: STRUCTURED_OUTPUT_VALUES.includes(structured as ReflectionSettings['structuredOutput']) ? (structured as ReflectionSettings['structuredOutput']) : d.structuredOutput,
    maxConcurrency: typeof concurrency === 'number' && Number.isInteger(concurrency) && concurrency >= 1 && concurrency <= 64 ? concurrency : d.maxConcurrency,
    promptsFile: text('teacher.promptsFile', d.promptsFile),
    gateBothBelowOne: typeof gate === 'boolean' ? gate : d.gateBothBelowOne,
  };
}

/**
 * Why reflection cannot run with these settings, in words for a notification, or undefined when a
 * teacher is configured. `ignoredUrl` is set when a workspace value of the URL was ignored because
 * the workspace is not trusted.
 */
export function missingTeacher(settings: ReflectionSettings, ignoredUrl = false): string | undefined {
  if (settings.baseUrl && settings.model) {
    try {
      const url = new URL(settings.baseUrl);
      if (url.protocol === 'http:' || url.protocol === 'https:') return undefined;
    } catch {
      // reported below
    }
    return 'Sift: the teacher URL (sift.teacher.baseUrl) is not an http(s) URL.';
  }
  const missing = [settings.baseUrl ? '' : 'sift.teacher.baseUrl', settings.model ? '' : 'sift.teacher.model'].filter(Boolean).join(' and ');
  const restricted = ignoredUrl ? ' (the workspace value of sift.teacher.baseUrl is ignored until you trust this workspace)' : '';
  return `Sift: no teacher is configured${restricted}. Set ${missing} (any OpenAI-compatible endpoint) and, if it needs one, a key with "Sift: Set Teacher API Key".`;
}
