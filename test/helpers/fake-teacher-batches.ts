/**
 * The scripted teacher's Batch API: `/v1/files` (multipart upload with purpose `batch`, content
 * download) and `/v1/batches` (create, retrieve, cancel, list), shaped as the `openai` package's
 * `resources/files.d.ts` (`FileObject`) and `resources/batches.d.ts` (`Batch`) declare them, with
 * OpenAI's input and output line formats. Every line is answered by the same handler as a chat
 * completion, so a batch and a synchronous run see the same teacher answers.
 *
 * A batch advances only when it is read (each `GET /v1/batches/:id` is one step), so tests never
 * wait on a clock: validating, then in progress (answering `perPoll` requests a step, all by
 * default), finalizing, completed. A plan scripts the rest: held in progress until released,
 * expired after some steps (the unfinished requests in the error file as `batch_expired`), lines
 * answered with an HTTP error, an output file in shuffled order, a batch that fails validation.
 */
import type * as http from 'node:http';

export interface BatchPlan {
  /** Requests answered per step while in progress (default: all). */
  perPoll?: number;
  /** Stay in progress, answering nothing, until `release()`. */
  hold?: boolean;
  /** Expire after this many steps in progress. */
  expireAfterPolls?: number;
  /** An HTTP error for a line instead of the handler's answer (each line is asked once per batch). */
  failLine?: (customId: string, body: Record<string, unknown>) => { status: number; message: string } | undefined;
  /** Write the output file's lines in this order (a permutation of the answered lines' indices). */
  shuffle?: (count: number) => number[];
  /** Fail validation with this message (on input line 1). */
  invalid?: string;
  /** Answer everything and complete at the first read (for clients that poll slowly). */
  instant?: boolean;
}

/** What the handler makes of one request body: a chat completion body, or an HTTP error. */
export type AnswerLine = (body: Record<string, unknown>) => Promise<{ status: number; body: unknown }>;

interface StoredFile {
  id: string;
  bytes: Buffer;
  filename: string;
  purpose: string;
  created_at: number;
}

interface InputLine {
  custom_id: string;
  body: Record<string, unknown>;
}

export interface FakeBatch {
  id: string;
  object: 'batch';
  endpoint: string;
  errors: { object: 'list'; data: { code: string; line: number | null; message: string; param: string | null }[] } | null;
  input_file_id: string;
  completion_window: string;
  status: 'validating' | 'failed' | 'in_progress' | 'finalizing' | 'completed' | 'expired' | 'cancelling' | 'cancelled';
  output_file_id: string | null;
  error_file_id: string | null;
  created_at: number;
  expires_at: number;
  request_counts: { total: number; completed: number; failed: number };
  metadata: Record<string, string> | null;
}

interface BatchState {
  batch: FakeBatch;
  plan: BatchPlan;
  lines: InputLine[];
  /** Output lines by custom_id, in the order they were answered. */
  done: Map<string, { ok: boolean; line: Record<string, unknown> }>;
  polls: number;
  released: boolean;
}

export class FakeBatches {
  readonly files = new Map<string, StoredFile>();
  readonly batches = new Map<string, BatchState>();
  /** Every `POST /v1/batches` that created a batch. */
  creations = 0;
  uploads = 0;
  /** Applied to batches created from now on. */
  plan: BatchPlan = {};
  /** Create the next batch but never answer the request that created it (the client times out not knowing). */
  dropNextCreateReply = false;
  private counter = 0;

  constructor(private readonly answer: AnswerLine) {}

  /** Lets held batches go on, with `change` applied to their plan. */
  release(change: Partial<BatchPlan> = {}): void {
    for (const state of this.batches.values()) {
      state.released = true;
      state.plan = { ...state.plan, ...change };
    }
  }

  /** The input lines of a batch (the custom_ids and bodies Sift sent). */
  inputOf(batchId: string): InputLine[] {
    return this.batches.get(batchId)?.lines ?? [];
  }

