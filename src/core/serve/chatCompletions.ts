import { randomUUID } from 'node:crypto';
import { HttpError } from './httpError';
import type { ChatEngine, ChatGeneration, ChatTurn } from './localChat';

/**
 * `POST /v1/chat/completions` in OpenAI's shape, enough for a local teacher: `messages` (system,
 * developer, user, assistant; text content as a string or text parts), `max_tokens` /
 * `max_completion_tokens`, `temperature` (default 1, as OpenAI), `top_p`, `seed`, `stop`,
 * `response_format` (`text`, `json_object`, `json_schema` through a llama.cpp grammar), and `usage`.
 * Not supported, and refused with a 400 rather than ignored: streaming, n > 1, tools.
 */
export async function chatCompletion(engine: ChatEngine, servedModel: string, body: unknown, signal: AbortSignal): Promise<unknown> {
  const request = asObject(body, 'request body');
  if (request.model !== undefined && request.model !== null && request.model !== servedModel) {
    throw new HttpError(404, `The model \`${String(request.model)}\` does not exist.`, 'NotFoundError', 'model');
  }
  if (request.stream === true) throw new HttpError(400, 'streaming is not supported by sift serve', 'BadRequestError', 'stream');
  if (request.n !== undefined && request.n !== null && request.n !== 1) throw new HttpError(400, 'sift serve supports n = 1 only', 'BadRequestError', 'n');
  if (Array.isArray(request.tools) && request.tools.length > 0) throw new HttpError(400, 'tools are not supported by sift serve', 'BadRequestError', 'tools');
  const generation: ChatGeneration = {
    messages: parseMessages(request.messages),
    temperature: optionalNumber(request.temperature, 'temperature', 0, 2) ?? 1,
    topP: optionalNumber(request.top_p, 'top_p', 0, 1),
    maxTokens: optionalCount(request.max_completion_tokens, 'max_completion_tokens') ?? optionalCount(request.max_tokens, 'max_tokens'),
    seed: optionalInteger(request.seed, 'seed'),
    stop: parseStop(request.stop),
  };
  Object.assign(generation, parseResponseFormat(request.response_format));
  const result = await engine.generate(generation, signal);
  return {
    id: `chatcmpl-${randomUUID().replace(/-/g, '')}`,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model: servedModel,
    choices: [{ index: 0, message: { role: 'assistant', content: result.text, refusal: null }, logprobs: null, finish_reason: result.finishReason }],
    usage: {
      prompt_tokens: result.promptTokens,
      completion_tokens: result.completionTokens,
      total_tokens: result.promptTokens + result.completionTokens,
    },
  };
}

function asObject(value: unknown, what: string): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new HttpError(400, `${what} must be a JSON object`);
  return value as Record<string, unknown>;
}

const ROLES: Record<string, ChatTurn['role']> = { system: 'system', developer: 'system', user: 'user', assistant: 'assistant' };

function parseMessages(value: unknown): ChatTurn[] {
  if (!Array.isArray(value) || value.length === 0) throw new HttpError(400, 'messages must be a non-empty list', 'BadRequestError', 'messages');
  return value.map((item, i) => {
    const message = asObject(item, `messages[${i}]`);
    const role = ROLES[String(message.role)];
    if (!role) throw new HttpError(400, `messages[${i}].role must be system, developer, user or assistant (got ${JSON.stringify(message.role)})`, 'BadRequestError', 'messages');
    return { role, content: contentText(message.content, i) };
  });
}

function contentText(content: unknown, i: number): string {
  if (typeof content === 'string') return content;
  if (content === null || content === undefined) return '';
  if (Array.isArray(content)) {
    return content
      .map((part, j) => {
        const p = asObject(part, `messages[${i}].content[${j}]`);
        if (p.type !== 'text' || typeof p.text !== 'string') {
          throw new HttpError(400, `messages[${i}].content[${j}]: only text parts are supported`, 'BadRequestError', 'messages');
        }
        return p.text;
      })
      .join('\n');
  }
  throw new HttpError(400, `messages[${i}].content must be a string or a list of text parts`, 'BadRequestError', 'messages');
}

function optionalNumber(value: unknown, name: string, min: number, max: number): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    throw new HttpError(400, `${name} must be a number from ${min} to ${max}`, 'BadRequestError', name);
  }
  return value;
}

function optionalInteger(value: unknown, name: string): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Number.isInteger(value)) throw new HttpError(400, `${name} must be an integer`, 'BadRequestError', name);
  return value as number;
}

function optionalCount(value: unknown, name: string): number | undefined {
  const n = optionalInteger(value, name);
  if (n !== undefined && n < 1) throw new HttpError(400, `${name} must be at least 1`, 'BadRequestError', name);
  return n;
}

function parseStop(value: unknown): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return [value];
  if (Array.isArray(value) && value.length <= 4 && value.every((s) => typeof s === 'string')) return value as string[];
  throw new HttpError(400, 'stop must be a string or a list of at most 4 strings', 'BadRequestError', 'stop');
}

function parseResponseFormat(value: unknown): Pick<ChatGeneration, 'jsonSchema' | 'jsonObject'> {
  if (value === undefined || value === null) return {};
  const format = asObject(value, 'response_format');
  switch (format.type) {
    case 'text':
      return {};
    case 'json_object':
      return { jsonObject: true };
    case 'json_schema': {
      const spec = asObject(format.json_schema, 'response_format.json_schema');
      if (typeof spec.name !== 'string' || spec.name === '') throw new HttpError(400, 'response_format.json_schema.name is required', 'BadRequestError', 'response_format');
      return { jsonSchema: asObject(spec.schema, 'response_format.json_schema.schema') };
    }
    default:
      throw new HttpError(400, `response_format.type must be text, json_object or json_schema (got ${JSON.stringify(format.type)})`, 'BadRequestError', 'response_format');
  }
}
