import { availableParallelism } from 'node:os';
import { vllmLengthRefusal } from '../../serve/vllmRefusals';
import { JinjaChatRenderer } from '../../scoring/chat/jinjaRenderer';
import { chatTemplateOf, vocabularySize } from '../../scoring/local/localScorer';
import type { LlamaContext, LlamaContextSequence, LlamaModel, Token } from '../../scoring/local/llamaTypes';
import { openLlama } from '../../scoring/local/llamaRuntime';
import { ggufIdentity } from '../../scoring/local/modelIdentity';
import { PermanentScorerError } from '../../scoring/types';

/** How one prompt is continued; the seeds come with each call. */
export interface GenerationOptions {
  /** 0: greedy. */
  temperature: number;
  /** 1: off. */
  topP: number;
  /** Tokens generated at most (an end-of-generation token counts, as in vLLM). */
  maxTokens: number;
  /** The text ends before the first of these (vLLM's `stop`, not included in the output). */
  stop: readonly string[];
}

/** One generated continuation, as vLLM reports it (`finish_reason`, `stop_reason`, generated tokens). */
export interface Generation {
  text: string;
  finishReason: 'stop' | 'length';
  /** The stop string that ended it; null when an end-of-generation token or the length did. */
  stopReason: string | null;
  tokens: number;
  /** The generated token ids, up to the end (an end-of-generation token is not among them). */
  tokenIds: number[];
}

export interface LocalGeneratorOptions {
  modelPath: string;
  threads?: number;
  /** Context length in tokens; default: the model's training context, capped at 4096 (as the scorer's). */
  contextSize?: number;
  gpu?: boolean;
}

/** The seeds llama.cpp's sampler takes (`llama_sampler_init_dist`'s uint32). */
export const MAX_LOCAL_SEED = 0xffffffff;

/**
 * Sampling with a GGUF model through node-llama-cpp, the way vLLM samples: a text prompt gets the
 * model's BOS (vLLM's `add_special_tokens`), the sampler is temperature and top-p alone (no top-k,
 * min-p or repetition penalty, vLLM's defaults), a stop string ends the text before it, and the
 * length rules are vLLM's (prompt + max_tokens must fit the context).
 *
 * Same prompt and seed, same text, whatever was generated before: every prompt is evaluated afresh
 * (its KV cache is not shared with the previous prompt) except its last token, and each sample
 * evaluates that last token on its own on top of the same cached prefix before sampling with its
 * seed. The first sample of a resumed run therefore sees exactly the numbers it saw in the run that
 * was stopped. (Batch composition changes llama.cpp's float results in the last digits, which would
 * otherwise make a sample depend on its neighbours.) One generation runs at a time.
 *
 * One difference from vLLM: llama.cpp's sampler chain applies top-p before the temperature; vLLM
 * applies the temperature first. They agree when top_p is 1 (the default, and IWSI's setting).
 */
export class LocalGenerator {
  readonly endpoint: string;
  chat?: JinjaChatRenderer;
  chatUnavailable?: string;
  private queue: Promise<void> = Promise.resolve();

  private constructor(
    readonly modelId: string,
    readonly maxContext: number,
    readonly bosId: number | undefined,
    readonly vocabSize: number,
    private readonly model: LlamaModel,
    private readonly context: LlamaContext,
    private readonly sequence: LlamaContextSequence,
    modelPath: string,
  ) {
    this.endpoint = `local:${modelPath}`;
  }

  static async load(options: LocalGeneratorOptions): Promise<LocalGenerator> {
    const modelId = await ggufIdentity(options.modelPath).catch((error: NodeJS.ErrnoException) => {
      throw new PermanentScorerError(`cannot read model file ${options.modelPath}: ${error.code ?? error.message}`);
    });
    const llama = await openLlama(options.gpu !== false);
    let model: LlamaModel;
    try {
      model = await llama.loadModel({ modelPath: options.modelPath });
    } catch (error) {
      throw new PermanentScorerError(`cannot load GGUF model ${options.modelPath}: ${(error as Error).message}`);
    }
    const contextSize = options.contextSize ?? Math.min(model.trainContextSize, 4096);
    const context = await model.createContext({ contextSize, sequences: 1, threads: options.threads ?? availableParallelism() });
    const bos = model.tokens.bos ?? undefined;
    const generator = new LocalGenerator(modelId, contextSize, bos === undefined ? undefined : Number(bos), vocabularySize(model), model, context, context.getSequence(), options.modelPath);
    const template = chatTemplateOf(model);
    if (template === undefined) generator.chatUnavailable = `the model ${options.modelPath} has no chat template (no tokenizer.chat_template in its metadata)`;
    else {
      try {
        generator.chat = await JinjaChatRenderer.create(template, (text) => Array.from(model.tokenize(text, true), Number));
      } catch (error) {
        generator.chatUnavailable = (error as Error).message;
      }
    }
    return generator;
  }

