import { createHash } from 'node:crypto';
import { isAbsolute, resolve } from 'node:path';
import { FORMAT_NAMES } from '../core/dataset/formats';
import type { FormatSpec } from '../core/dataset/types';
import { TEMPLATE_NAMES } from '../core/metrics/templates';
import type { MetricName } from '../core/metrics/types';
import type { ScorerSettings } from '../core/scoring/createScorer';
import type { ScoringConfig } from '../core/scoring/plan';
import { DEFAULT_SETTINGS, type SiftSettings } from '../protocol';

const METRIC_NAMES: readonly MetricName[] = ['ifd', 'rifd', 'ds'];

/**
 * Settings from any client, made safe to use: every field is checked and falls back to its default
 * when missing or of the wrong type, so a partial `init_options` from Neovim or a typo in Helix's
 * `config` never breaks the server.
 */
export function normalizeSettings(raw: unknown, base: SiftSettings = DEFAULT_SETTINGS): SiftSettings {
  const r = (raw && typeof raw === 'object' ? raw : {}) as Record<string, unknown>;
  const pick = <T>(key: keyof SiftSettings, ok: (v: unknown) => v is T): T => (ok(r[key]) ? (r[key] as T) : (base[key] as T));
  const oneOf = <T extends string>(values: readonly T[]) => (v: unknown): v is T => typeof v === 'string' && (values as readonly string[]).includes(v);
  const isString = (v: unknown): v is string => typeof v === 'string';
  const isBoolean = (v: unknown): v is boolean => typeof v === 'boolean';
  const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
  const metrics = Array.isArray(r.metrics)
    ? [...new Set(r.metrics.filter(oneOf(METRIC_NAMES)))]
    : base.metrics;
  const urls = Array.isArray(r.endpointUrls)
    ? r.endpointUrls.filter(isString).map((u) => u.trim()).filter(Boolean)
    : typeof r.endpointUrls === 'string' && r.endpointUrls.trim() ? [r.endpointUrls.trim()] : base.endpointUrls;
  return {
    backend: pick('backend', oneOf(['local', 'vllm', 'sglang', 'tgi'] as const)),
    endpointUrls: urls,
    servedModel: pick('servedModel', isString),
    modelPath: pick('modelPath', isString),
    template: pick('template', oneOf(TEMPLATE_NAMES)),
    format: pick('format', oneOf(['', ...FORMAT_NAMES] as const)),
    boundary: pick('boundary', oneOf(['clean', 'faithful'] as const)),
    ifdVariant: pick('ifdVariant', oneOf(['ppl', 'loss'] as const)),
    metrics: metrics.length > 0 ? metrics : base.metrics,
    dsValidSet: pick('dsValidSet', isString),
    dsRule: pick('dsRule', oneOf(['paper', 'repo'] as const)),
    colorBy: pick('colorBy', oneOf(['percentile', 'thresholds'] as const)),
    ifdWarnAt: pick('ifdWarnAt', isNumber),
    autoScoreOnOpen: pick('autoScoreOnOpen', isBoolean),
    concurrency: Math.max(1, Math.min(64, Math.round(pick('concurrency', isNumber)))),
    threads: Math.max(0, Math.round(pick('threads', isNumber))),
  };
}

/** The format setting as the dataset core takes it ('' = detect). */
export function formatOf(settings: SiftSettings): FormatSpec | undefined {
  return settings.format ? { name: settings.format } : undefined;
}

/**
 * What the scorer is built from. `apiKey` is part of the identity (a new key needs a new client)
 * but only as a hash, so the identity can be compared and logged safely.
 */
export function scorerSettings(settings: SiftSettings, apiKey: string | undefined): ScorerSettings {
  return {
    backend: settings.backend,
    modelPath: settings.modelPath || undefined,
    urls: settings.endpointUrls,
    servedModel: settings.servedModel || undefined,
    apiKey: apiKey || undefined,
    threads: settings.threads > 0 ? settings.threads : undefined,
  };
}

export function scorerIdentity(settings: SiftSettings, apiKey: string | undefined): string {
  const key = apiKey ? createHash('sha256').update(apiKey).digest('hex').slice(0, 12) : '';
  return JSON.stringify([settings.backend, settings.modelPath, settings.endpointUrls, settings.servedModel, settings.threads, key]);
}

/**
 * The metrics scored for the editor: DS only when a valid set anchors it (without one DS has no
 * value, and scoring its sequences would be wasted work).
 */
export function scoringConfig(settings: SiftSettings): ScoringConfig {
  return {
    metrics: settings.metrics.filter((m) => m !== 'ds' || settings.dsValidSet !== ''),
    template: settings.template,
    boundary: settings.boundary,
    ifdVariant: settings.ifdVariant,
  };
}

/** Everything that changes a stored score or the metrics computed from it. */
export function scoringIdentity(settings: SiftSettings): string {
  const c = scoringConfig(settings);
  return JSON.stringify([c.metrics, c.template, c.boundary, c.ifdVariant, settings.dsValidSet, settings.dsRule]);
}

/** A valid-set path from settings; relative paths are taken from the workspace root. */
export function resolveSettingPath(path: string, root: string | undefined): string {
  return isAbsolute(path) ? path : resolve(root ?? process.cwd(), path);
}

/** Settings for a log line: the shape without secrets (the key never reaches settings anyway). */
export function describeSettings(settings: SiftSettings): string {
  return JSON.stringify(settings);
}
