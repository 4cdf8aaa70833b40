import { availableParallelism } from 'node:os';
import type { TokenScorer } from '../types';
import { PermanentScorerError } from '../types';
import { ggufIdentity } from './modelIdentity';
import { evaluateSequence, type EvaluatingSequence, type GreedyNext } from './sequenceLogprobs';
import type { LlamaContext, LlamaModel, Token } from './llamaTypes';
import { openLlama } from './llamaRuntime';
import { JinjaChatRenderer } from '../chat/jinjaRenderer';
import type { ChatRenderer } from '../chat/types';

export interface LocalScorerOptions {
  modelPath: string;
  /** CPU threads; default: every available core. */
  threads?: number;
  /** Context length in tokens; default: the model's training context, capped at 4096. */
  contextSize?: number;
  /**
   * Sequences evaluated side by side in one batch; default 2, the fastest on two CPU cores for small
   * models. Batch composition changes llama.cpp's float32 results in the 8th digit, not more.
   */
  parallelSequences?: number;
  /** Use a GPU when llama.cpp has a binary for one installed; default true. */
  gpu?: boolean;
}

/**
 * The in-process backend: a GGUF model through node-llama-cpp (llama.cpp). Sequences are spread
 * over a few context sequences evaluated in the same batches, and within each context sequence the
 * evaluated prefix is reused when the next sequence shares it (a template preamble, the same
 * instruction scored twice), see sequenceLogprobs.
 */
export class LocalScorer implements TokenScorer {
  readonly endpoint: string;
  chat?: ChatRenderer;
  chatUnavailable?: string;
  private readonly free: EvaluatingSequence[] = [];
  private readonly waiting: ((seq: EvaluatingSequence) => void)[] = [];

  private constructor(
    readonly modelId: string,
    readonly bosId: number | undefined,
    readonly maxContext: number,
    /** Number of token ids the model knows (0 .. vocabSize − 1). */
    readonly vocabSize: number,
    private readonly model: LlamaModel,
    private readonly context: LlamaContext,
    modelPath: string,
  ) {
    this.endpoint = `local:${modelPath}`;
    for (let i = 0; i < context.totalSequences; i++) {
      this.free.push({ sequence: context.getSequence(), ids: [], lp: new Float64Array(0) });
    }
  }

  static async load(options: LocalScorerOptions): Promise<LocalScorer> {
    const identity = ggufIdentity(options.modelPath).catch((error: NodeJS.ErrnoException) => {
      throw new PermanentScorerError(`cannot read model file ${options.modelPath}: ${error.code ?? error.message}`);
    });
    const modelId = await identity;
    const llama = await openLlama(options.gpu !== false);
    let model: LlamaModel;
    try {
      model = await llama.loadModel({ modelPath: options.modelPath });
    } catch (error) {
      throw new PermanentScorerError(`cannot load GGUF model ${options.modelPath}: ${(error as Error).message}`);
    }
    const contextSize = options.contextSize ?? Math.min(model.trainContextSize, 4096);
    const sequences = options.parallelSequences ?? 2;
    const context = await model.createContext({
      contextSize: contextSize * sequences,
      sequences,
      batchSize: Math.max(512, contextSize),
      threads: options.threads ?? availableParallelism(),
      // Scoring never needs the context to slide; a sequence that does not fit is an error upstream.
      ignoreMemorySafetyChecks: false,
    });
    const bos = model.tokens.bos ?? undefined;
    const scorer = new LocalScorer(modelId, bos === undefined ? undefined : Number(bos), contextSize, vocabularySize(model), model, context, options.modelPath);
    const template = chatTemplateOf(model);
    if (template === undefined) scorer.chatUnavailable = `the model ${options.modelPath} has no chat template (no tokenizer.chat_template in its metadata)`;
    else {
      try {
        scorer.chat = await JinjaChatRenderer.create(template, (text) => scorer.tokenizeRendered(text));
      } catch (error) {
        scorer.chatUnavailable = (error as Error).message;
      }
    }
    return scorer;
  }

  async tokenize(texts: string[]): Promise<number[][]> {
    return texts.map((text) => Array.from(this.model.tokenize(text, false), Number));
  }

  /** A chat template's rendering as ids: special tokens (`</s>`, `<|im_end|>`) parsed, no BOS added. */
  tokenizeRendered(text: string): number[] {
    return Array.from(this.model.tokenize(text, true), Number);
  }

  /**
   * Text of each token id as it reads in place (a SentencePiece word-start token keeps its space),
   * for `echo` responses of `sift serve`: detokenized with the preceding tokens as context.
   */
  tokenText(ids: number[]): string[] {
    const unknown = this.unknownToken(ids);
    if (unknown) throw new PermanentScorerError(unknown);
    const tokens = ids as Token[];
    return tokens.map((id, i) => this.model.detokenize([id], true, tokens.slice(Math.max(0, i - 4), i)));
  }