  /** Token ids of a text prompt: BOS (when the model has one and `addSpecialTokens`) and the text's tokens. */
  encode(text: string, addSpecialTokens = true): number[] {
    const ids = Array.from(this.model.tokenize(text, false), Number);
    return addSpecialTokens && this.bosId !== undefined ? [this.bosId, ...ids] : ids;
  }

  /**
   * Text of token ids; `special`: special tokens as their text (`</s>`), else left out (vLLM's
   * skip_special_tokens); `after`: the tokens they follow, for the space a word-start token takes.
   */
  detokenize(ids: readonly number[], special: boolean, after: readonly number[] = []): string {
    return this.model.detokenize(ids as Token[], special, after as Token[]);
  }

  /** Why a prompt cannot be continued by `maxTokens` tokens (vLLM's length rules and words), or undefined. */
  refusal(ids: readonly number[], maxTokens: number): string | undefined {
    const at = ids.findIndex((id) => !(Number.isInteger(id) && id >= 0 && id < this.vocabSize));
    if (at >= 0) return `Token id ${ids[at]} is out of vocabulary (position ${at}; the model's ids are 0..${this.vocabSize - 1})`;
    if (ids.length === 0) return 'the prompt is empty';
    return vllmLengthRefusal(ids.length, maxTokens, false, this.maxContext)?.message;
  }

  /**
   * One continuation of `ids` per seed, in order; `onSample` hears each as it is done. Rejects with
   * a PermanentScorerError for a prompt that cannot be continued (see `refusal`).
   */
  generate(
    ids: readonly number[],
    seeds: readonly number[],
    options: GenerationOptions,
    onSample: (index: number, generation: Generation) => void,
    signal?: AbortSignal,
  ): Promise<void> {
    const refused = this.refusal(ids, options.maxTokens);
    if (refused) return Promise.reject(new PermanentScorerError(refused));
    const run = this.queue.then(() => this.generateNow(ids as Token[], seeds, options, onSample, signal));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async generateNow(
    ids: Token[],
    seeds: readonly number[],
    options: GenerationOptions,
    onSample: (index: number, generation: Generation) => void,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    signal?.throwIfAborted();
    const prefix = ids.slice(0, -1);
    try {
      await this.sequence.clearHistory();
      if (prefix.length > 0) await this.sequence.evaluateWithoutGeneratingNewTokens(prefix);
      for (let i = 0; i < seeds.length; i++) {
        signal?.throwIfAborted();
        if (this.sequence.nextTokenIndex > prefix.length) {
          await this.sequence.eraseContextTokenRanges([{ start: prefix.length, end: this.sequence.nextTokenIndex }]);
        }
        onSample(i, await this.sampleOne(ids, seeds[i] as number, options, signal));
      }
    } catch (error) {
      // The KV cache may hold part of a batch: start the next prompt from nothing.
      await this.sequence.clearHistory().catch(() => undefined);
      throw error;
    }
  }

  private async sampleOne(prompt: Token[], seed: number, options: GenerationOptions, signal: AbortSignal | undefined): Promise<Generation> {
    const last = prompt[prompt.length - 1] as Token;
    // The text reads as it continues the prompt (a SentencePiece word-start token keeps its space,
    // as vLLM's incremental detokenizer keeps it): the prompt's last tokens are the context.
    const context = prompt.slice(-4);
    const generated: Token[] = [];
    let text = '';
    const longestStop = options.stop.reduce((m, s) => Math.max(m, s.length), 0);
    // temperature 0 is llama.cpp's greedy sampler; topK 0 is the whole vocabulary; minP 0 and no
    // repeat penalty: only temperature and top-p shape the distribution, as in vLLM by default.
    const tokens = this.sequence.evaluate([last], { temperature: options.temperature, topP: options.topP, topK: 0, minP: 0, seed });
    for await (const token of tokens) {
      signal?.throwIfAborted();
      generated.push(token);
      const before = text.length;
      text = this.model.detokenize(generated, false, context);
      if (longestStop > 0) {
        const hit = firstStop(text, options.stop, Math.max(0, before - longestStop));
        if (hit) return { text: text.slice(0, hit.at), finishReason: 'stop', stopReason: hit.stop, tokens: generated.length, tokenIds: generated.map(Number) };
      }
      if (generated.length >= options.maxTokens) return { text, finishReason: 'length', stopReason: null, tokens: generated.length, tokenIds: generated.map(Number) };
    }
    // The generator ends at an end-of-generation token, which vLLM counts as generated.
    return { text, finishReason: 'stop', stopReason: null, tokens: generated.length + 1, tokenIds: generated.map(Number) };
  }

  async close(): Promise<void> {
    await this.queue;
    await this.context.dispose();
    await this.model.dispose();
  }
}

/** The earliest occurrence of any stop string at or after `from`, and which one. */
export function firstStop(text: string, stops: readonly string[], from = 0): { at: number; stop: string } | undefined {
  let best: { at: number; stop: string } | undefined;
  for (const stop of stops) {
    const at = text.indexOf(stop, from);
    if (at >= 0 && (best === undefined || at < best.at)) best = { at, stop };
  }
  return best;
}
