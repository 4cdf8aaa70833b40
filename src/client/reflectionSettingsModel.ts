import { REFLECTION_SETTINGS, normalizeGroup, type ReflectionSettingField, type ReflectionSettings, type SettingSpec } from '../protocol/settings';
import { readRaw, type ConfigurationSource } from './settingsModel';

type ReflectionSpecs = typeof REFLECTION_SETTINGS;

/**
 * The reflection settings as VS Code names them (`sift.teacher.*`, `sift.reflection.*`), relative
 * to the `sift` section, and the field of ReflectionSettings each one fills.
 */
export const REFLECTION_SETTING_KEYS = Object.fromEntries(Object.entries(REFLECTION_SETTINGS).map(([field, spec]) => [spec.key, field])) as {
  [F in ReflectionSettingField as ReflectionSpecs[F]['key']]: F;
};

export type ReflectionSettingKey = ReflectionSpecs[ReflectionSettingField]['key'];

/**
 * Settings that send the dataset (and the teacher key) somewhere, or read a file: from a workspace
 * the user has not trusted, only user-level values count (the schema marks them `restricted`).
 */
export const RESTRICTED_REFLECTION_KEYS: readonly ReflectionSettingKey[] = Object.values(REFLECTION_SETTINGS)
  .filter((spec: SettingSpec) => spec.restricted)
  .map((spec) => spec.key);

export const STRUCTURED_OUTPUT_VALUES = REFLECTION_SETTINGS.structuredOutput.values;

export type ReflectionSettingSource = ConfigurationSource<ReflectionSettingKey>;

/** Resolves the reflection settings, each checked (an invalid value falls back to its default). */
export function resolveReflectionSettings(source: ReflectionSettingSource, trusted: boolean): ReflectionSettings {
  return normalizeGroup(REFLECTION_SETTINGS, (spec) => readRaw(source, spec, trusted));
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
