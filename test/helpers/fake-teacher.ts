/**
 * A scripted OpenAI-compatible teacher for tests: `POST /v1/chat/completions` on 127.0.0.1 (port 0)
 * over real HTTP, so the real `openai` client talks to it. Replies come from a FIFO script first
 * (`script(...)`), then from the handler. A reply is assistant text, an HTTP status (with headers,
 * e.g. Retry-After), a hang (the client times out or aborts) or a reset connection. With
 * `rejectResponseFormat` it answers 400 to any request carrying `response_format`, as endpoints
 * without structured output do. `/v1/files` and `/v1/batches` are the Batch API
 * (`fake-teacher-batches.ts`): each line of a batch is answered by the same script and handler.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { FakeBatches } from './fake-teacher-batches';

export interface ChatBody {
  model: string;
  messages: { role: string; content: string }[];
  response_format?: { type: string; json_schema?: { name: string; strict?: boolean; schema: Record<string, unknown> } };
  max_tokens?: number;
  temperature?: number;
}

export interface TeacherRequest {
  body: ChatBody;
  headers: http.IncomingHttpHeaders;
  /** Which reflection Sift asked for (from the schema name or the section markers). */
  kind: 'instruction' | 'response' | 'unknown';
  structured: boolean;
  /** The texts shown in Sift's default prompt sections. */
  shown: { instruction?: string; input?: string; response?: string };
  /** 1-based index of this request. */
  n: number;
  /** A chat completion call, or a line of a batch. */
  via: 'chat' | 'batch';
}

export type TeacherReply =
  | { content: string; finishReason?: string; usage?: { prompt_tokens: number; completion_tokens: number }; refusal?: string }
  | { status: number; body?: unknown; headers?: Record<string, string> }
  | { hang: true }
  | { reset: true };

export type TeacherHandler = (request: TeacherRequest) => TeacherReply | Promise<TeacherReply>;

export interface FakeTeacherOptions {
  rejectResponseFormat?: boolean;
  /** Require `Authorization: Bearer <apiKey>` (401 otherwise). */
  apiKey?: string;
  /** Delay before each answer. */
  latencyMs?: number;
}

export class FakeTeacher {
  readonly requests: TeacherRequest[] = [];
  inFlight = 0;
  maxInFlight = 0;
  url = '';
  /** The Batch API: its files, batches and plan. */
  readonly batches: FakeBatches = new FakeBatches((body) => this.answerBatchLine(body));
  private readonly scripted: TeacherReply[] = [];
  private server: http.Server | undefined;

  private constructor(private handler: TeacherHandler, private readonly options: FakeTeacherOptions) {}

