import type { ChatMessage } from '../../metrics/chatSpans';
import { discoverServedModel } from '../../scoring/http/discovery';
import type { HttpEndpointPool, HttpPoolOptions } from '../../scoring/http/pool';
import { connectPool } from '../../scoring/http/scorer';
import { buildTokenizeChatRequest } from '../../scoring/vllm/chatRenderer';
import { parseModelList, parseTokenizeResponse } from '../../scoring/vllm/protocol';
import { PermanentScorerError } from '../../scoring/types';
import { groupJobs, sendBatches } from './requestBatches';
import type { GenerationSettings, PreparedPrompt, SampleHandlers, SampleJob, StudentSampler } from './types';
import { buildSamplingRequest, parseDetokenizeResponse, parseSamplingResponse } from './vllmSampling';

export interface VllmSamplerOptions extends HttpPoolOptions {
  /** Default: the first model the server lists. */
  servedModel?: string;
  /** Questions per request (default 16; vLLM takes at most VLLM_MAX_COMPLETION_PROMPTS, 1024 by default). */
  promptsPerRequest?: number;
}

const DEFAULT_PROMPTS_PER_REQUEST = 16;
const VLLM_MAX_COMPLETION_PROMPTS = 1024;

/**
 * The student on vLLM servers (data-parallel replicas of one model), or anything that speaks its
 * `/v1/completions` (`sift serve`): a question's k samples are one prompt with `n: k` and a `seed`,
 * and up to `promptsPerRequest` questions share a request. See vllmSampling.ts for the protocol.
 *
 * Identity: `vllm:<served model name>`, as the scorer's, so different weights served under one name
 * share stored samples; give them different `--served-model-name`s.
 */
export class VllmSampler implements StudentSampler {
  readonly remote = true;
  readonly modelId: string;
  readonly endpoint: string;

  private constructor(
    private readonly pool: HttpEndpointPool,
    readonly servedModel: string,
    readonly maxModelLen: number,
    private readonly promptsPerRequest: number,
  ) {
    this.modelId = `vllm:${servedModel}`;
    this.endpoint = pool.bases.map((_, i) => pool.displayUrl(i)).join(', ');
  }

  static async connect(opts: VllmSamplerOptions, signal?: AbortSignal): Promise<VllmSampler> {
    const perRequest = opts.promptsPerRequest ?? DEFAULT_PROMPTS_PER_REQUEST;
    if (!Number.isInteger(perRequest) || perRequest < 1 || perRequest > VLLM_MAX_COMPLETION_PROMPTS) {
      throw new PermanentScorerError(`prompts per request must be an integer from 1 to ${VLLM_MAX_COMPLETION_PROMPTS}`);
    }
    const { pool, found } = await connectPool(opts, (p) => discoverServedModel(p, parseModelList, opts.servedModel, signal));
    return new VllmSampler(pool, found.servedModel, found.maxModelLen, perRequest);
  }

  /**
   * The server's chat template through `/tokenize` with `messages` (vLLM's TokenizeChatRequest, see
   * scoring/vllm/chatRenderer.ts), then `/detokenize` for the exact text those ids read as.
   */
  async renderChat(messages: ChatMessage[], signal?: AbortSignal): Promise<PreparedPrompt> {
    const { tokens } = await this.pool.request({
      method: 'POST',
      path: '/tokenize',
      body: buildTokenizeChatRequest(this.servedModel, { messages, addGenerationPrompt: true, continueFinalMessage: false }),
      parse: parseTokenizeResponse,
      what: 'tokenize (chat)',
      signal,
    });
    const text = await this.pool.request({
      method: 'POST',
      path: '/detokenize',
      body: { model: this.servedModel, tokens },
      parse: parseDetokenizeResponse,
      what: 'detokenize',
      signal,
    });
    return { kind: 'chat', text, ids: tokens };
  }

  async sample(jobs: readonly SampleJob[], settings: GenerationSettings, handlers: SampleHandlers, signal?: AbortSignal): Promise<void> {
    await sendBatches(
      groupJobs(jobs, this.promptsPerRequest),
      async (batch, sig) => {
        const first = jobs[batch[0] as number] as SampleJob;
        const prompts = first.prompt.ids ? batch.map((j) => (jobs[j] as SampleJob).prompt.ids as number[]) : batch.map((j) => (jobs[j] as SampleJob).prompt.text);
        return this.pool.request({
          method: 'POST',
          path: '/v1/completions',
          body: buildSamplingRequest(this.servedModel, prompts, first.firstSeed, first.count, settings),
          parse: (body) => parseSamplingResponse(body, batch.length, first.count),
          what: `completions (${batch.length} prompt(s) × ${first.count} samples)`,
          signal: sig,
        });
      },
      handlers,
      signal,
    );
  }

  async close(): Promise<void> {
    this.pool.close();
  }
}