  /** Answers a request under /v1/files or /v1/batches; false when the path is not one of them. */
  async handle(req: http.IncomingMessage, body: Buffer, send: (status: number, body: unknown, raw?: Buffer) => void): Promise<boolean> {
    const path = (req.url ?? '').split('?')[0];
    const method = req.method ?? 'GET';
    let m: RegExpExecArray | null;
    if (method === 'POST' && path === '/v1/files') {
      send(200, await this.upload(req, body));
      return true;
    }
    if (method === 'GET' && (m = /^\/v1\/files\/([^/]+)\/content$/.exec(path))) {
      const file = this.files.get(m[1]);
      if (!file) send(404, { error: { message: `No such File object: ${m[1]}`, type: 'invalid_request_error' } });
      else send(200, undefined, file.bytes);
      return true;
    }
    if (method === 'POST' && path === '/v1/batches') {
      const reply = this.create(JSON.parse(body.toString('utf8')) as Record<string, unknown>);
      if (this.dropNextCreateReply && reply[0] === 200) this.dropNextCreateReply = false;
      else send(...reply);
      return true;
    }
    if (method === 'GET' && path === '/v1/batches') {
      const data = [...this.batches.values()].map((s) => s.batch).reverse();
      send(200, { object: 'list', data, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null, has_more: false });
      return true;
    }
    if (method === 'GET' && (m = /^\/v1\/batches\/([^/]+)$/.exec(path))) {
      const state = this.batches.get(m[1]);
      if (!state) send(404, { error: { message: `No batch found with id '${m[1]}'.`, type: 'invalid_request_error' } });
      else {
        await this.step(state);
        send(200, state.batch);
      }
      return true;
    }
    if (method === 'POST' && (m = /^\/v1\/batches\/([^/]+)\/cancel$/.exec(path))) {
      const state = this.batches.get(m[1]);
      if (!state) send(404, { error: { message: `No batch found with id '${m[1]}'.`, type: 'invalid_request_error' } });
      else {
        if (!['failed', 'completed', 'expired', 'cancelled'].includes(state.batch.status)) state.batch.status = 'cancelling';
        send(200, state.batch);
      }
      return true;
    }
    return false;
  }

  private async upload(req: http.IncomingMessage, body: Buffer): Promise<unknown> {
    const form = await new Request('http://fake.invalid/v1/files', { method: 'POST', headers: { 'content-type': String(req.headers['content-type']) }, body }).formData();
    const file = form.get('file');
    if (!(file instanceof Blob)) throw new Error('upload without a file part');
    const stored: StoredFile = {
      id: `file-${++this.counter}`,
      bytes: Buffer.from(await file.arrayBuffer()),
      filename: file instanceof File ? file.name : 'upload',
      purpose: String(form.get('purpose')),
      created_at: Math.floor(Date.now() / 1000),
    };
    this.files.set(stored.id, stored);
    this.uploads++;
    return { id: stored.id, object: 'file', bytes: stored.bytes.length, created_at: stored.created_at, filename: stored.filename, purpose: stored.purpose, status: 'processed' };
  }

