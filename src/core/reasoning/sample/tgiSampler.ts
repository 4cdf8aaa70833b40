/**
 * The student on Hugging Face TGI servers, through `POST /generate`. Read from TGI's source
 * (`huggingface/text-generation-inference`, `router/src/lib.rs` GenerateParameters and
 * `router/src/validation.rs`):
 *
 * - request `{inputs: string, parameters: {do_sample, temperature, top_p, seed, max_new_tokens,
 *   stop, details}}`; response `{generated_text, details: {finish_reason: "length" | "eos_token" |
 *   "stop_sequence", generated_tokens, seed, ...}}`.
 * - One generation per request: TGI has no `n`. Its `best_of` draws several and returns the best
 *   (the others in `details.best_of_sequences`), but validation refuses it with a seed ("`seed`
 *   must not be set when `best_of` > 1") and caps it at `--max-best-of` (2 by default), so Sift
 *   sends k requests per question, sample j with `seed` = the run's seed + j (TGI seeds are u64).
 * - `temperature` must be strictly positive and `top_p` in (0, 1) ("`top_p` must be > 0.0 and <
 *   1.0"): temperature 0 is sent as `do_sample: false` (greedy) and top_p 1 is left out (no top-p).
 * - A stop sequence stays at the end of `generated_text`; Sift cuts it off, as vLLM and SGLang
 *   return the text. TGI takes at most `--max-stop-sequences` (4 by default) and refuses more (422).
 * - A prompt too long for the server is a 422; only that question fails.
 */
import { PermanentScorerError } from '../../scoring/types';
import { MalformedResponseError } from '../../net/errors';
import { onEveryReplica } from '../../scoring/http/discovery';
import { isSequenceRefusal } from '../../scoring/http/batching';
import type { HttpEndpointPool, HttpPoolOptions } from '../../scoring/http/pool';
import { runAll } from '../../scoring/http/runAll';
import { connectPool } from '../../scoring/http/scorer';
import { parseInfo, type TgiInfo } from '../../scoring/tgi/protocol';
import { firstStop } from './localGenerator';
import type { GenerationSettings, Generated, SampleHandlers, SampleJob, StudentSampler } from './types';

export interface TgiSamplingRequest {
  inputs: string;
  parameters: {
    do_sample: boolean;
    temperature?: number;
    top_p?: number;
    seed: number;
    max_new_tokens: number;
    stop?: string[];
    details: true;
  };
}

export function buildTgiSamplingRequest(prompt: string, seed: number, settings: GenerationSettings): TgiSamplingRequest {
  const sampled = settings.temperature > 0;
  const parameters: TgiSamplingRequest['parameters'] = { do_sample: sampled, seed, max_new_tokens: settings.maxTokens, details: true };
  if (sampled) parameters.temperature = settings.temperature;
  if (sampled && settings.topP < 1) parameters.top_p = settings.topP;
  if (settings.stop.length > 0) parameters.stop = [...settings.stop];
  return { inputs: prompt, parameters };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** The generation, cut before the first stop string (TGI leaves it in the text). */
export function parseTgiSamplingResponse(body: unknown, stop: readonly string[]): Generated {
  const item = Array.isArray(body) ? body[0] : body;
  if (!isObject(item) || typeof item['generated_text'] !== 'string') throw new MalformedResponseError('generate response has no generated_text');
  const details = isObject(item['details']) ? item['details'] : undefined;
  const reason = details?.['finish_reason'];
  if (reason !== 'length' && reason !== 'eos_token' && reason !== 'stop_sequence') throw new MalformedResponseError(`generate response finished with ${JSON.stringify(reason)}`);
  const hit = firstStop(item['generated_text'], stop);
  const text = hit ? item['generated_text'].slice(0, hit.at) : item['generated_text'];
  const tokens = typeof details?.['generated_tokens'] === 'number' ? details['generated_tokens'] : 0;
  return { text, finishReason: reason === 'length' && !hit ? 'length' : 'stop', tokens };
}

export class TgiSampler implements StudentSampler {
  readonly remote = true;
  readonly modelId: string;
  readonly endpoint: string;
  readonly chatUnavailable = 'TGI takes text prompts; Sift does not render its chat template: use a text prompt';

  private constructor(private readonly pool: HttpEndpointPool, info: TgiInfo) {
    this.modelId = `tgi:${info.model_id}${info.model_sha ? `@${info.model_sha.slice(0, 12)}` : ''}`;
    this.endpoint = pool.bases.map((_, i) => pool.displayUrl(i)).join(', ');
  }

  static async connect(opts: HttpPoolOptions, signal?: AbortSignal): Promise<TgiSampler> {
    // 424 is TGI's "generation failed" (e.g. out of memory): worth retrying.
    const poolOptions = { ...opts, extraRetryableStatuses: [424, ...(opts.extraRetryableStatuses ?? [])] };
    const { pool, found } = await connectPool(poolOptions, async (p) => {
      const ok = await onEveryReplica(p, (i) => p.request({ method: 'GET', path: '/info', parse: parseInfo, what: 'info', signal, urlIndex: i }), signal);
      const info = (ok[0] as { value: TgiInfo }).value;
      for (const { i, value } of ok) {
        if (value.model_id !== info.model_id) throw new PermanentScorerError(`${p.displayUrl(i)} serves ${value.model_id}, not ${info.model_id}`);
      }
      return info;
    });
    return new TgiSampler(pool, found);
  }

  async sample(jobs: readonly SampleJob[], settings: GenerationSettings, handlers: SampleHandlers, signal?: AbortSignal): Promise<void> {
    const calls = jobs.flatMap((job, j) => Array.from({ length: job.count }, (_, offset) => ({ job: j, offset })));
    const refused = new Set<number>();
    await runAll(
      calls.length,
      async (c, sig) => {
        const { job, offset } = calls[c]!;
        if (refused.has(job)) return;
        const spec = jobs[job]!;
        if (spec.prompt.ids) throw new PermanentScorerError(this.chatUnavailable);
        try {
          const generated = await this.pool.request({
            method: 'POST',
            path: '/generate',
            body: buildTgiSamplingRequest(spec.prompt.text, spec.firstSeed + offset, settings),
            parse: (body) => parseTgiSamplingResponse(body, settings.stop),
            what: 'generate',
            signal: sig,
          });
          if (!refused.has(job)) handlers.onSample(job, offset, generated);
        } catch (error) {
          if (!isSequenceRefusal(error)) throw error;
          if (!refused.has(job)) {
            refused.add(job);
            handlers.onJobError(job, error as Error);
          }
        }
      },
      signal,
    );
  }

  async close(): Promise<void> {
    this.pool.close();
  }
}
