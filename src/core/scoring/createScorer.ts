import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { LocalScorer } from './local/localScorer';
import type { TokenScorer } from './types';
import { PermanentScorerError } from './types';
import { VllmScorer } from './vllm/client';

export type BackendName = 'local' | 'vllm';

export interface ScorerSettings {
  backend: BackendName;
  /** GGUF path for `local`; default: the bundled TinyStories model. */
  modelPath?: string;
  /** Base URLs for HTTP backends (several = data-parallel replicas). */
  urls?: string[];
  servedModel?: string;
  /** From the environment or the editor's secret storage; never from settings files. */
  apiKey?: string;
  threads?: number;
  onEvent?: (message: string) => void;
}

/** The model shipped with Sift: TinyStories 260K (MIT), for tests and the offline default. */
export function bundledModelPath(packageRoot: string): string {
  return join(packageRoot, 'models', 'stories260K.gguf');
}

export async function createScorer(settings: ScorerSettings, packageRoot: string): Promise<TokenScorer> {
  if (settings.backend === 'local') {
    const modelPath = settings.modelPath ?? bundledModelPath(packageRoot);
    if (!existsSync(modelPath)) throw new PermanentScorerError(`model file not found: ${modelPath}`);
    return LocalScorer.load({ modelPath, threads: settings.threads });
  }
  if (!settings.urls || settings.urls.length === 0) {
    throw new PermanentScorerError(`the ${settings.backend} backend needs at least one endpoint URL`);
  }
  return VllmScorer.connect({
    urls: settings.urls,
    servedModel: settings.servedModel,
    apiKey: settings.apiKey,
    onEvent: settings.onEvent ? (event) => settings.onEvent?.(describeEvent(event)) : undefined,
  });
}

function describeEvent(event: unknown): string {
  if (typeof event === 'string') return event;
  if (event && typeof event === 'object' && 'message' in event) return String((event as { message: unknown }).message);
  return JSON.stringify(event);
}
