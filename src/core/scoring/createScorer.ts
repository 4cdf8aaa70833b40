import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { BackendName } from './backends';
import { HttpEventDigest } from './http/eventDigest';
import type { HttpEvent, HttpPoolOptions } from './http/pool';
import { openLlama } from './local/llamaRuntime';
import { LocalScorer } from './local/localScorer';
import type { TokenScorer } from './types';
import { PermanentScorerError } from './types';
import { SglangScorer } from './sglang/client';
import { TgiScorer } from './tgi/client';
import { VllmScorer } from './vllm/client';
import type { VllmMode } from './vllm/protocol';

export type { BackendName } from './backends';

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
  /** Requests in flight per endpoint (HTTP backends); default: the HTTP pool's. */
  concurrency?: number;
  /** The run uses the `chat` template: probe the server's chat template at connect (vllm). */
  chatTemplate?: boolean;
  /** How the vllm backend asks for log-probs; default: the vLLM client's. */
  vllmMode?: VllmMode;
  /** One line per failure kind of the HTTP backends, with counts (see HttpEventDigest). */
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
  const digest = settings.onEvent ? new HttpEventDigest(settings.onEvent) : undefined;
  const common = {
    urls: settings.urls,
    apiKey: settings.apiKey,
    maxInFlightPerUrl: settings.concurrency,
    onEvent: digest ? (event: HttpEvent) => digest.add(event) : undefined,
  };
  const scorer = await connect(settings.backend, settings, common);
  if (digest) {
    // Counts of failures that were retried successfully are written when the run ends.
    const close = scorer.close.bind(scorer);
    scorer.close = async () => {
      digest.flush();
      await close();
    };
  }
  return scorer;
}

/**
 * Starts what every scorer of this backend needs before any model is named: for `local`, the
 * llama.cpp runtime (import and binary test, about a second on a CPU), shared by the scorers
 * created later. Resolves either way; a failure is reported when a scorer is created.
 */
export async function warmUpScorer(settings: Pick<ScorerSettings, 'backend'>): Promise<void> {
  if (settings.backend !== 'local') return;
  await openLlama().then(
    () => undefined,
    () => undefined,
  );
}

function connect(backend: Exclude<BackendName, 'local'>, settings: ScorerSettings, common: HttpPoolOptions): Promise<TokenScorer> {
  switch (backend) {
    case 'vllm':
      return VllmScorer.connect({ ...common, servedModel: settings.servedModel, mode: settings.vllmMode, chatTemplate: settings.chatTemplate });
    case 'sglang':
      return SglangScorer.connect({ ...common, servedModel: settings.servedModel });
    case 'tgi':
      return TgiScorer.connect(common);
  }
}
