import type { ChatMessage } from '../../metrics/chatSpans';

/**
 * One rendering of a conversation by the model's chat template, with the switches of HF
 * `apply_chat_template` and vLLM's `/tokenize` (TokenizeChatRequest): at most one of the two is set.
 */
export interface ChatRenderRequest {
  messages: ChatMessage[];
  /** Close with the assistant header the model generates after (`Assistant: `, `<|im_start|>assistant\n`). */
  addGenerationPrompt: boolean;
  /** Cut the rendering right after the last message's content: no end-of-turn tokens. */
  continueFinalMessage: boolean;
}

/** A model's chat template as a scorer applies it: conversations in, token ids out. */
export interface ChatRenderer {
  /**
   * What the template is, for the score store: a hash of the template text (local GGUF), or of
   * its rendering of a fixed probe conversation (a server, which does not hand its template out).
   * A changed template never reuses stale scores.
   */
  readonly identity: string;
  /**
   * Token ids of each rendering, tokenized as a whole with special tokens parsed and no BOS added
   * beyond what the template writes; an Error for a conversation the template refuses (e.g. one
   * not starting with a user turn), so only the spans built on it fail.
   */
  render(requests: ChatRenderRequest[], signal?: AbortSignal): Promise<(number[] | Error)[]>;
}
