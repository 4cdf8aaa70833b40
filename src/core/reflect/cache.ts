import { createHash } from 'node:crypto';
import { dirname, join } from 'node:path';
import { AppendLog } from '../io/appendLog';
import type { ReflectionKind, TokenUsage } from './types';

/** Finished reflections live in `.sift/reflections.jsonl` beside the dataset, next to the score store. */
export function defaultReflectionCachePath(datasetPath: string): string {
  return join(dirname(datasetPath), '.sift', 'reflections.jsonl');
}

export interface ReflectionKeyParts {
  /** `PromptSet.version`: the built-in prompt version or an override's content hash. */
  promptVersion: string;
  teacherModel: string;
  kind: ReflectionKind;
  /** Sampling settings change the answer. */
  temperature: number;
  instruction: string;
  input: string;
  response: string;
}

/**
 * The content address of one teacher reflection. Parts are length-prefixed so no two part lists
 * collide. The endpoint URL is not part of it (the same model behind another URL gives the same
 * kind of answer, and URLs can carry credentials); nor is the API key, ever.
 */
export function reflectionKey(parts: ReflectionKeyParts): string {
  const hash = createHash('sha256');
  for (const part of ['reflection', parts.promptVersion, parts.teacherModel, parts.kind, String(parts.temperature), parts.instruction, parts.input, parts.response]) {
    hash.update(`${part.length}:`);
    hash.update(part);
  }
  return hash.digest('hex').slice(0, 32);
}

/** A finished reflection: the teacher's usable output, as parsed. */
export interface CachedReflection {
  critique: string;
  /** The new instruction (instruction reflections only). */
  instruction?: string;
  response: string;
  /** What the call cost when it was made. */
  usage: TokenUsage;
  structured: boolean;
  /** Epoch ms. */
  at: number;
}

/**
 * An append-only JSONL file of finished reflections, one entry per line: {"k": key, "v": {...}}.
 * The same crash-safety as the score store: each entry is one appended line, written as soon as the
 * reflection is finished (teacher calls are slow and cost money, so nothing is held back); on load
 * a torn or unreadable line is skipped and the next append starts on a fresh line. Later entries
 * win. Only usable output is cached: a reflection that needed a fallback is asked again next run.
 * A cache that cannot be written never fails a reflection (it was paid for): the entry is kept and
 * written by the next append that works; see AppendLog.
 */
export class ReflectionCache {
  private readonly entries = new Map<string, CachedReflection>();
  private readonly file: AppendLog | undefined;
  /** Told when appends start failing (with the error) and when they work again (undefined). */
  onWriteStatus: ((error: Error | undefined) => void) | undefined;
  /** Lines that could not be read at load time (torn writes, hand edits). */
  skippedLines = 0;

  private constructor(readonly path: string | undefined) {
    this.file = path === undefined ? undefined : new AppendLog(path, (error) => this.onWriteStatus?.(error));
  }

  /** A cache that keeps nothing on disk. */
  static memory(): ReflectionCache {
    return new ReflectionCache(undefined);
  }

  static async open(path: string): Promise<ReflectionCache> {
    const cache = new ReflectionCache(path);
    await cache.file!.readLines((line) => {
      if (line.trim() !== '') cache.loadLine(line);
    });
    return cache;
  }

  get size(): number {
    return this.entries.size;
  }

  get(key: string): CachedReflection | undefined {
    return this.entries.get(key);
  }

  has(key: string): boolean {
    return this.entries.has(key);
  }

  /** Remembers a reflection and appends it to the file; resolves when it is on disk or the append failed. */
  put(key: string, value: CachedReflection): Promise<void> {
    this.entries.set(key, value);
    if (!this.file) return Promise.resolve();
    this.file.add(JSON.stringify({ k: key, v: value }));
    return this.file.flush();
  }

  /** Why the last append failed; undefined once one works. */
  get writeError(): Error | undefined {
    return this.file?.writeError;
  }

  /** Entries not on disk yet. */
  get unsaved(): number {
    return this.file?.unsaved ?? 0;
  }

  /** Resolves when every entry put so far is on disk (or its append failed). */
  flush(): Promise<void> {
    return this.file ? this.file.flush() : Promise.resolve();
  }

  async close(): Promise<void> {
    await this.flush();
  }

  private loadLine(line: string): void {
    try {
      const entry = JSON.parse(line) as { k?: unknown; v?: Record<string, unknown> };
      const v = entry.v;
      if (typeof entry.k !== 'string' || !v || typeof v !== 'object' || typeof v.response !== 'string' || typeof v.critique !== 'string') {
        throw new Error('not an entry');
      }
      const usage = (v.usage ?? {}) as Record<string, unknown>;
      this.entries.set(entry.k, {
        critique: v.critique,
        instruction: typeof v.instruction === 'string' ? v.instruction : undefined,
        response: v.response,
        usage: {
          promptTokens: typeof usage.promptTokens === 'number' ? usage.promptTokens : 0,
          completionTokens: typeof usage.completionTokens === 'number' ? usage.completionTokens : 0,
        },
        structured: v.structured === true,
        at: typeof v.at === 'number' ? v.at : 0,
      });
    } catch {
      this.skippedLines++;
    }
  }
}
