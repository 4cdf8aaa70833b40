import { createHash } from 'node:crypto';
import { dirname, join } from 'node:path';
import { AppendLog } from '../../io/appendLog';

/** Sampled candidates live in `.sift/samples.jsonl` beside the questions, next to the score store. */
export function defaultSampleStorePath(questionsPath: string): string {
  return join(dirname(questionsPath), '.sift', 'samples.jsonl');
}

/** Bumped when what a stored sample means changes, so older entries are never reused. */
const SAMPLE_KEY_VERSION = 'sample-v1';

/** Everything a generated candidate depends on. */
export interface SampleKeyParts {
  /** The student's identity (GGUF content hash, or the served model name). */
  model: string;
  /** The exact prompt the model continued: the question in its few-shot prefix or rendered chat. */
  prompt: string;
  /** `text` for a text prompt, `chat` for a chat rendering (the same text, tokenized differently). */
  promptKind: 'text' | 'chat';
  temperature: number;
  topP: number;
  maxTokens: number;
  stop: readonly string[];
  /** The run's seed; sample i is generated with seed + i. */
  seed: number;
  sampleIndex: number;
}

/**
 * The content address of one sample. The number of samples per question (k) is not part of it, so
 * raising k keeps the samples already drawn; the endpoint URL is not either (the same model behind
 * another URL draws the same samples). Parts are length-prefixed so no two part lists collide.
 */
export function sampleKey(parts: SampleKeyParts): string {
  const hash = createHash('sha256');
  const list = [
    SAMPLE_KEY_VERSION,
    parts.model,
    parts.promptKind,
    parts.prompt,
    String(parts.temperature),
    String(parts.topP),
    String(parts.maxTokens),
    JSON.stringify(parts.stop),
    String(parts.seed),
    String(parts.sampleIndex),
  ];
  for (const part of list) {
    hash.update(`${part.length}:`);
    hash.update(part);
  }
  return hash.digest('hex').slice(0, 32);
}

/** One generated solution as stored. */
export interface StoredSample {
  text: string;
  finishReason: 'stop' | 'length';
  /** Tokens generated (as the backend reports them; 0 when it does not). */
  tokens: number;
  /** Epoch ms. */
  at: number;
}

/**
 * Where finished samples are kept so that an interrupted run resumes: a re-run asks only for the
 * samples the store lacks. The interface is all the sampler uses, so the journal below can be
 * replaced by another store (a database) without touching the sampling.
 */
export interface SampleStore {
  /** The file behind it, if any (for messages). */
  readonly path: string | undefined;
  get(key: string): StoredSample | undefined;
  /** Keeps a sample; it reaches disk with the next flush (soon: see JournalSampleStore). */
  put(key: string, sample: StoredSample): void;
  /** Resolves when every sample put so far is on disk (or the write failed: see writeError). */
  flush(): Promise<void>;
  close(): Promise<void>;
  /** Why the last write failed; undefined once one works. */
  readonly writeError: Error | undefined;
  /** Samples not on disk yet. */
  readonly unsaved: number;
  /** Entries that could not be read when the store was opened (a torn last line after a crash). */
  readonly skippedLines: number;
  /** Told when writes start failing (with the error) and when they work again (undefined). */
  onWriteStatus: ((error: Error | undefined) => void) | undefined;
}

/** Samples wait in memory at most this long before they are appended: what a crash can lose. */
const FLUSH_DELAY_MS = 1000;

/**
 * A JSON-lines journal of samples, one entry per line: {"k": key, "v": {text, finish, tokens, at}}.
 * Append-only and crash-safe like the score store (core/io/appendLog.ts): a torn last line is
 * skipped on load, later entries win, and a failed append keeps its entries for the next one.
 */
export class JournalSampleStore implements SampleStore {
  private readonly entries = new Map<string, StoredSample>();
  private readonly file: AppendLog | undefined;
  private timer: NodeJS.Timeout | undefined;
  skippedLines = 0;
  onWriteStatus: ((error: Error | undefined) => void) | undefined;

  private constructor(readonly path: string | undefined) {
    this.file = path === undefined ? undefined : new AppendLog(path, (error) => this.onWriteStatus?.(error));
  }

  /** A store that keeps nothing on disk (`--no-cache`). */
  static memory(): JournalSampleStore {
    return new JournalSampleStore(undefined);
  }

  static async open(path: string): Promise<JournalSampleStore> {
    const store = new JournalSampleStore(path);
    await store.file!.readLines((line) => store.loadLine(line));
    return store;
  }

  get size(): number {
    return this.entries.size;
  }

  get(key: string): StoredSample | undefined {
    return this.entries.get(key);
  }

  put(key: string, sample: StoredSample): void {
    this.entries.set(key, sample);
    if (!this.file) return;
    this.file.add(JSON.stringify({ k: key, v: { text: sample.text, finish: sample.finishReason, tokens: sample.tokens, at: sample.at } }));
    this.timer ??= setTimeout(() => void this.flush(), FLUSH_DELAY_MS).unref();
  }

  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    return this.file ? this.file.flush() : Promise.resolve();
  }

  close(): Promise<void> {
    return this.flush();
  }

  get writeError(): Error | undefined {
    return this.file?.writeError;
  }

  get unsaved(): number {
    return this.file?.unsaved ?? 0;
  }

  private loadLine(line: string): void {
    try {
      const entry = JSON.parse(line) as { k?: unknown; v?: Record<string, unknown> };
      const v = entry.v;
      if (typeof entry.k !== 'string' || !v || typeof v.text !== 'string' || (v.finish !== 'stop' && v.finish !== 'length')) throw new Error('not an entry');
      this.entries.set(entry.k, { text: v.text, finishReason: v.finish, tokens: typeof v.tokens === 'number' ? v.tokens : 0, at: typeof v.at === 'number' ? v.at : 0 });
    } catch {
      this.skippedLines++;
    }
  }
}
