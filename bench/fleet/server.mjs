// A synthetic vLLM fleet for `npm run bench`: N replicas (one HTTP server each on 127.0.0.1) that
// answer the subset of vLLM's API Sift uses (GET /v1/models, POST /tokenize, POST /v1/completions
// with token-id prompts, GET /health, and POST /v1/completions/render unless `"render": false`, as
// `vllm serve` has it only with --enable-scale-out) in vLLM's shapes, with the closed-form model of model.mjs, and
// vLLM V1's context rule (src/core/serve/vllmRefusals.ts). Run as a child process, so the client's
// CPU time is measured apart from the fleet's:
//
//   node bench/fleet/server.mjs '{"replicas":[{"capacity":50000},{"capacity":20000}]}'
//
// prints one JSON line {"urls":[...],"control":"http://..."} when every replica listens.
//
// Prefill capacity: each replica runs engine steps like vLLM's scheduler with chunked prefill. A
// step takes the queued prompt tokens first come first served, at most `maxBatchTokens`
// (vLLM's max_num_batched_tokens) and a request may be split across steps; it lasts
// `stepOverheadMs + tokens / capacity`. A request is answered when its last token has been
// through a step. So a replica's most throughput, its capacity in the bench's ratio, is
// maxBatchTokens / (stepOverheadMs + maxBatchTokens / capacity), reached only while the client keeps
// a full step's worth of tokens queued. `capacity: null` answers at once (the client's ceiling).
//
// The control server: GET /stats (per replica: requests, prompts, tokens, tokenize and render calls, their texts and characters), POST /kill?replica=i
// (stops a replica, dropping its connections), POST /restart?replica=i (listens again on its port).
import { createServer } from 'node:http';
import { fleetDecode, fleetLogprob, fleetTokenize } from './model.mjs';
import { buildCompletionResponse, buildModelList, buildRenderResponse } from '../../out/src/core/serve/vllmResponses.js';
import { vllmLengthRefusal, vllmRenderRefusal } from '../../out/src/core/serve/vllmRefusals.js';

const config = JSON.parse(process.argv[2] ?? '{}');
const MODEL = config.model ?? 'fleet-model';
const MAX_MODEL_LEN = config.maxModelLen ?? 4096;
const RENDER = config.render !== false;

const decodedJson = new Map();
function decodedTokenJson(id) {
  let s = decodedJson.get(id);
  if (s === undefined) {
    s = JSON.stringify(fleetDecode(id));
    decodedJson.set(id, s);
  }
  return s;
}

/**
 * The prompt_logprobs response as vLLM's CompletionResponse serialises it, written as a string (the
 * fleet shares the machine's two cores with the client, so it must be cheap). Checked against
 * buildCompletionResponse (the builder `sift serve` uses) when the fleet starts.
 */
function promptLogprobsBody(prompts) {
  let out = `{"id":"cmpl-fleet","object":"text_completion","created":0,"model":${JSON.stringify(MODEL)},"choices":[`;
  let promptTokens = 0;
  for (let i = 0; i < prompts.length; i++) {
    const ids = prompts[i];
    promptTokens += ids.length;
    out += `${i ? ',' : ''}{"index":${i},"text":"","logprobs":null,"finish_reason":"length","stop_reason":null,"token_ids":null,"prompt_logprobs":[null`;
    for (let j = 1; j < ids.length; j++) {
      const cur = ids[j];
      out += `,{"${cur}":{"logprob":${fleetLogprob(ids[j - 1], cur)},"rank":${1 + (cur % 7)},"decoded_token":${decodedTokenJson(cur)}}}`;
    }
    out += '],"prompt_token_ids":null}';
  }
  const total = promptTokens + prompts.length;
  out += `],"service_tier":null,"system_fingerprint":null,"usage":{"prompt_tokens":${promptTokens},"total_tokens":${total},"completion_tokens":${prompts.length},"prompt_tokens_details":null},"kv_transfer_params":null}`;
  return out;
}

