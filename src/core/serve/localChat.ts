import { availableParallelism } from 'node:os';
import type {
  ChatHistoryItem,
  Llama,
  LlamaChat,
  LlamaContext,
  LlamaGrammar,
  LlamaModel,
} from 'node-llama-cpp' with { 'resolution-mode': 'import' };
import { HttpError } from './httpError';

import { loadNodeLlamaCpp, openLlama } from '../scoring/local/llamaRuntime';

export interface ChatTurn {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface ChatGeneration {
  messages: ChatTurn[];
  /** Default: whatever room the context has left. */
  maxTokens?: number;
  temperature: number;
  topP?: number;
  seed?: number;
  stop?: string[];
  /** Constrain the output to this JSON schema (a GBNF grammar built from it). */
  jsonSchema?: Record<string, unknown>;
  /** Constrain the output to any JSON value. */
  jsonObject?: boolean;
}

export interface ChatGenerationResult {
  text: string;
  /** `length`: stopped at the token limit (JSON under a grammar may then be incomplete). */
  finishReason: 'stop' | 'length';
  promptTokens: number;
  completionTokens: number;
}

/** What `sift serve` needs to answer chat completions. */
export interface ChatEngine {
  generate(request: ChatGeneration, signal: AbortSignal): Promise<ChatGenerationResult>;
  close(): Promise<void>;
}

export interface LocalChatEngineOptions {
  modelPath: string;
  /** CPU threads; default: every available core. */
  threads?: number;
  /** Context length in tokens; default: the model's training context, capped at 4096. */
  contextSize?: number;
  gpu?: boolean;
}

/**
 * Chat generation with a GGUF model through node-llama-cpp: the model's own chat template (as
 * node-llama-cpp resolves it), JSON-schema output through llama.cpp grammars, one generation at a
 * time on one context sequence (requests queue). The model is loaded separately from the scoring
 * engine's; llama.cpp memory-maps the file, so the weights are shared by the page cache.
 */
export class LocalChatEngine implements ChatEngine {
  private readonly grammars = new Map<string, Promise<LlamaGrammar>>();
  private busy: Promise<void> = Promise.resolve();

  private constructor(
    private readonly llama: Llama,
    private readonly model: LlamaModel,
    private readonly context: LlamaContext,
    private readonly chat: LlamaChat,
    readonly contextSize: number,
  ) {}

  static async load(options: LocalChatEngineOptions): Promise<LocalChatEngine> {
    // Loaded on the first chat request, so `sift serve` pays for generation only when it is used.
    const { LlamaChat } = await loadNodeLlamaCpp();
    const llama = await openLlama(options.gpu !== false);
    const model = await llama.loadModel({ modelPath: options.modelPath });
    const contextSize = options.contextSize ?? Math.min(model.trainContextSize, 4096);
    const context = await model.createContext({ contextSize, sequences: 1, threads: options.threads ?? availableParallelism() });
    const chat = new LlamaChat({ contextSequence: context.getSequence() });
    return new LocalChatEngine(llama, model, context, chat, contextSize);
  }

  async generate(request: ChatGeneration, signal: AbortSignal): Promise<ChatGenerationResult> {
    const previous = this.busy;
    let release!: () => void;
    this.busy = new Promise<void>((resolve) => (release = resolve));
    try {
      await previous;
      signal.throwIfAborted();
      return await this.generateNow(request, signal);
    } finally {
      release();
    }
  }

  private async generateNow(request: ChatGeneration, signal: AbortSignal): Promise<ChatGenerationResult> {
    const history: ChatHistoryItem[] = request.messages.map((m): ChatHistoryItem => {
      if (m.role === 'system') return { type: 'system', text: m.content };
      if (m.role === 'user') return { type: 'user', text: m.content };
      return { type: 'model', response: [m.content] };
    });
    history.push({ type: 'model', response: [] });
    const promptTokens = this.chat.chatWrapper.generateContextState({ chatHistory: history }).contextText.tokenize(this.model.tokenizer).length;
    const room = this.contextSize - promptTokens;
    if (room < 1) {
      throw new HttpError(
        400,
        `This model's maximum context length is ${this.contextSize} tokens. However, your messages resulted in ${promptTokens} tokens.`,
        'BadRequestError',
        'messages',
      );
    }
    // Unlike OpenAI, a max_tokens beyond the room left is clipped, not refused: a small local
    // model is then still usable by clients that ask for a fixed budget.
    const maxTokens = Math.min(request.maxTokens ?? room, room);
    const grammar = request.jsonSchema ? await this.grammarFor(request.jsonSchema) : request.jsonObject ? await this.jsonGrammar() : undefined;
    let completionTokens = 0;
    const response = await this.chat.generateResponse(history, {
      maxTokens,
      temperature: request.temperature,
      topP: request.topP,
      seed: request.seed,
      grammar,
      customStopTriggers: request.stop && request.stop.length > 0 ? request.stop : undefined,
      signal,
      onToken: (tokens) => {
        completionTokens += tokens.length;
      },
    });
    return {
      text: response.response,
      finishReason: response.metadata.stopReason === 'maxTokens' ? 'length' : 'stop',
      promptTokens,
      completionTokens,
    };
  }

  private grammarFor(schema: Record<string, unknown>): Promise<LlamaGrammar> {
    const key = JSON.stringify(schema);
    let grammar = this.grammars.get(key);
    if (!grammar) {
      grammar = this.llama.createGrammarForJsonSchema(schema as Parameters<Llama['createGrammarForJsonSchema']>[0]).catch((error: unknown) => {
        this.grammars.delete(key);
        throw new HttpError(400, `response_format json_schema cannot be turned into a grammar: ${(error as Error).message}`, 'BadRequestError', 'response_format');
      });
      // A long-running server sees few distinct schemas; bound it anyway.
      if (this.grammars.size >= 64) this.grammars.delete(this.grammars.keys().next().value as string);
      this.grammars.set(key, grammar);
    }
    return grammar;
  }

  private async jsonGrammar(): Promise<LlamaGrammar> {
    const { LlamaGrammar } = await loadNodeLlamaCpp();
    return LlamaGrammar.getFor(this.llama, 'json');
  }

  async close(): Promise<void> {
    await this.busy;
    this.chat.dispose();
    await this.context.dispose();
    await this.model.dispose();
  }
}

/** A chat engine that loads on the first request; `close` is free when it never loaded. */
export function lazyChatEngine(load: () => Promise<ChatEngine>): ChatEngine {
  let engine: Promise<ChatEngine> | undefined;
  return {
    async generate(request, signal) {
      engine ??= load().catch((error: unknown) => {
        engine = undefined;
        throw error;
      });
      return (await engine).generate(request, signal);
    },
    async close() {
      if (engine) await (await engine.catch(() => undefined))?.close();
    },
  };
}
