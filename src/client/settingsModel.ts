import { DEFAULT_SETTINGS, type SiftSettings } from '../protocol';

/** The configuration section: every setting is `sift.<field of SiftSettings>`. */
export const SECTION = 'sift';

export type SettingKey = keyof SiftSettings;

/**
 * Settings that point Sift at code or data outside the editor (an endpoint it sends the dataset to,
 * a model file it loads, a file it reads): in a workspace the user has not trusted, values from the
 * workspace (or folder) settings are ignored and only the user's own or the default values are used.
 * package.json lists the same keys in `capabilities.untrustedWorkspaces.restrictedConfigurations`.
 */
export const RESTRICTED_KEYS: readonly SettingKey[] = ['backend', 'endpointUrls', 'modelPath', 'dsValidSet'];

/**
 * Every value of a string union, checked at compile time in both directions: a value the protocol
 * drops, or one it adds (a new backend), is a type error here rather than a setting silently reset.
 */
function allOf<T extends string>() {
  return <const A extends readonly T[]>(values: A & ([T] extends [A[number]] ? unknown : never)): A => values;
}

type Rule =
  | { kind: 'enum'; values: readonly string[] }
  | { kind: 'string' }
  | { kind: 'boolean' }
  | { kind: 'number'; min: number; max?: number; integer?: boolean }
  | { kind: 'stringArray' }
  | { kind: 'enumArray'; values: readonly string[] };

/** What a valid value of each setting is; an invalid value falls back to the default. */
export const SETTING_RULES: Record<SettingKey, Rule> = {
  backend: { kind: 'enum', values: allOf<SiftSettings['backend']>()(['local', 'vllm', 'sglang', 'tgi']) },
  endpointUrls: { kind: 'stringArray' },
  servedModel: { kind: 'string' },
  modelPath: { kind: 'string' },
  template: { kind: 'enum', values: allOf<SiftSettings['template']>()(['alpaca', 'vicuna', 'wizardlm', 'plain']) },
  format: { kind: 'enum', values: allOf<SiftSettings['format']>()(['', 'alpaca', 'sharegpt', 'messages', 'prompt-completion', 'qa']) },
  boundary: { kind: 'enum', values: allOf<SiftSettings['boundary']>()(['clean', 'faithful']) },
  ifdVariant: { kind: 'enum', values: allOf<SiftSettings['ifdVariant']>()(['ppl', 'loss']) },
  metrics: { kind: 'enumArray', values: allOf<SiftSettings['metrics'][number]>()(['ifd', 'rifd', 'ds']) },
  dsValidSet: { kind: 'string' },
  dsRule: { kind: 'enum', values: allOf<SiftSettings['dsRule']>()(['paper', 'repo']) },
  colorBy: { kind: 'enum', values: allOf<SiftSettings['colorBy']>()(['percentile', 'thresholds']) },
  ifdWarnAt: { kind: 'number', min: 0 },
  autoScoreOnOpen: { kind: 'boolean' },
  concurrency: { kind: 'number', min: 1, max: 1024, integer: true },
  threads: { kind: 'number', min: 0, max: 1024, integer: true },
};

export const SETTING_KEYS = Object.keys(SETTING_RULES) as SettingKey[];

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

export interface SettingSource {
  /** The effective value (`WorkspaceConfiguration.get`), every level applied. */
  get(key: SettingKey): unknown;
  /** Each level's value (`WorkspaceConfiguration.inspect`). */
  inspect(key: SettingKey): InspectedValue | undefined;
}

/** The value of a restricted setting in an untrusted workspace: the user's, else the default. */
function userLevelValue(inspected: InspectedValue | undefined): unknown {
  if (!inspected) return undefined;
  return inspected.globalLanguageValue ?? inspected.globalValue ?? inspected.defaultLanguageValue ?? inspected.defaultValue;
}

function sanitize(key: SettingKey, value: unknown): unknown {
  const rule = SETTING_RULES[key];
  const fallback = DEFAULT_SETTINGS[key];
  switch (rule.kind) {
    case 'enum':
      return typeof value === 'string' && rule.values.includes(value) ? value : fallback;
    case 'string':
      return typeof value === 'string' ? value.trim() : fallback;
    case 'boolean':
      return typeof value === 'boolean' ? value : fallback;
    case 'number': {
      if (typeof value !== 'number' || !Number.isFinite(value)) return fallback;
      if (rule.integer && !Number.isInteger(value)) return fallback;
      if (value < rule.min || (rule.max !== undefined && value > rule.max)) return fallback;
      return value;
    }
    case 'stringArray': {
      if (!Array.isArray(value)) return fallback;
      const strings = value.filter((v): v is string => typeof v === 'string').map((v) => v.trim()).filter(Boolean);
      return [...new Set(strings)];
    }
    case 'enumArray': {
      if (!Array.isArray(value)) return fallback;
      const valid = [...new Set(value.filter((v): v is string => typeof v === 'string' && rule.values.includes(v)))];
      return valid.length > 0 ? valid : fallback;
    }
  }
}

/**
 * Resolves every setting once: effective values when the workspace is trusted, user-level values
 * for the restricted settings when it is not, and each value checked against its rule.
 */
export function resolveSettings(source: SettingSource, trusted: boolean): SiftSettings {
  const settings = {} as Record<SettingKey, unknown>;
  for (const key of SETTING_KEYS) {
    const raw = !trusted && RESTRICTED_KEYS.includes(key) ? userLevelValue(source.inspect(key)) : source.get(key);
    settings[key] = sanitize(key, raw);
  }
  return settings as unknown as SiftSettings;
}

/** Whether two settings objects differ (they are plain JSON data). */
export function settingsEqual(a: SiftSettings, b: SiftSettings): boolean {
  return SETTING_KEYS.every((key) => JSON.stringify(a[key]) === JSON.stringify(b[key]));
}
