import type { ChatEndOfTurn, ChatSpan } from '../../metrics/chatSpans';
import { fitSequence, type PlannedSequence, type SpanRequest } from '../plan';
import type { ChatRenderRequest } from './types';

/** The three renderings a chat span is planned from (chatSpans.ts: P, T, W). */
export function chatRenders(span: ChatSpan): { prompt: ChatRenderRequest; content: ChatRenderRequest; whole: ChatRenderRequest } {
  const answered = [...span.context, { role: 'assistant' as const, content: span.target }];
  return {
    prompt: { messages: span.context, addGenerationPrompt: true, continueFinalMessage: false },
    content: { messages: answered, addGenerationPrompt: false, continueFinalMessage: true },
    whole: { messages: answered, addGenerationPrompt: false, continueFinalMessage: false },
  };
}

/** A stable key for one rendering, to render each distinct conversation once per chunk. */
export function renderKey(request: ChatRenderRequest): string {
  return JSON.stringify([request.addGenerationPrompt, request.continueFinalMessage, request.messages]);
}

export const PREFIX_FALLBACK_NOTE =
  "the chat template's rendering up to the generation prompt is not a token prefix of the rendered answer, so the answer was tokenized on its own after it";
const END_OF_TURN_NOTE = "the end-of-turn tokens could not be told apart from the answer's (the rendering without them is not a token prefix of the whole), so none were scored";

/**
 * Plans a chat span from the renderings' ids (an Error where the template refused the
 * conversation) and the target's ids tokenized on its own (for the fallback): target tokens T[|P|:],
 * plus W[|T|:] with `include`, or P + tok(target) when P is not a token prefix of T.
 */
export function planChatSequence(
  request: SpanRequest,
  rendered: { prompt: number[] | Error; content: number[] | Error; whole: number[] | Error },
  targetIds: number[],
  endOfTurn: ChatEndOfTurn,
  maxContext: number,
  fittedTargetTokens?: number,
): PlannedSequence | string {
  const { prompt, content, whole } = rendered;
  for (const r of [prompt, content, whole]) if (r instanceof Error) return `the chat template cannot render this conversation: ${r.message}`;
  const [p, t, w] = [prompt, content, whole] as number[][];
  const notes: string[] = [];
  let endTokens: number[] = [];
  if (endOfTurn === 'include') {
    if (isPrefix(t, w)) endTokens = w.slice(t.length);
    else notes.push(END_OF_TURN_NOTE);
  }
  let ids: number[];
  if (isPrefix(p, t)) {
    ids = [...t, ...endTokens];
  } else {
    notes.push(PREFIX_FALLBACK_NOTE);
    ids = [...p, ...targetIds, ...endTokens];
  }
  const plan = fitSequence(request, ids, p.length, false, maxContext, fittedTargetTokens);
  return typeof plan === 'string' || notes.length === 0 ? plan : { ...plan, note: notes.join('; ') };
}

function isPrefix(prefix: readonly number[], of: readonly number[]): boolean {
  if (prefix.length > of.length) return false;
  for (let i = 0; i < prefix.length; i++) if (prefix[i] !== of[i]) return false;
  return true;
}