function scoredPrompt(ids) {
  const lp = [];
  const ranks = [];
  for (let j = 1; j < ids.length; j++) {
    lp.push(fleetLogprob(ids[j - 1], ids[j]));
    ranks.push(1 + (ids[j] % 7));
  }
  return { tokenIds: ids, tokenTexts: ids.map(fleetDecode), logprobs: lp, ranks, promptText: '', generated: { tokenId: 2, text: '', logprob: 0 } };
}

function selfCheck() {
  const prompts = [fleetTokenize('Check the "fleet" body\\ against the builder.', true), fleetTokenize('ab', true)];
  const fast = JSON.parse(promptLogprobsBody(prompts));
  const slow = buildCompletionResponse({ model: MODEL, echo: false, maxTokens: 1, logprobs: null, promptLogprobs: 0, id: 'cmpl-fleet', created: 0 }, prompts.map(scoredPrompt));
  if (JSON.stringify(fast) !== JSON.stringify(JSON.parse(JSON.stringify(slow)))) throw new Error('the fleet\'s fast response body differs from buildCompletionResponse');
}

function errorBody(message, status, type = 'BadRequestError', param = null) {
  return JSON.stringify({ error: { message, type, param, code: status } });
}

class Replica {
  constructor(index, opts) {
    this.index = index;
    this.capacity = opts.capacity ?? null; // tokens per second, null: instant
    this.maxBatchTokens = opts.maxBatchTokens ?? 8192;
    this.stepOverheadMs = opts.stepOverheadMs ?? 2;
    this.queue = [];
    this.stepping = false;
    this.stats = { requests: 0, prompts: 0, tokens: 0, refused: 0, tokenizeCalls: 0, tokenizeChars: 0, renderCalls: 0, renderTexts: 0, renderChars: 0 };
    this.port = 0;
    this.server = undefined;
  }

  /** Most tokens per second this replica can prefill (the bench's capacity). */
  get throughput() {
    if (this.capacity === null) return Infinity;
    return this.maxBatchTokens / (this.stepOverheadMs / 1000 + this.maxBatchTokens / this.capacity);
  }

  listen() {
    const server = createServer((req, res) => this.handle(req, res));
    server.keepAliveTimeout = 60_000;
    return new Promise((resolve) => {
      server.listen(this.port, '127.0.0.1', () => {
        this.port = server.address().port;
        this.server = server;
        resolve();
      });
    });
  }

  async kill() {
    const server = this.server;
    this.server = undefined;
    for (const job of this.queue) job.dropped = true;
    this.queue = [];
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }

  /** Waits until `tokens` prompt tokens have been through the simulated engine's steps. */
  prefill(tokens) {
    if (this.capacity === null) return Promise.resolve(true);
    return new Promise((resolve) => {
      this.queue.push({ remaining: tokens, resolve, dropped: false });
      if (!this.stepping) this.step();
    });
  }

  step() {
    if (this.queue.length === 0) {
      this.stepping = false;
      return;
    }
    this.stepping = true;
    let budget = this.maxBatchTokens;
    const finished = [];
    let taken = 0;
    for (const job of this.queue) {
      if (budget === 0) break;
      const take = Math.min(budget, job.remaining);
      job.remaining -= take;
      budget -= take;
      taken += take;
      if (job.remaining === 0) finished.push(job);
    }
    const ms = this.stepOverheadMs + (1000 * taken) / this.capacity;
    setTimeout(() => {
      this.queue = this.queue.filter((job) => job.remaining > 0 && !job.dropped);
      for (const job of finished) if (!job.dropped) job.resolve(true);
      this.step();
    }, ms);
  }

