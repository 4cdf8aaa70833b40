import { createHash } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { isAbsolute, resolve } from 'node:path';
import type { FormatSpec } from '../core/dataset/types';
import type { ScorerSettings } from '../core/scoring/createScorer';
import type { ScoringConfig } from '../core/scoring/plan';
import { SCORING_SETTINGS, normalizeGroup, type SiftSettings } from '../protocol/settings';

/**
 * Settings from any client, made safe to use: every field is checked against the settings schema
 * and falls back to its default when missing or of the wrong type (a number out of range is
 * clamped to it), so a partial `init_options` from Neovim or a typo in Helix's `config` never
 * breaks the server.
 */
export function normalizeSettings(raw: unknown): SiftSettings {
  const r = (raw && typeof raw === 'object' ? raw : {}) as Record<string, unknown>;
  return normalizeGroup(SCORING_SETTINGS, (_spec, field) => r[field]);
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
    threads: editorThreads(settings),
    concurrency: settings.concurrency,
    vllmMode: settings.vllmMode,
    chatTemplate: settings.template === 'chat',
  };
}

/**
 * CPU threads of the editor's local engines: the `threads` setting, or by default every core but one.
 * The editor's own processes (the window, the extension host) need a core while a curator reads:
 * llama.cpp's threads wait for each other at every step, so one of them descheduled stalls them all.
 * Measured with `npm run bench` (first score) on two busy cores: the first record took 1.3 s with
 * two threads and 0.3-0.4 s with one; the whole screen 27 s against 31-33 s. The CLI uses every core.
 */
export function editorThreads(settings: Pick<SiftSettings, 'threads'>, cores = availableParallelism()): number {
  return settings.threads > 0 ? settings.threads : Math.max(1, cores - 1);
}

export function scorerIdentity(settings: SiftSettings, apiKey: string | undefined): string {
  const key = apiKey ? createHash('sha256').update(apiKey).digest('hex').slice(0, 12) : '';
  // The request settings of HTTP backends need a new client; the local engine ignores them.
  const http = settings.backend === 'local' ? [] : [settings.concurrency, settings.backend === 'vllm' ? settings.vllmMode : '', settings.template === 'chat'];
  return JSON.stringify([settings.backend, settings.modelPath, settings.endpointUrls, settings.servedModel, settings.threads, key, ...http]);
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
    chatEndOfTurn: settings.chatEndOfTurn,
    chatDirectFrame: settings.chatDirectFrame,
  };
}

/** Everything that changes a stored score or the metrics computed from it. */
export function scoringIdentity(settings: SiftSettings): string {
  const c = scoringConfig(settings);
  return JSON.stringify([c.metrics, c.template, c.boundary, c.ifdVariant, c.chatEndOfTurn, c.chatDirectFrame, settings.turnScore, settings.dsValidSet, settings.dsRule]);
}

/** A valid-set path from settings; relative paths are taken from the workspace root. */
export function resolveSettingPath(path: string, root: string | undefined): string {
  return isAbsolute(path) ? path : resolve(root ?? process.cwd(), path);
}

/** Settings for a log line: the shape without secrets (the key never reaches settings anyway). */
export function describeSettings(settings: SiftSettings): string {
  return JSON.stringify(settings);
}
