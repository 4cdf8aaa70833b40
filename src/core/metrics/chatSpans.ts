import type { TrainingPair, Turn } from '../dataset/types';
import { instructionText, reverseInstruction } from './templates';

/**
 * The spans of the `chat` template (README "Chat-format scoring", METHODS-style). Every sequence is
 * the model's own chat template applied to a conversation that ends with one assistant turn whose
 * content is the scored target; the token ids are the template's rendering tokenized as a whole
 * (special tokens parsed, no BOS added beyond what the template writes: what HF
 * `apply_chat_template(tokenize=True)` and vLLM's `/tokenize` with `messages` give).
 *
 * For a conversation C = [m_1 … m_k] followed by an assistant turn with content t:
 * - P = render(C, add_generation_prompt) — the context, ending with the assistant header;
 * - T = render(C + [assistant t], continue_final_message) — P followed by t's tokens;
 * - W = render(C + [assistant t]) — T followed by what the template closes the turn with.
 * The target tokens are T[|P|:] (and W[|T|:], the end-of-turn tokens, with `chatEndOfTurn:
 * include`). When P is not a token prefix of T (a template that changes earlier text once the
 * answer is there, or a tokenizer merging the header's trailing space into the answer's first
 * word), the target is t tokenized on its own after P, and the record's score says so.
 *
 * The spans of each metric (x = the user turn's text, instruction and input joined by '\n'):
 * - L(y|x):  C = history + [user x]                  target y   (history: every earlier turn)
 * - L(y):    C = [user ""]  (empty-user frame)        target y
 *            C = []         (no-user frame)
 * - L(x|y'): C = [user reverse(y)]                   target x   (reverse: METHODS §4.2 wording)
 * - L(x):    C as for L(y)                            target x
 * - DS:      every token of T (or W) after the first: the conversation up to and with the answer.
 * In the default empty-user frame the direct and conditioned renders differ in the instruction
 * text alone: the role markers, any default system prompt the template injects, and the assistant
 * header are the same tokens in both. Cherry LLM issue 22 is the failure this avoids: scored in a
 * chat frame against a direct loss without it, the frame's own unfamiliarity lands on one side of
 * the ratio only and every IFD comes out above 1. The IFD paper's L(y) is the response "without the
 * instruction" (METHODS §2.1), which is exactly the emptied user turn. The no-user frame is offered
 * for templates that render an empty user turn oddly; many templates (Llama 2, Mistral, Gemma)
 * reject a conversation that does not start with a user turn.
 */

export interface ChatMessage {
  role: Turn['role'];
  content: string;
}

/** Whether the tokens the template closes an assistant turn with (`</s>`, `<|im_end|>\n`) are scored. */
export const CHAT_END_OF_TURN = ['exclude', 'include'] as const;
export type ChatEndOfTurn = (typeof CHAT_END_OF_TURN)[number];

/** The frame of the direct losses L(y), L(x): an empty user turn, or no user turn at all. */
export const CHAT_DIRECT_FRAMES = ['empty-user', 'no-user'] as const;
export type ChatDirectFrame = (typeof CHAT_DIRECT_FRAMES)[number];

/** The conversation before the scored assistant turn, and that turn's content. */
export interface ChatSpan {
  context: ChatMessage[];
  target: string;
}

/** The messages of a pair's final exchange with its history: what L(y|x) and DS condition on. */
export function conversationBefore(pair: TrainingPair): ChatMessage[] {
  return [...pair.history.map((t) => ({ role: t.role, content: t.content })), { role: 'user', content: instructionText(pair) }];
}

/** The context of a direct loss: the frame with the instruction removed. */
export function directFrame(frame: ChatDirectFrame): ChatMessage[] {
  return frame === 'empty-user' ? [{ role: 'user', content: '' }] : [];
}

/** The context of L(x|y'): the reverse instruction as the only user turn. */
export function reverseFrame(response: string): ChatMessage[] {
  return [{ role: 'user', content: reverseInstruction(response) }];
}
