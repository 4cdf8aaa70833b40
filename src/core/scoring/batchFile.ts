/**
 * Scoring past one machine with an existing batch engine: the scoring requests written as an
 * OpenAI batch file (`sift score --export-batch`), run by a batch runner on a cluster, and its
 * results read back into the score store (`--import-batch`).
 *
 * The file format is the OpenAI batch file that vLLM's batch runner reads, one request per line
 * (vllm/entrypoints/openai/run_batch.py, and vllm/entrypoints/openai/batch/protocol.py in newer
 * trees):
 *
 *     class BatchRequestInput(OpenAIBaseModel):
 *         custom_id: str   # "A developer-provided per-request id that will be used to match
 *                          #  outputs to inputs. Must be unique for each request in a batch."
 *         method: str      # "Currently only POST is supported."
 *         url: str         # "The OpenAI API relative URL to be used for the request."
 *         body: ...        # "The parameters of the request."
 *
 *     class BatchRequestOutput(OpenAIBaseModel):
 *         id: str
 *         custom_id: str
 *         response: BatchResponseData | None   # {status_code: int = 200, request_id: str, body}
 *         error: Any | None
 *
 * Each body is exactly what the vLLM client sends to `POST /v1/completions` (a list of token-id
 * prompts, `max_tokens: 1`, `prompt_logprobs: 0`; see vllm/protocol.ts), so a result is scored as
 * a live answer would be, and the results give the same scores as a direct run.
 *
 * Which runners take it. vLLM's own runner (`vllm run-batch`, the file above, checked up to its
 * 2026 tree) dispatches `url` to /v1/chat/completions, /v1/embeddings, /score (/v1/score),
 * /rerank and, in newer trees, /v1/audio/transcriptions and /v1/audio/translations, and answers any
 * other URL with the error "URL ... was used. Supported endpoints: ...": it does NOT run
 * /v1/completions, and a chat request cannot carry token ids (ChatCompletionRequest takes
 * `messages`, rendered by the server's chat template), so no request vLLM's runner accepts scores
 * Sift's exact token sequences. The file runs under runners that take the completions endpoint of
 * the OpenAI batch format (OpenAI's batch API lists /v1/completions) against vLLM engines, e.g. Ray
 * Data's LLM batch processing (read the file, post each `body` to the engines), or a vLLM runner
 * once /v1/completions is added to its dispatch, which needs no other change (the serving code
 * behind it is the one `vllm serve` runs).
 *
 * custom_id: `sift1:` + JSON of what the results need to become scores without the dataset, the
 * tokenizer or the server: the model id, and per prompt its length and a hash of its tokens (the
 * results' `prompt_logprobs` are keyed by token id, so the import checks that the engine scored
 * the tokens that were sent), and the metrics whose spans it carries (store key, which span,
 * positions). A metric whose spans went to two requests is completed when both results are in.
 */
import { buildScoringRequest } from './vllm/protocol';
import { planBatches } from './http/batching';
import { MalformedResponseError } from '../net/errors';
import { parseJsonBody } from '../net/body';
import { meanNll } from '../metrics/nll';
import type { SpanLoss } from '../metrics/types';
import type { StoredLosses } from '../store/scoreStore';

export const BATCH_URL = '/v1/completions';
const CUSTOM_ID_PREFIX = 'sift1:';

/** One metric of one record as the export plans it: what its store entry will be made of. */
export interface ExportedMetric {
  key: string;
  /** Per span in the metric's order: why it has no token to score, or where it is evaluated. */
  spans: (string | { sequence: number; start: number; end: number })[];
  truncated: boolean;
  notes?: string[];
}

/** What a request's custom_id carries (short names: the id is repeated in every result line). */
interface BatchTag {
  /** The model id of the store keys. */
  m: string;
  /** Per prompt: [length, hash of tokens 1..length-1]. */
  p: [number, number][];
  /** Metrics: [store key, truncated, notes, spans: (reason | [prompt index, start, end] | null)]; null: in another request. */
  e: [string, 0 | 1, string[] | null, (string | [number, number, number] | null)[]][];
}

/** FNV-1a over the ids after the first (position 0 has no log-prob, so the results do not show it). */
export function scoredTokensHash(ids: readonly number[]): number {
  let h = 0x811c9dc5;
  for (let j = 1; j < ids.length; j++) {
    let v = ids[j] as number;
    for (let b = 0; b < 4; b++) {
      h ^= v & 0xff;
      h = Math.imul(h, 0x01000193) >>> 0;
      v = Math.floor(v / 256);
    }
  }
  return h;
}

/**
 * Writes the requests of planned chunks as batch-file lines. `write` receives each line (with its
 * newline) and may apply back-pressure.
 */
export class BatchExporter {
  requests = 0;
  sequences = 0;
  tokens = 0;

