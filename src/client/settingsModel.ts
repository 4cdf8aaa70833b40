import { REFLECTION_SETTINGS, SCORING_SETTINGS, normalizeGroup, type ReflectionSettings, type SettingKey, type SettingSpec, type SiftSettings } from '../protocol/settings';

export { SECTION } from '../protocol/settings';
export type { SettingKey };

export const SETTING_KEYS = Object.keys(SCORING_SETTINGS) as SettingKey[];

/**
 * Settings that point Sift at code or data outside the editor (an endpoint it sends the dataset to,
 * a model file it loads, a file it reads): in a workspace the user has not trusted, values from the
 * workspace (or folder) settings are ignored and only the user's own or the default values are used.
 * The schema marks them `restricted`; the manifest's `restrictedConfigurations` is made from the same.
 */
export const RESTRICTED_KEYS: readonly SettingKey[] = SETTING_KEYS.filter((key) => (SCORING_SETTINGS[key] as SettingSpec).restricted);

/** The subset of vscode's `WorkspaceConfiguration.inspect()` result that matters here. */
export interface InspectedValue {
  defaultValue?: unknown;
  globalValue?: unknown;
  workspaceValue?: unknown;
  workspaceFolderValue?: unknown;
  defaultLanguageValue?: unknown;
  globalLanguageValue?: unknown;
  workspaceLanguageValue?: unknown;
  workspaceFolderLanguageValue?: unknown;
}

/** A configuration section as the client sees it: keys relative to `sift`. */
export interface ConfigurationSource<K extends string = string> {
  /** The effective value (`WorkspaceConfiguration.get`), every level applied. */
  get(key: K): unknown;
  /** Each level's value (`WorkspaceConfiguration.inspect`). */
  inspect(key: K): InspectedValue | undefined;
}

export type SettingSource = ConfigurationSource<SettingKey>;

/** The value of a restricted setting in an untrusted workspace: the user's, else the default. */
function userLevelValue(inspected: InspectedValue | undefined): unknown {
  if (!inspected) return undefined;
  return inspected.globalLanguageValue ?? inspected.globalValue ?? inspected.defaultLanguageValue ?? inspected.defaultValue;
}

/**
 * The raw value of a setting: its effective value when the workspace is trusted, the user-level
 * value of a restricted setting when it is not.
 */
export function readRaw<K extends string>(source: ConfigurationSource<K>, spec: SettingSpec, trusted: boolean): unknown {
  const key = spec.key as K;
  return !trusted && spec.restricted ? userLevelValue(source.inspect(key)) : source.get(key);
}

/**
 * Resolves every setting once: effective values when the workspace is trusted, user-level values
 * for the restricted settings when it is not, and each value checked against its schema.
 */
export function resolveSettings(source: SettingSource, trusted: boolean): SiftSettings {
  return normalizeGroup(SCORING_SETTINGS, (spec) => readRaw(source, spec, trusted));
}

/** Whether two settings objects differ (they are plain JSON data). */
export function settingsEqual(a: SiftSettings, b: SiftSettings): boolean {
  return SETTING_KEYS.every((key) => JSON.stringify(a[key]) === JSON.stringify(b[key]));
}

/**
 * The `sift` section as the server pulls it (workspace/configuration): the scoring settings at the
 * top, the teacher's under `teacher` and `reflection` (the shape of `sift.teacher.*` and
 * `sift.reflection.*`). Built from values already resolved with workspace trust; keys are never in it.
 */
export function configurationSection(settings: SiftSettings, reflection: ReflectionSettings): Record<string, unknown> {
  const section: Record<string, unknown> = { ...settings };
  for (const [field, spec] of Object.entries(REFLECTION_SETTINGS)) {
    const group = spec.key.slice(0, spec.key.indexOf('.'));
    const values = (section[group] ??= {}) as Record<string, unknown>;
    values[field] = reflection[field as keyof ReflectionSettings];
  }
  return section;
}
