import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { FormatName, FormatSpec } from '../core/dataset/types';
import type { DsRule } from '../core/metrics/types';
import type { ScorerSettings } from '../core/scoring/createScorer';
import { resolveModel } from '../core/models/store';
import { displayUrl } from '../core/net/redact';
import type { ScoringConfig } from '../core/scoring/plan';
import type { TurnScore } from '../core/metrics/types';
import { SCORING_SETTINGS as S, type NumberSetting } from '../protocol/settings';
import { UsageError, oneOf } from './usage';

/** `--format` choices: the setting's, without its '' (detect), which is the flag left out. */
export const FORMATS = S.format.values.filter((f): f is FormatName => f !== '');

/** An integer flag checked against its setting's range. */
export function integerFlag(value: string, spec: Pick<NumberSetting, 'minimum' | 'maximum'>, flag: string): number {
  const number = Number(value);
  const range = spec.maximum === undefined ? `${spec.minimum} or more` : `from ${spec.minimum} to ${spec.maximum}`;
  if (value.trim() === '' || !Number.isInteger(number) || number < spec.minimum || (spec.maximum !== undefined && number > spec.maximum)) {
    throw new UsageError(`${flag} expects an integer ${range} (got "${value}")`);
  }
  return number;
}

/** Options shared by every command that scores. */
export interface ScoreFlags {
  metrics: string;
  valid?: string;
  backend?: string;
  model?: string;
  url?: string[];
  servedModel?: string;
  template: string;
  format?: string;
  fieldMap?: string;
  boundary: string;
  ifdVariant: string;
  chatEndOfTurn: string;
  chatDirectFrame: string;
  turnScore: string;
  dsRule: string;
  cache: boolean;
  store?: string;
  threads?: string;
  concurrency: string;
  vllmMode: string;
}

export interface ResolvedScoreSettings {
  scorer: ScorerSettings;
  config: ScoringConfig;
  format?: FormatSpec;
  validPath?: string;
  dsRule: DsRule;
  turnScore: TurnScore;
  useCache: boolean;
  storePath?: string;
}

export function requireFile(path: string, what: string): string {
  const absolute = resolve(path);
  if (!existsSync(absolute)) throw new UsageError(`${what} not found: ${path}`);
  if (!statSync(absolute).isFile()) throw new UsageError(`${what} is not a file: ${path}`);
  return absolute;
}

/** `--model`: a GGUF file, or a catalogue name, `hf:` URI or URL pulled before with `sift model pull`. */
export function modelFile(name: string): string {
  const resolution = resolveModel(name);
  if (resolution.kind !== 'file') throw new UsageError(resolution.message);
  return resolution.path;
}

export function resolveScoreSettings(flags: ScoreFlags): ResolvedScoreSettings {
  const metrics = [...new Set(flags.metrics.split(',').map((m) => m.trim()).filter(Boolean))].map((m) => oneOf(m, S.metrics.values, '--metrics'));
  if (metrics.length === 0) throw new UsageError(`--metrics needs at least one of ${S.metrics.values.join(', ')}`);
  const validPath = flags.valid ? requireFile(flags.valid, 'valid set') : undefined;
  if (metrics.includes('ds') && !validPath) throw new UsageError('--metrics ds needs --valid FILE (a small trusted set whose mean loss anchors DS weight)');
  const urls = flags.url ?? [];
  const backend = flags.backend ? oneOf(flags.backend, S.backend.values, '--backend') : urls.length > 0 ? 'vllm' : 'local';
  if (backend !== 'local' && urls.length === 0) throw new UsageError(`--backend ${backend} needs --url URL`);
  if (backend === 'local' && urls.length > 0) throw new UsageError('--url is for HTTP backends; the local backend takes --model PATH');
  for (const url of urls) {
    try {
      const parsed = new URL(url);
      if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error();
    } catch {
      throw new UsageError(`--url must be an http(s) URL (got "${displayUrl(url)}")`);
    }
  }
  const threads = flags.threads === undefined ? 0 : integerFlag(flags.threads, S.threads, '--threads');
  return {
    scorer: {
      backend,
      modelPath: flags.model ? modelFile(flags.model) : undefined,
      urls,
      servedModel: flags.servedModel,
      apiKey: process.env.SIFT_SCORER_API_KEY || undefined,
      threads: threads > 0 ? threads : undefined,
      concurrency: integerFlag(flags.concurrency, S.concurrency, '--concurrency'),
      vllmMode: oneOf(flags.vllmMode, S.vllmMode.values, '--vllm-mode'),
      chatTemplate: flags.template === 'chat',
    },
    config: {
      metrics,
      template: oneOf(flags.template, S.template.values, '--template'),
      boundary: oneOf(flags.boundary, S.boundary.values, '--boundary'),
      ifdVariant: oneOf(flags.ifdVariant, S.ifdVariant.values, '--ifd-variant'),
      chatEndOfTurn: oneOf(flags.chatEndOfTurn, S.chatEndOfTurn.values, '--chat-end-of-turn'),
      chatDirectFrame: oneOf(flags.chatDirectFrame, S.chatDirectFrame.values, '--chat-direct-frame'),
    },
    turnScore: oneOf(flags.turnScore, S.turnScore.values, '--turn-score'),
    format: formatSpec(flags),
    validPath,
    dsRule: oneOf(flags.dsRule, S.dsRule.values, '--ds-rule'),
    useCache: flags.cache,
    storePath: flags.store,
  };
}

/** `--format NAME`, or `--field-map instruction=PATH,response=PATH[,input=PATH]` (dotted paths). */
function formatSpec(flags: ScoreFlags): FormatSpec | undefined {
  if (flags.fieldMap !== undefined) {
    if (flags.format) throw new UsageError('use either --format or --field-map, not both');
    const mapping: Record<string, string> = {};
    for (const part of flags.fieldMap.split(',')) {
      const [key, path] = part.split('=').map((x) => x.trim());
      if (!['instruction', 'input', 'response'].includes(key) || !path) {
        throw new UsageError(`--field-map expects instruction=PATH,response=PATH[,input=PATH] (got "${part}")`);
      }
      mapping[key] = path;
    }
    if (!mapping.instruction || !mapping.response) throw new UsageError('--field-map needs both instruction=PATH and response=PATH');
    return { name: 'custom', mapping: { instruction: mapping.instruction, input: mapping.input, response: mapping.response } };
  }
  return flags.format ? { name: oneOf(flags.format, FORMATS, '--format') } : undefined;
}
