import type { ChatMessage } from '../metrics/chatSpans';
import type { TokenScorer } from '../scoring/types';
import { HttpError } from './httpError';

/**
 * `POST /tokenize` with `messages`, as vLLM answers it (TokenizeChatRequest,
 * vllm/entrypoints/serve/tokenize/protocol.py): the conversation rendered by the model's chat
 * template (`add_generation_prompt` default true, `continue_final_message` default false, never
 * both), tokenized with special tokens parsed, BOS prepended only with `add_special_tokens: true`
 * (default false: the template writes its own special tokens).
 */
export async function tokenizeChat(scorer: TokenScorer, request: Record<string, unknown>): Promise<number[]> {
  if (!scorer.chat) {
    throw new HttpError(
      400,
      'As of transformers v4.44, default chat template is no longer allowed, so you must provide a chat template if the tokenizer does not define one.',
    );
  }
  const addGenerationPrompt = flag(request.add_generation_prompt, true, 'add_generation_prompt');
  const continueFinalMessage = flag(request.continue_final_message, false, 'continue_final_message');
  if (addGenerationPrompt && continueFinalMessage) {
    throw new HttpError(400, 'Cannot set both `continue_final_message` and `add_generation_prompt` to True.');
  }
  const messages = chatMessages(request.messages);
  const [ids] = await scorer.chat.render([{ messages, addGenerationPrompt, continueFinalMessage }]);
  if (ids instanceof Error) throw new HttpError(400, ids.message);
  const addSpecialTokens = flag(request.add_special_tokens, false, 'add_special_tokens');
  return addSpecialTokens && scorer.bosId !== undefined ? [scorer.bosId, ...ids] : ids;
}

function flag(value: unknown, fallback: boolean, name: string): boolean {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'boolean') throw new HttpError(400, `${name} must be a boolean`);
  return value;
}

const ROLES = new Set(['system', 'user', 'assistant']);

/** OpenAI messages with string content or text parts (joined by '\n', as Sift's records are). */
function chatMessages(value: unknown): ChatMessage[] {
  if (!Array.isArray(value)) throw new HttpError(400, 'messages must be a list');
  return value.map((m: unknown, i) => {
    const message = m as { role?: unknown; content?: unknown } | null;
    if (message === null || typeof message !== 'object' || typeof message.role !== 'string' || !ROLES.has(message.role)) {
      throw new HttpError(400, `messages[${i}] must be an object with a role of system, user or assistant`);
    }
    const { content } = message;
    if (typeof content === 'string') return { role: message.role as ChatMessage['role'], content };
    if (Array.isArray(content) && content.every((p) => typeof (p as { text?: unknown })?.text === 'string')) {
      return { role: message.role as ChatMessage['role'], content: content.map((p) => (p as { text: string }).text).join('\n') };
    }
    throw new HttpError(400, `messages[${i}].content must be a string or a list of text parts`);
  });
}
