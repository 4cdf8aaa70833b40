import type { ReflectionSettings } from '../../protocol';
import { REFLECTION_SETTINGS, normalizeGroup } from '../../protocol/settings';

/** Every field checked against the settings schema (any LSP client may send these). */
export function normalizeReflectionSettings(raw: unknown): ReflectionSettings {
  const r = (raw && typeof raw === 'object' ? raw : {}) as Record<string, unknown>;
  return normalizeGroup(REFLECTION_SETTINGS, (_spec, field) => r[field]);
}

/**
 * `{ teacher: {...}, reflection: {...} }` as a generic client's `workspace/didChangeConfiguration`
 * sends the `sift` section (the shape of VS Code's `sift.teacher.*` / `sift.reflection.*`).
 */
export function reflectionSettingsFromSection(section: Record<string, unknown>, base: ReflectionSettings): ReflectionSettings | undefined {
  const teacher = section.teacher;
  const reflection = section.reflection;
  if ((!teacher || typeof teacher !== 'object') && (!reflection || typeof reflection !== 'object')) return undefined;
  return normalizeReflectionSettings({ ...base, ...(teacher as object | undefined), ...(reflection as object | undefined) });
}