  static async start(handler: TeacherHandler = () => ({ content: 'no script' }), options: FakeTeacherOptions = {}): Promise<FakeTeacher> {
    const teacher = new FakeTeacher(handler, options);
    const server = http.createServer((req, res) => void teacher.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    teacher.server = server;
    teacher.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
    return teacher;
  }

  /** Replies for the next requests, in order, before the handler. */
  script(...replies: TeacherReply[]): void {
    this.scripted.push(...replies);
  }

  setHandler(handler: TeacherHandler): void {
    this.handler = handler;
  }

  async close(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    let counted = true;
    res.on('close', () => {
      if (counted) {
        counted = false;
        this.inFlight--;
      }
    });
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    if (this.options.apiKey !== undefined && req.headers.authorization !== `Bearer ${this.options.apiKey}`) {
      send(res, 401, { error: { message: 'Incorrect API key provided.', type: 'invalid_request_error', code: 'invalid_api_key' } });
      return;
    }
    const routed = await this.batches.handle(req, Buffer.concat(chunks), (status, body, raw) => {
      if (raw) {
        res.writeHead(status, { 'content-type': 'application/octet-stream', 'content-length': String(raw.length) });
        res.end(raw);
      } else send(res, status, body);
    });
    if (routed) return;
    if (req.method !== 'POST' || (req.url ?? '').split('?')[0] !== '/v1/chat/completions') {
      send(res, 404, { error: { message: `no route ${req.method} ${req.url}`, type: 'invalid_request_error' } });
      return;
    }
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as ChatBody;
    const request = describe(body, req.headers, this.requests.length + 1, 'chat');
    this.requests.push(request);
    if (this.options.latencyMs) await new Promise((r) => setTimeout(r, this.options.latencyMs));
    if (this.options.rejectResponseFormat && body.response_format) {
      send(res, 400, RESPONSE_FORMAT_REJECTION);
      return;
    }
    const reply = this.scripted.shift() ?? (await this.handler(request));
    if ('hang' in reply) return;
    if ('reset' in reply) {
      req.socket.destroy();
      return;
    }
    const answer = completionOf(reply, body, request);
    send(res, answer.status, answer.body, 'headers' in reply ? reply.headers : undefined);
  }

  /** One batch line: the same script and handler as a chat call (a hang or a reset becomes a 500 line). */
  private async answerBatchLine(raw: Record<string, unknown>): Promise<{ status: number; body: unknown }> {
    const body = raw as unknown as ChatBody;
    const request = describe(body, {}, this.requests.length + 1, 'batch');
    this.requests.push(request);
    if (this.options.rejectResponseFormat && body.response_format) return { status: 400, body: RESPONSE_FORMAT_REJECTION };
    const reply = this.scripted.shift() ?? (await this.handler(request));
    if ('hang' in reply || 'reset' in reply) return { status: 500, body: { error: { message: 'scripted failure', type: 'server_error' } } };
    return completionOf(reply, body, request);
  }
}

const RESPONSE_FORMAT_REJECTION = { error: { message: "Unsupported parameter: 'response_format'", type: 'invalid_request_error', param: 'response_format' } };

/** A reply as an HTTP status and body: a chat completion, or the scripted error. */
function completionOf(reply: Exclude<TeacherReply, { hang: true } | { reset: true }>, body: ChatBody, request: TeacherRequest): { status: number; body: unknown } {
  if ('status' in reply) return { status: reply.status, body: reply.body ?? { error: { message: `scripted ${reply.status}`, type: 'server_error' } } };
  const usage = reply.usage ?? { prompt_tokens: Math.ceil(body.messages.reduce((s, m) => s + m.content.length, 0) / 4), completion_tokens: Math.ceil(reply.content.length / 4) };
  return {
    status: 200,
    body: {
      id: `chatcmpl-fake-${request.n}`,
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model: body.model,
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: reply.refusal ? null : reply.content, refusal: reply.refusal ?? null },
          logprobs: null,
          finish_reason: reply.finishReason ?? 'stop',
        },
      ],
      usage: { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens },
    },
  };
}

function send(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)), ...headers });
  res.end(text);
}

function section(text: string, name: string): string | undefined {
  const m = new RegExp(`----- ${name} -----\\n([\\s\\S]*?)\\n----- END OF ${name} -----`).exec(text);
  return m?.[1];
}

function describe(body: ChatBody, headers: http.IncomingHttpHeaders, n: number, via: TeacherRequest['via']): TeacherRequest {
  const user = body.messages.filter((m) => m.role === 'user').map((m) => m.content).join('\n');
  const schema = body.response_format?.json_schema?.name;
  let kind: TeacherRequest['kind'] = 'unknown';
  if (schema === 'sift_instruction_reflection' || user.includes('<<<NEW INSTRUCTION>>>')) kind = 'instruction';
  else if (schema === 'sift_response_reflection' || user.includes('<<<BETTER ANSWER>>>')) kind = 'response';
  return {
    body,
    headers,
    kind,
    structured: body.response_format?.type === 'json_schema',
    shown: { instruction: section(user, 'INSTRUCTION'), input: section(user, 'INPUT'), response: section(user, 'ANSWER') },
    n,
    via,
  };
}

/**
 * A well-formed reflection in whatever format the request asked for: a JSON object under
 * `response_format`, Sift's delimited sections otherwise.
 */
export function reflectionReply(request: TeacherRequest, fields: { critique: string; instruction?: string; response: string }): TeacherReply {
  if (request.structured) {
    const value = request.kind === 'instruction' ? fields : { critique: fields.critique, response: fields.response };
    return { content: JSON.stringify(value) };
  }
  if (request.kind === 'instruction') {
    return { content: `<<<CRITIQUE>>>\n${fields.critique}\n<<<NEW INSTRUCTION>>>\n${fields.instruction ?? ''}\n<<<NEW ANSWER>>>\n${fields.response}\n<<<END>>>` };
  }
  return { content: `<<<CRITIQUE>>>\n${fields.critique}\n<<<BETTER ANSWER>>>\n${fields.response}\n<<<END>>>` };
}
