/**
 * The `chat` template through a vLLM server: `POST /tokenize` with `messages` renders the
 * conversation with the server's own chat template and returns the ids. The request shape is
 * vLLM's `TokenizeChatRequest` (vllm/entrypoints/serve/tokenize/protocol.py): `messages`,
 * `add_generation_prompt` (default true), `continue_final_message` (default false; both true is a
 * 400), `add_special_tokens` (default false for chat: "the chat template takes care of adding the
 * special tokens"). A server whose tokenizer has no template answers 400 ("As of transformers
 * v4.44, default chat template is no longer allowed …").
 *
 * SGLang's `/tokenize` (python/sglang/srt/entrypoints/openai/protocol.py, TokenizeRequest) takes a
 * `prompt` only, with no `messages`: the sglang backend has no `chat` template and falls back.
 */
import { createHash } from 'node:crypto';
import type { ChatMessage } from '../../metrics/chatSpans';
import type { ChatRenderer, ChatRenderRequest } from '../chat/types';
import type { HttpEndpointPool } from '../http/pool';
import { PermanentScorerError } from '../types';
import { parseTokenizeResponse } from './protocol';

export interface TokenizeChatRequest {
  model?: string;
  messages: ChatMessage[];
  add_generation_prompt: boolean;
  continue_final_message: boolean;
  add_special_tokens: false;
}

export function buildTokenizeChatRequest(model: string, request: ChatRenderRequest): TokenizeChatRequest {
  return {
    model,
    messages: request.messages,
    add_generation_prompt: request.addGenerationPrompt,
    continue_final_message: request.continueFinalMessage,
    add_special_tokens: false,
  };
}

/**
 * A fixed conversation whose rendering stands for the server's template in the score store: the
 * server does not hand its template out, but any change to it that matters to scoring changes how
 * a system, user and assistant turn render.
 */
const PROBE: ChatRenderRequest[] = [
  {
    messages: [
      { role: 'system', content: 'S' },
      { role: 'user', content: 'U' },
      { role: 'assistant', content: 'A' },
      { role: 'user', content: 'V' },
    ],
    addGenerationPrompt: true,
    continueFinalMessage: false,
  },
  { messages: [{ role: 'user', content: 'U' }, { role: 'assistant', content: 'A' }], addGenerationPrompt: false, continueFinalMessage: false },
];

export class VllmChatRenderer implements ChatRenderer {
  private constructor(
    private readonly pool: HttpEndpointPool,
    private readonly servedModel: string,
    readonly identity: string,
  ) {}

  /**
   * Renders the probe; a server without a chat template (a 4xx answer) gives `{ unavailable }`
   * with its words, so a run asking for `chat` falls back and says why.
   */
  static async connect(pool: HttpEndpointPool, servedModel: string, signal?: AbortSignal): Promise<VllmChatRenderer | { unavailable: string }> {
    const ids: number[][] = [];
    for (const probe of PROBE) {
      try {
        ids.push(await renderOne(pool, servedModel, probe, signal));
      } catch (error) {
        if (error instanceof Error && error.name === 'AbortError') throw error;
        return { unavailable: `the server cannot render a chat template: ${(error as Error).message}` };
      }
    }
    return new VllmChatRenderer(pool, servedModel, createHash('sha256').update(JSON.stringify(ids)).digest('hex').slice(0, 16));
  }

  async render(requests: ChatRenderRequest[], signal?: AbortSignal): Promise<(number[] | Error)[]> {
    return Promise.all(
      requests.map(async (request) => {
        try {
          return await renderOne(this.pool, this.servedModel, request, signal);
        } catch (error) {
          // A conversation the template refuses (its raise_exception) is that span's problem only.
          if (error instanceof PermanentScorerError) return error;
          throw error;
        }
      }),
    );
  }
}

async function renderOne(pool: HttpEndpointPool, servedModel: string, request: ChatRenderRequest, signal?: AbortSignal): Promise<number[]> {
  const response = await pool.request({
    method: 'POST',
    path: '/tokenize',
    body: buildTokenizeChatRequest(servedModel, request),
    parse: parseTokenizeResponse,
    what: 'tokenize (chat)',
    light: true,
    signal,
  });
  return response.tokens;
}
