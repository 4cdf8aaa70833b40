import type { ChatMessage } from '../../metrics/chatSpans';
import { PermanentScorerError } from '../../scoring/types';
import { LocalGenerator, type LocalGeneratorOptions } from './localGenerator';
import type { GenerationSettings, PreparedPrompt, SampleHandlers, SampleJob, StudentSampler } from './types';

/** The in-process student: {@link LocalGenerator} behind the {@link StudentSampler} interface. */
export class LocalSampler implements StudentSampler {
  readonly remote = false;

  private constructor(readonly generator: LocalGenerator) {}

  static async load(options: LocalGeneratorOptions): Promise<LocalSampler> {
    return new LocalSampler(await LocalGenerator.load(options));
  }

  get modelId(): string {
    return this.generator.modelId;
  }

  get endpoint(): string {
    return this.generator.endpoint;
  }

  get chatUnavailable(): string | undefined {
    return this.generator.chatUnavailable;
  }

  /**
   * The GGUF's own chat template. The recorded text is the ids read back with special tokens as
   * text, as on a server (`/detokenize`), so the same model gives the same record either way.
   */
  async renderChat(messages: ChatMessage[]): Promise<PreparedPrompt> {
    const chat = this.generator.chat;
    if (!chat) throw new PermanentScorerError(this.generator.chatUnavailable ?? 'the model has no chat template');
    const [ids] = await chat.render([{ messages, addGenerationPrompt: true, continueFinalMessage: false }]);
    if (ids instanceof Error) throw new PermanentScorerError(`the chat template refuses the conversation: ${ids.message}`);
    return { kind: 'chat', text: this.generator.detokenize(ids as number[], true), ids: ids as number[] };
  }

  async sample(jobs: readonly SampleJob[], settings: GenerationSettings, handlers: SampleHandlers, signal?: AbortSignal): Promise<void> {
    for (let j = 0; j < jobs.length; j++) {
      signal?.throwIfAborted();
      const job = jobs[j] as SampleJob;
      const ids = job.prompt.ids ?? this.generator.encode(job.prompt.text);
      const seeds = Array.from({ length: job.count }, (_, i) => job.firstSeed + i);
      try {
        await this.generator.generate(ids, seeds, settings, (i, g) => handlers.onSample(j, i, { text: g.text, finishReason: g.finishReason, tokens: g.tokens }), signal);
      } catch (error) {
        if (!(error instanceof PermanentScorerError) || signal?.aborted) throw error;
        handlers.onJobError(j, error);
      }
    }
  }

  close(): Promise<void> {
    return this.generator.close();
  }
}