  constructor(
    private readonly write: (line: string) => Promise<void>,
    private readonly servedModel: string,
    private readonly modelId: string,
    private readonly budget: { maxTokensPerRequest: number; maxPromptsPerRequest: number },
  ) {}

  /** The requests for one chunk's unique sequences and the metrics built on them. */
  async add(sequences: number[][], metrics: ExportedMetric[]): Promise<void> {
    // Similar lengths together: a request's prompts then finish together on the engine.
    const order = sequences.map((_, i) => i).sort((a, b) => (sequences[a] as number[]).length - (sequences[b] as number[]).length);
    const batches = planBatches(
      order.map((i) => (sequences[i] as number[]).length),
      this.budget.maxTokensPerRequest,
      this.budget.maxPromptsPerRequest,
    ).map((batch) => batch.map((k) => order[k] as number));
    const where = new Map<number, { request: number; prompt: number }>();
    batches.forEach((batch, request) => batch.forEach((sequence, prompt) => where.set(sequence, { request, prompt })));
    const tags: BatchTag[] = batches.map((batch) => ({
      m: this.modelId,
      p: batch.map((s) => [(sequences[s] as number[]).length, scoredTokensHash(sequences[s] as number[])]),
      e: [],
    }));
    for (const metric of metrics) {
      const requests = new Set<number>();
      for (const span of metric.spans) if (typeof span !== 'string') requests.add((where.get(span.sequence) as { request: number }).request);
      for (const request of requests) {
        const spans = metric.spans.map((span) => {
          if (typeof span === 'string') return span;
          const at = where.get(span.sequence) as { request: number; prompt: number };
          return at.request === request ? ([at.prompt, span.start, span.end] as [number, number, number]) : null;
        });
        (tags[request] as BatchTag).e.push([metric.key, metric.truncated ? 1 : 0, metric.notes ?? null, spans]);
      }
    }
    for (let r = 0; r < batches.length; r++) {
      const prompts = (batches[r] as number[]).map((s) => sequences[s] as number[]);
      const id = `${CUSTOM_ID_PREFIX}${this.requests}:${JSON.stringify(tags[r])}`;
      const line = { custom_id: id, method: 'POST', url: BATCH_URL, body: buildScoringRequest(this.servedModel, prompts, 'prompt_logprobs') };
      this.requests++;
      this.sequences += prompts.length;
      this.tokens += prompts.reduce((sum, p) => sum + p.length, 0);
      await this.write(JSON.stringify(line) + '\n');
    }
  }
}

/** Thrown for a results file that is not what a batch runner writes for Sift's requests. */
export class BatchResultsError extends Error {
  override name = 'BatchResultsError';
}

export interface ImportSummary {
  /** Result lines read. */
  results: number;
  /** Requests the runner could not run (their metrics stay unscored), with the first reason. */
  failedRequests: number;
  firstFailure?: string;
  /** Store entries written. */
  stored: number;
  /** Metrics with a span whose result never came. */
  incomplete: number;
  /** The model id the requests were planned for (the store keys' model). */
  modelId?: string;
}

/** The log-probs of each prompt of a result body, checked against the lengths and token hashes sent. */
function resultLogprobs(body: unknown, prompts: [number, number][]): Float64Array[] {
  const o = body as { choices?: unknown };
  if (o === null || typeof o !== 'object' || !Array.isArray(o.choices)) throw new MalformedResponseError('the response body has no choices');
  if (o.choices.length !== prompts.length) throw new MalformedResponseError(`${o.choices.length} choices for ${prompts.length} prompts`);
  const out: Float64Array[] = new Array(prompts.length);
  for (const choice of o.choices as Record<string, unknown>[]) {
    const index = choice?.['index'];
    if (typeof index !== 'number' || !Number.isInteger(index) || index < 0 || index >= prompts.length || out[index]) {
      throw new MalformedResponseError(`choice index ${JSON.stringify(index)} is not one of 0..${prompts.length - 1} once`);
    }
    const [length, hash] = prompts[index] as [number, number];
    const pl = choice['prompt_logprobs'];
    if (!Array.isArray(pl) || pl.length !== length) throw new MalformedResponseError(`choice ${index}: prompt_logprobs must have ${length} positions`);
    const ids = [0];
    const lp = new Float64Array(length - 1);
    for (let j = 1; j < length; j++) {
      const position = pl[j] as Record<string, { logprob?: unknown }> | null;
      const keys = position && typeof position === 'object' ? Object.keys(position) : [];
      if (keys.length !== 1) throw new MalformedResponseError(`choice ${index}, position ${j}: expected the prompt token's log-prob alone (prompt_logprobs: 0)`);
      const value = (position as Record<string, { logprob?: unknown }>)[keys[0] as string]?.logprob;
      if (typeof value !== 'number' || Number.isNaN(value) || value === Infinity) throw new MalformedResponseError(`choice ${index}, position ${j}: log-prob is ${JSON.stringify(value)}`);
      ids.push(Number(keys[0]));
      lp[j - 1] = value;
    }
    if (scoredTokensHash(ids) !== hash) throw new MalformedResponseError(`choice ${index}: the engine scored other tokens than the ones sent`);
    out[index] = lp;
  }
  return out;
}