  handle(req, res) {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const path = (req.url ?? '/').split('?')[0];
      const send = (status, text) => {
        if (res.destroyed) return;
        res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
        res.end(text);
      };
      let body;
      try {
        body = chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : undefined;
      } catch {
        return send(400, errorBody('invalid JSON', 400));
      }
      if (req.method === 'GET' && path === '/health') return send(200, '{}');
      if (req.method === 'GET' && path === '/v1/models') return send(200, JSON.stringify(buildModelList(MODEL, MAX_MODEL_LEN, { root: MODEL })));
      if (req.method === 'POST' && path === '/tokenize') {
        if (typeof body?.prompt !== 'string') return send(400, errorBody('1 validation error: prompt', 400, 'Bad Request', 'body.prompt'));
        this.stats.tokenizeCalls++;
        this.stats.tokenizeChars += body.prompt.length;
        const tokens = fleetTokenize(body.prompt, body.add_special_tokens !== false);
        return send(200, JSON.stringify({ count: tokens.length, max_model_len: MAX_MODEL_LEN, tokens, token_strs: null }));
      }
      if (req.method === 'POST' && path === '/v1/completions/render' && RENDER) {
        const texts = body?.prompt;
        if (!Array.isArray(texts) || texts.length === 0 || !texts.every((t) => typeof t === 'string')) {
          return send(400, errorBody('the fleet renders lists of texts only', 400, 'BadRequestError', 'prompt'));
        }
        const maxTokens = body.max_tokens ?? 16;
        const lists = texts.map((t) => fleetTokenize(t, body.add_special_tokens !== false));
        for (const ids of lists) {
          const refused = vllmRenderRefusal(ids.length, maxTokens, MAX_MODEL_LEN);
          if (refused) return send(400, errorBody(refused.message, 400, 'BadRequestError', refused.param));
        }
        this.stats.renderCalls++;
        this.stats.renderTexts += texts.length;
        for (const t of texts) this.stats.renderChars += t.length;
        return send(200, JSON.stringify(buildRenderResponse(MODEL, lists, maxTokens)));
      }
      if (req.method === 'POST' && path === '/v1/completions') return void this.complete(body, send);
      send(404, JSON.stringify({ detail: 'Not Found' }));
    });
  }

  async complete(body, send) {
    const prompts = body?.prompt;
    if (!Array.isArray(prompts) || prompts.length === 0 || !prompts.every((p) => Array.isArray(p) && p.length > 0)) {
      return send(400, errorBody('the fleet takes lists of token-id prompts only', 400, 'BadRequestError', 'prompt'));
    }
    if (prompts.length > 1024) return send(400, errorBody(`prompt list length ${prompts.length} exceeds the maximum allowed count of 1024.`, 400, 'BadRequestError', 'prompt'));
    const echo = body.echo === true;
    const maxTokens = body.max_tokens ?? 16;
    let tokens = 0;
    for (const ids of prompts) {
      const refused = vllmLengthRefusal(ids.length, maxTokens, echo, MAX_MODEL_LEN);
      if (refused) {
        this.stats.refused++;
        return send(400, errorBody(refused.message, 400, 'BadRequestError', refused.param));
      }
      tokens += ids.length;
    }
    this.stats.requests++;
    this.stats.prompts += prompts.length;
    if (!(await this.prefill(tokens))) return;
    this.stats.tokens += tokens;
    if (!echo && body.prompt_logprobs === 0) return send(200, promptLogprobsBody(prompts));
    const response = buildCompletionResponse(
      { model: MODEL, echo, maxTokens, logprobs: typeof body.logprobs === 'number' ? body.logprobs : null, promptLogprobs: typeof body.prompt_logprobs === 'number' ? body.prompt_logprobs : null },
      prompts.map(scoredPrompt),
    );
    send(200, JSON.stringify(response));
  }
}

selfCheck();
const replicas = (config.replicas ?? [{}]).map((opts, i) => new Replica(i, opts));
for (const r of replicas) await r.listen();

const control = createServer(async (req, res) => {
  const url = new URL(req.url, 'http://x');
  const replica = replicas[Number(url.searchParams.get('replica'))];
  let out = {};
  if (url.pathname === '/stats') out = replicas.map((r) => ({ ...r.stats, throughput: r.throughput }));
  else if (url.pathname === '/kill' && replica) await replica.kill();
  else if (url.pathname === '/restart' && replica) await replica.listen();
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify(out));
});
await new Promise((resolve) => control.listen(0, '127.0.0.1', resolve));
process.stdout.write(JSON.stringify({ urls: replicas.map((r) => `http://127.0.0.1:${r.port}`), control: `http://127.0.0.1:${control.address().port}` }) + '\n');
process.on('SIGTERM', () => process.exit(0));
