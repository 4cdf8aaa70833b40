import { createHash } from 'node:crypto';
import type { Template } from '@huggingface/jinja' with { 'resolution-mode': 'import' };
import type { ChatRenderer, ChatRenderRequest } from './types';

export interface JinjaTemplateSource {
  /** The Jinja text (GGUF `tokenizer.chat_template`). */
  template: string;
  /** Text of the special tokens templates refer to (`{{ bos_token }}`, `{{ eos_token }}`). */
  bosToken: string;
  eosToken: string;
}

/**
 * A chat template rendered as HF transformers renders it, with @huggingface/jinja (the Jinja
 * engine node-llama-cpp's own JinjaTemplateChatWrapper runs on). The wrapper itself is not used:
 * it reshapes the conversation for generation (joins adjacent messages, trims the leading
 * whitespace of responses, renders special tokens by id), and scores must be over the template's
 * text exactly as a trainer or vLLM renders it.
 */
export class JinjaChatRenderer implements ChatRenderer {
  readonly identity: string;
  private readonly compiled: Template;

  /** Compiles the template; a template the engine cannot parse is an error naming it. */
  static async create(source: JinjaTemplateSource, tokenizeRendered: (text: string) => number[]): Promise<JinjaChatRenderer> {
    // ESM-only package: import() keeps the CommonJS bundles loading it only when a template is used.
    const { Template: JinjaTemplate } = await import('@huggingface/jinja');
    let compiled: Template;
    try {
      compiled = new JinjaTemplate(source.template);
    } catch (error) {
      throw new Error(`the model's chat template cannot be parsed: ${(error as Error).message}`, { cause: error });
    }
    return new JinjaChatRenderer(source, compiled, tokenizeRendered);
  }

  private constructor(
    private readonly source: JinjaTemplateSource,
    compiled: Template,
    /** Tokenizes a rendering: special tokens parsed, no BOS added. */
    private readonly tokenizeRendered: (text: string) => number[],
  ) {
    this.compiled = compiled;
    this.identity = createHash('sha256').update(JSON.stringify([source.template, source.bosToken, source.eosToken])).digest('hex').slice(0, 16);
  }

  async render(requests: ChatRenderRequest[]): Promise<(number[] | Error)[]> {
    return requests.map((request) => {
      try {
        return this.tokenizeRendered(this.renderText(request));
      } catch (error) {
        return error instanceof Error ? error : new Error(String(error));
      }
    });
  }

  renderText(request: ChatRenderRequest): string {
    if (request.addGenerationPrompt && request.continueFinalMessage) {
      throw new Error('Cannot set both `continue_final_message` and `add_generation_prompt` to True.');
    }
    const rendered = this.compiled.render({
      messages: request.messages,
      add_generation_prompt: request.addGenerationPrompt,
      bos_token: this.source.bosToken,
      eos_token: this.source.eosToken,
    });
    return request.continueFinalMessage ? cutAfterFinalMessage(rendered, request.messages.at(-1)?.content ?? '') : rendered;
  }
}

/**
 * transformers' `continue_final_message` (tokenization_utils_base.py, apply_chat_template): the
 * rendering is cut after the last occurrence of the final message's stripped content, keeping its
 * leading-stripped length when the template preserved its trailing whitespace.
 */
export function cutAfterFinalMessage(rendered: string, content: string): string {
  const stripped = content.trim();
  const at = rendered.lastIndexOf(stripped);
  if (at < 0) {
    throw new Error('continue_final_message is set but the final message does not appear in the chat after applying the chat template');
  }
  const leftStripped = content.trimStart();
  const keep = rendered.slice(at, at + leftStripped.length) === content ? leftStripped.length : stripped.length;
  return rendered.slice(0, at + keep);
}
