/**
 * The student on SGLang servers, through SGLang's native `POST /generate`. Read from SGLang's source
 * (`sgl-project/sglang`, main, 2026):
 *
 * - `GenerateReqInput` (`python/sglang/srt/managers/io_struct.py`): `text: str | list[str]` or
 *   `input_ids: list[int] | list[list[int]]`, `sampling_params: dict | list[dict]` (one per prompt
 *   in a batch), `lora_path`. A batch answers with a JSON list, one object per prompt, in order:
 *   `{text, output_ids, meta_info: {finish_reason: {type: "stop", matched} | {type: "length",
 *   length} | {type: "abort", message}, prompt_tokens, completion_tokens, ...}}`.
 * - `SamplingParams` (`python/sglang/srt/sampling/sampling_params.py`): `max_new_tokens` (default
 *   128), `stop`, `temperature` (default 1.0), `top_p` (1.0), `top_k` (all), `min_p` (0),
 *   `repetition_penalty` (1.0), `n` (1), `no_stop_trim` (false: a stop string is cut from the text),
 *   `sampling_seed` (None).
 *
 * Seeds: SGLang's seeded sampling (`multinomial_with_seed` in `python/sglang/srt/layers/sampler.py`)
 * draws from a hash of the request's `sampling_seed` and the position, so the n samples of one
 * request with `n` would share one seed. Sift therefore sends every sample as its own entry of the
 * batch with `n: 1` and `sampling_seed` = the run's seed + sample index (the radix cache shares the
 * prompt between them). SGLang honours `sampling_seed` when launched with
 * `--enable-deterministic-inference` (its flashinfer sampling backend does not take seeds); without
 * it the samples are valid but a re-run draws others.
 */
import { MalformedResponseError } from '../../net/errors';
import { discoverServedModel } from '../../scoring/http/discovery';
import type { HttpEndpointPool, HttpPoolOptions } from '../../scoring/http/pool';
import { connectPool } from '../../scoring/http/scorer';
import { parseModelList } from '../../scoring/vllm/protocol';
import { PermanentScorerError } from '../../scoring/types';
import { groupJobs, sendBatches } from './requestBatches';
import type { GenerationSettings, Generated, SampleHandlers, SampleJob, StudentSampler } from './types';

export interface SglangSamplingParams {
  max_new_tokens: number;
  temperature: number;
  top_p: number;
  n: 1;
  sampling_seed: number;
  stop?: string[];
}

export interface SglangSamplingRequest {
  text?: string[];
  input_ids?: number[][];
  sampling_params: SglangSamplingParams[];
  lora_path?: string;
}

/** One batch: every sample of every prompt as its own entry, sample j of a prompt with seed `firstSeed + j`. */
export function buildSglangSamplingRequest(prompts: string[] | number[][], firstSeed: number, count: number, settings: GenerationSettings, loraPath?: string): SglangSamplingRequest {
  const entries = (prompts as (string | number[])[]).flatMap((p) => Array.from({ length: count }, (_, j) => ({ prompt: p, seed: firstSeed + j })));
  const params = entries.map(({ seed }): SglangSamplingParams => {
    const p: SglangSamplingParams = { max_new_tokens: settings.maxTokens, temperature: settings.temperature, top_p: settings.topP, n: 1, sampling_seed: seed };
    if (settings.stop.length > 0) p.stop = [...settings.stop];
    return p;
  });
  const body: SglangSamplingRequest = typeof prompts[0] === 'string' ? { text: entries.map((e) => e.prompt as string) } as SglangSamplingRequest : { input_ids: entries.map((e) => e.prompt as number[]) } as SglangSamplingRequest;
  body.sampling_params = params;
  if (loraPath !== undefined) body.lora_path = loraPath;
  return body;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** `[prompt][sample]` from a batch response of prompts × count entries. */
export function parseSglangSamplingResponse(body: unknown, prompts: number, count: number): Generated[][] {
  const list = Array.isArray(body) ? body : [body];
  if (list.length !== prompts * count) throw new MalformedResponseError(`expected ${prompts * count} results (${prompts} prompt(s) × ${count} samples), got ${list.length}`);
  const out: Generated[][] = Array.from({ length: prompts }, () => []);
  list.forEach((item, i) => {
    if (!isObject(item) || typeof item['text'] !== 'string' || !isObject(item['meta_info'])) throw new MalformedResponseError(`result ${i} has no text and meta_info`);
    const meta = item['meta_info'];
    const finish = isObject(meta['finish_reason']) ? meta['finish_reason']['type'] : undefined;
    if (finish === 'abort') throw new PermanentScorerError(`SGLang aborted result ${i}: ${String((meta['finish_reason'] as Record<string, unknown>)['message'] ?? '')}`);
    if (finish !== 'stop' && finish !== 'length') throw new MalformedResponseError(`result ${i} finished with ${JSON.stringify(finish)}`);
    const tokens = typeof meta['completion_tokens'] === 'number' ? meta['completion_tokens'] : 0;
    out[Math.floor(i / count)]!.push({ text: item['text'], finishReason: finish, tokens });
  });
  return out;
}

export interface SglangSamplerOptions extends HttpPoolOptions {
  servedModel?: string;
  /** Questions per request (default 16). */
  promptsPerRequest?: number;
}

export class SglangSampler implements StudentSampler {
  readonly remote = true;
  readonly modelId: string;
  readonly endpoint: string;
  readonly chatUnavailable = "SGLang's /tokenize takes no messages, so Sift cannot render the server's chat template: use a text prompt";

  private constructor(
    private readonly pool: HttpEndpointPool,
    readonly servedModel: string,
    private readonly loraPath: string | undefined,
    private readonly promptsPerRequest: number,
  ) {
    this.modelId = `sglang:${servedModel}`;
    this.endpoint = pool.bases.map((_, i) => pool.displayUrl(i)).join(', ');
  }

  static async connect(opts: SglangSamplerOptions, signal?: AbortSignal): Promise<SglangSampler> {
    const perRequest = opts.promptsPerRequest ?? 16;
    if (!Number.isInteger(perRequest) || perRequest < 1) throw new PermanentScorerError('prompts per request must be a positive integer');
    const { pool, found } = await connectPool(opts, (p) => discoverServedModel(p, parseModelList, opts.servedModel, signal));
    return new SglangSampler(pool, found.servedModel, found.card.parent ? found.servedModel : undefined, perRequest);
  }

  async sample(jobs: readonly SampleJob[], settings: GenerationSettings, handlers: SampleHandlers, signal?: AbortSignal): Promise<void> {
    await sendBatches(
      groupJobs(jobs, this.promptsPerRequest),
      (batch, sig) => {
        const first = jobs[batch[0] as number] as SampleJob;
        const prompts = first.prompt.ids ? batch.map((j) => (jobs[j] as SampleJob).prompt.ids as number[]) : batch.map((j) => (jobs[j] as SampleJob).prompt.text);
        return this.pool.request({
          method: 'POST',
          path: '/generate',
          body: buildSglangSamplingRequest(prompts, first.firstSeed, first.count, settings, this.loraPath),
          parse: (body) => parseSglangSamplingResponse(body, batch.length, first.count),
          what: `generate (${batch.length} prompt(s) × ${first.count} samples)`,
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