  private create(params: Record<string, unknown>): [number, unknown] {
    const file = this.files.get(String(params.input_file_id));
    if (!file) return [400, { error: { message: `Invalid 'input_file_id': '${String(params.input_file_id)}'.`, type: 'invalid_request_error' } }];
    if (file.purpose !== 'batch') return [400, { error: { message: 'the input file must have purpose batch', type: 'invalid_request_error' } }];
    if (params.endpoint !== '/v1/chat/completions' || params.completion_window !== '24h') return [400, { error: { message: 'unsupported endpoint or completion window', type: 'invalid_request_error' } }];
    this.creations++;
    const now = Math.floor(Date.now() / 1000);
    const lines = file.bytes.toString('utf8').split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as InputLine & { method: string; url: string });
    const batch: FakeBatch = {
      id: `batch_${++this.counter}`,
      object: 'batch',
      endpoint: '/v1/chat/completions',
      errors: null,
      input_file_id: file.id,
      completion_window: '24h',
      status: 'validating',
      output_file_id: null,
      error_file_id: null,
      created_at: now,
      expires_at: now + 24 * 3600,
      request_counts: { total: lines.length, completed: 0, failed: 0 },
      metadata: (params.metadata as Record<string, string> | undefined) ?? null,
    };
    const problems = lines.flatMap((l, i) => (l.method !== 'POST' || l.url !== '/v1/chat/completions' || typeof l.custom_id !== 'string' ? [`line ${i + 1}`] : []));
    if (new Set(lines.map((l) => l.custom_id)).size !== lines.length) problems.push('duplicate custom_id');
    if (problems.length > 0) throw new Error(`Sift sent a malformed batch input file: ${problems.join(', ')}`);
    this.batches.set(batch.id, { batch, plan: this.plan, lines, done: new Map(), polls: 0, released: false });
    return [200, batch];
  }

  /** One step of a batch's life, taken each time it is read. */
  private async step(state: BatchState): Promise<void> {
    const { batch, plan } = state;
    if (plan.instant && (batch.status === 'validating' || (batch.status === 'in_progress' && (!plan.hold || state.released)))) {
      for (const line of state.lines) if (!state.done.has(line.custom_id)) await this.answerLine(state, line);
      this.finish(state, 'completed');
      return;
    }
    switch (batch.status) {
      case 'validating':
        if (plan.invalid) {
          batch.status = 'failed';
          batch.errors = { object: 'list', data: [{ code: 'invalid_request', line: 1, message: plan.invalid, param: null }] };
        } else batch.status = 'in_progress';
        return;
      case 'in_progress': {
        state.polls++;
        if (plan.expireAfterPolls !== undefined && state.polls > plan.expireAfterPolls) {
          this.finish(state, 'expired');
          return;
        }
        if (plan.hold && !state.released) return;
        const todo = state.lines.filter((l) => !state.done.has(l.custom_id)).slice(0, plan.perPoll ?? Number.POSITIVE_INFINITY);
        for (const line of todo) await this.answerLine(state, line);
        if (state.done.size === state.lines.length) batch.status = 'finalizing';
        return;
      }
      case 'finalizing':
        this.finish(state, 'completed');
        return;
      case 'cancelling':
        this.finish(state, 'cancelled');
        return;
      default:
        return;
    }
  }

  private async answerLine(state: BatchState, line: InputLine): Promise<void> {
    const failed = state.plan.failLine?.(line.custom_id, line.body);
    const { status, body } = failed
      ? { status: failed.status, body: { error: { message: failed.message, type: failed.status >= 500 ? 'server_error' : 'invalid_request_error', code: null } } }
      : await this.answer(line.body);
    const ok = status >= 200 && status < 300;
    state.done.set(line.custom_id, { ok, line: { id: `batch_req_${++this.counter}`, custom_id: line.custom_id, response: { status_code: status, request_id: `req_${this.counter}`, body }, error: null } });
    if (ok) state.batch.request_counts.completed++;
    else state.batch.request_counts.failed++;
  }

  /** Writes the output and error files; requests that never ran go to the error file with `batch_expired` or `batch_cancelled`. */
  private finish(state: BatchState, status: 'completed' | 'expired' | 'cancelled'): void {
    const { batch } = state;
    const output = [...state.done.values()].filter((d) => d.ok).map((d) => d.line);
    const errors = [...state.done.values()].filter((d) => !d.ok).map((d) => d.line);
    if (status !== 'completed') {
      const code = status === 'expired' ? 'batch_expired' : 'batch_cancelled';
      const message = status === 'expired' ? 'This request could not be executed before the completion window expired.' : 'This request was not executed because the batch was cancelled.';
      for (const l of state.lines) if (!state.done.has(l.custom_id)) errors.push({ id: `batch_req_${++this.counter}`, custom_id: l.custom_id, response: null, error: { code, message } });
    }
    const order = state.plan.shuffle?.(output.length) ?? output.map((_, i) => i);
    batch.output_file_id = output.length > 0 ? this.store(order.map((i) => JSON.stringify(output[i])).join('\n') + '\n', 'batch_output') : null;
    batch.error_file_id = errors.length > 0 ? this.store(errors.map((e) => JSON.stringify(e)).join('\n') + '\n', 'batch_output') : null;
    batch.status = status;
  }

  private store(text: string, purpose: string): string {
    const id = `file-${++this.counter}`;
    this.files.set(id, { id, bytes: Buffer.from(text, 'utf8'), filename: `${id}.jsonl`, purpose, created_at: Math.floor(Date.now() / 1000) });
    return id;
  }
}