/**
 * Reads a batch runner's output file (`lines`, one JSON object each) into the store through `put`.
 * A line that is not a result of Sift's requests is an error naming the line; a request the runner
 * could not run is counted (its records stay unscored, a later run scores them).
 */
export async function importBatchResults(
  lines: AsyncIterable<string>,
  put: (key: string, value: StoredLosses) => void,
  now: () => number = Date.now,
): Promise<ImportSummary> {
  const summary: ImportSummary = { results: 0, failedRequests: 0, stored: 0, incomplete: 0 };
  const partial = new Map<string, { truncated: boolean; notes: string[] | null; spans: (SpanLoss | string | null)[] }>();
  let lineNumber = 0;
  for await (const raw of lines) {
    lineNumber++;
    if (raw.trim() === '') continue;
    const fail = (why: string): never => {
      throw new BatchResultsError(`line ${lineNumber}: ${why}`);
    };
    let row: Record<string, unknown>;
    try {
      row = JSON.parse(raw) as Record<string, unknown>;
    } catch (e) {
      return fail(`not JSON (${(e as Error).message})`);
    }
    const customId = row['custom_id'];
    if (typeof customId !== 'string' || !customId.startsWith(CUSTOM_ID_PREFIX)) fail('custom_id is missing or is not one Sift wrote (--export-batch)');
    let tag: BatchTag;
    try {
      tag = JSON.parse((customId as string).slice((customId as string).indexOf(':', CUSTOM_ID_PREFIX.length) + 1)) as BatchTag;
    } catch {
      return fail('custom_id is not one Sift wrote (--export-batch)');
    }
    if (summary.modelId !== undefined && tag.m !== summary.modelId) fail(`the requests were planned for ${tag.m}, earlier lines for ${summary.modelId}`);
    summary.modelId = tag.m;
    summary.results++;
    const response = row['response'] as { status_code?: unknown; body?: unknown } | null | undefined;
    if ((row['error'] !== null && row['error'] !== undefined) || !response || (response.status_code ?? 200) !== 200 || response.body === undefined || response.body === null) {
      summary.failedRequests++;
      summary.firstFailure ??= `line ${lineNumber}: ${describeFailure(row)}`;
      continue;
    }
    let logprobs: Float64Array[];
    try {
      logprobs = resultLogprobs(typeof response.body === 'string' ? parseJsonBody(response.body) : response.body, tag.p);
    } catch (e) {
      return fail((e as Error).message);
    }
    for (const [key, truncated, notes, spans] of tag.e) {
      const entry = partial.get(key) ?? { truncated: truncated === 1, notes, spans: spans.map(() => null) };
      spans.forEach((span, k) => {
        if (span === null) return;
        if (typeof span === 'string') entry.spans[k] = span;
        else {
          const [prompt, start, end] = span;
          const lp = logprobs[prompt];
          if (!lp || start < 1 || end > lp.length + 1 || end <= start) fail(`metric ${key}: span ${k} is outside its prompt`);
          entry.spans[k] = meanNll(lp as Float64Array, start, end);
        }
      });
      if (entry.spans.some((s) => s === null)) {
        partial.set(key, entry);
        continue;
      }
      partial.delete(key);
      const unscorable = entry.spans.some((s) => typeof s === 'string') ? entry.spans.map((s) => (typeof s === 'string' ? s : null)) : undefined;
      const losses = entry.spans.flatMap((s) => (typeof s === 'string' ? [Number.NaN, 0] : [(s as SpanLoss).mean, (s as SpanLoss).n]));
      put(key, { losses, truncated: entry.truncated, at: now(), ...(unscorable ? { unscorable } : {}), ...(entry.notes?.length ? { notes: entry.notes } : {}) });
      summary.stored++;
    }
  }
  summary.incomplete = partial.size;
  return summary;
}

function describeFailure(row: Record<string, unknown>): string {
  const error = row['error'];
  const status = (row['response'] as { status_code?: unknown } | null)?.status_code;
  const message =
    typeof error === 'string' ? error : error && typeof error === 'object' ? JSON.stringify((error as { error?: { message?: unknown } }).error?.message ?? error) : 'no response body';
  return status !== undefined && status !== 200 ? `HTTP ${String(status)}: ${message}` : message;
}
