import { existsSync } from 'node:fs';
import type { BackendName } from '../../scoring/backends';
import { bundledModelPath } from '../../scoring/createScorer';
import { HttpEventDigest } from '../../scoring/http/eventDigest';
import type { HttpEvent, HttpPoolOptions } from '../../scoring/http/pool';
import { PermanentScorerError } from '../../scoring/types';
import { LocalSampler } from './localSampler';
import { SglangSampler } from './sglangSampler';
import { TgiSampler } from './tgiSampler';
import type { StudentSampler } from './types';
import { VllmSampler } from './vllmSampler';

export interface SamplerSettings {
  backend: BackendName;
  /** GGUF path for `local`; default: the bundled TinyStories model. */
  modelPath?: string;
  urls?: string[];
  servedModel?: string;
  /** From the environment; never from a flag or a file. */
  apiKey?: string;
  threads?: number;
  /** Requests in flight per endpoint URL. */
  concurrency?: number;
  /** Prompts per request where the server takes several (vLLM, SGLang). */
  promptsPerRequest?: number;
  /** One line per failure kind of the HTTP backends, with counts. */
  onEvent?: (message: string) => void;
}

/** The student named by the settings, connected (servers) or loaded (a GGUF file). */
export async function createSampler(settings: SamplerSettings, packageRoot: string): Promise<StudentSampler> {
  if (settings.backend === 'local') {
    const modelPath = settings.modelPath ?? bundledModelPath(packageRoot);
    if (!existsSync(modelPath)) throw new PermanentScorerError(`model file not found: ${modelPath}`);
    return LocalSampler.load({ modelPath, threads: settings.threads });
  }
  if (!settings.urls || settings.urls.length === 0) throw new PermanentScorerError(`the ${settings.backend} backend needs at least one endpoint URL`);
  const digest = settings.onEvent ? new HttpEventDigest(settings.onEvent) : undefined;
  const pool: HttpPoolOptions = {
    urls: settings.urls,
    apiKey: settings.apiKey,
    maxInFlightPerUrl: settings.concurrency,
    // A long generation is not a hung server: vLLM answers a batch only when all its samples are done.
    requestTimeoutMs: 30 * 60_000,
    onEvent: digest ? (event: HttpEvent) => digest.add(event) : undefined,
  };
  const sampler = await connect(settings.backend, settings, pool);
  if (digest) {
    const close = sampler.close.bind(sampler);
    sampler.close = async () => {
      digest.flush();
      await close();
    };
  }
  return sampler;
}

function connect(backend: Exclude<BackendName, 'local'>, settings: SamplerSettings, pool: HttpPoolOptions): Promise<StudentSampler> {
  switch (backend) {
    case 'vllm':
      return VllmSampler.connect({ ...pool, servedModel: settings.servedModel, promptsPerRequest: settings.promptsPerRequest });
    case 'sglang':
      return SglangSampler.connect({ ...pool, servedModel: settings.servedModel, promptsPerRequest: settings.promptsPerRequest });
    case 'tgi':
      return TgiSampler.connect(pool);
  }
}