  /** The first id of `ids` that the model does not know, as a message; undefined when all are known. */
  unknownToken(ids: readonly number[]): string | undefined {
    const at = ids.findIndex((id) => !(Number.isInteger(id) && id >= 0 && id < this.vocabSize));
    // Worded as vLLM's input validation words it (vllm/v1/engine/input_processor.py).
    return at < 0 ? undefined : `Token id ${ids[at]} is out of vocabulary (position ${at}; the model's ids are 0..${this.vocabSize - 1})`;
  }

  async logprobs(sequences: number[][], signal?: AbortSignal, needFrom?: number[]): Promise<Float64Array[]> {
    return (await this.evaluate(sequences, signal, needFrom, false)).map((r) => r.lp);
  }

  /**
   * Log-probs of every position and the greedy token after each sequence with its log-prob: what
   * vLLM returns for a prompt with `max_tokens: 1` at temperature 0 (`sift serve`'s prompt_logprobs
   * mode), from the same evaluation.
   */
  async logprobsAndNext(sequences: number[][], signal?: AbortSignal): Promise<{ lp: Float64Array; next: GreedyNext }[]> {
    const results = await this.evaluate(sequences, signal, undefined, true);
    return results.map(({ lp, next }) => {
      if (!next) throw new Error('no greedy token was produced');
      return { lp, next };
    });
  }

  private async evaluate(
    sequences: number[][],
    signal: AbortSignal | undefined,
    needFrom: number[] | undefined,
    withNext: boolean,
  ): Promise<{ lp: Float64Array; next?: GreedyNext }[]> {
    for (const ids of sequences) {
      if (ids.length > this.maxContext) {
        throw new PermanentScorerError(`sequence of ${ids.length} tokens exceeds the model context of ${this.maxContext}`);
      }
      // llama.cpp fails the whole batch on an unknown id (and its detokenizer aborts the process).
      const unknown = this.unknownToken(ids);
      if (unknown) throw new PermanentScorerError(unknown);
    }
    // Sorting makes sequences that share a prefix neighbours, so each context sequence can keep it.
    const order = sequences.map((_, i) => i).sort((a, b) => compareIds(sequences[a], sequences[b]));
    const results = new Array<{ lp: Float64Array; next?: GreedyNext }>(sequences.length);
    const lanes = Math.max(1, this.context.totalSequences);
    const chunk = Math.ceil(order.length / lanes);
    const work: Promise<void>[] = [];
    for (let start = 0; start < order.length; start += chunk) {
      const slice = order.slice(start, start + chunk);
      work.push(this.withSequence(async (seq) => {
        for (const index of slice) {
          signal?.throwIfAborted();
          results[index] = await evaluateSequence(seq, sequences[index], needFrom?.[index] ?? 1, withNext);
        }
      }));
    }
    await Promise.all(work);
    return results;
  }

  async close(): Promise<void> {
    await this.context.dispose();
    await this.model.dispose();
  }

  private async withSequence<T>(run: (seq: EvaluatingSequence) => Promise<T>): Promise<T> {
    const seq = this.free.pop() ?? (await new Promise<EvaluatingSequence>((resolve) => this.waiting.push(resolve)));
    try {
      return await run(seq);
    } finally {
      const next = this.waiting.shift();
      if (next) next(seq);
      else this.free.push(seq);
    }
  }
}

/** The vocabulary size from the GGUF metadata (the token list), or the token embedding's shape. */
export function vocabularySize(model: LlamaModel): number {
  const tokens = (model.fileInfo.metadata as { tokenizer?: { ggml?: { tokens?: unknown } } }).tokenizer?.ggml?.tokens;
  if (Array.isArray(tokens) && tokens.length > 0) return tokens.length;
  const embedding = model.fileInfo.tensorInfo?.find((tensor) => tensor.name === 'token_embd.weight');
  const rows = Number(embedding?.dimensions[1]);
  if (Number.isInteger(rows) && rows > 0) return rows;
  throw new PermanentScorerError('the model file names no vocabulary (no tokenizer.ggml.tokens, no token_embd.weight)');
}

/** The GGUF chat template with the text of the special tokens it refers to; undefined when there is none. */
export function chatTemplateOf(model: LlamaModel): { template: string; bosToken: string; eosToken: string } | undefined {
  const tokenizer = (model.fileInfo.metadata as { tokenizer?: { chat_template?: unknown; ggml?: { tokens?: unknown; bos_token_id?: unknown; eos_token_id?: unknown } } }).tokenizer;
  const template = tokenizer?.chat_template;
  if (typeof template !== 'string' || template.trim() === '') return undefined;
  const tokens = Array.isArray(tokenizer?.ggml?.tokens) ? (tokenizer.ggml.tokens as unknown[]) : [];
  const text = (id: unknown): string => (typeof id === 'number' && typeof tokens[id] === 'string' ? (tokens[id] as string) : '');
  return { template, bosToken: text(tokenizer?.ggml?.bos_token_id), eosToken: text(tokenizer?.ggml?.eos_token_id) };
}

function compareIds(a: number[], b: number[]): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}
