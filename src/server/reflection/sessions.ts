import { createHash } from 'node:crypto';
import {
  BUILT_IN_PRICES,
  DEFAULT_PROMPTS,
  ReflectionCache,
  ReflectionSession,
  TeacherBatchApi,
  TeacherClient,
  defaultReflectionCachePath,
  describeTeacherEvent,
  loadPriceFile,
  loadPromptOverride,
  teacherBaseUrl,
  type PriceTable,
  type PromptSet,
} from '../../core/reflect';
import { displayUrl } from '../../core/net/redact';
import { DEFAULT_REFLECTION_SETTINGS, type ReflectionSettings } from '../../protocol';
import type { SiftDocument } from '../document';
import { resolveSettingPath } from '../settings';
import { NO_TEACHER_MESSAGE, NoTeacherError, ReflectionRequestError } from './errors';

/**
 * The teacher side of reflection in the language server: one teacher client per configuration (its
 * concurrency limit covers every document), and one ReflectionSession per dataset, each with the
 * reflection cache beside its dataset (the store database `.sift/sift.db`, shared with `sift reflect`). The
 * key is kept here only, never logged or returned.
 */
export class TeacherSessions {
  private current: ReflectionSettings = DEFAULT_REFLECTION_SETTINGS;
  private apiKey: string | undefined;
  private identity = '';
  private trusted = true;
  private teacher: TeacherClient | undefined;
  private batches: TeacherBatchApi | undefined;
  /** Prompt sets by the resolved path of `promptsFile` ('' = the built-in prompts). */
  private readonly prompts = new Map<string, Promise<PromptSet>>();
  private readonly sessions = new Map<string, Promise<ReflectionSession>>();

  constructor(
    /** The folder a dataset's relative `promptsFile` is taken from (its workspace folder). */
    private readonly folderOf: (doc: SiftDocument) => string | undefined,
    private readonly info: (text: string) => void,
  ) {}

  get settings(): ReflectionSettings {
    return this.current;
  }

  /**
   * In a restricted workspace (false) a reflection cache serves only what this installation made:
   * a cached reflection that came with the folder is asked of the teacher again, never written into
   * a dataset unchecked.
   */
  setTrusted(trusted: boolean): void {
    this.trusted = trusted;
    for (const session of this.sessions.values()) void session.then((s) => { if (s.cache) s.cache.acceptForeign = trusted; }).catch(() => undefined);
  }

  /** New settings and/or key (`apiKey` undefined: unchanged; '' clears it). Returns true when the teacher changed. */
  configure(settings: ReflectionSettings, apiKey?: string): boolean {
    this.current = settings;
    if (apiKey !== undefined) this.apiKey = apiKey || undefined;
    const keyHash = this.apiKey ? createHash('sha256').update(this.apiKey).digest('hex').slice(0, 12) : '';
    const identity = JSON.stringify([settings.baseUrl, settings.model, settings.structuredOutput, settings.maxConcurrency, settings.promptsFile, keyHash]);
    if (identity === this.identity) return false;
    this.identity = identity;
    this.teacher = undefined;
    this.batches = undefined;
    this.prompts.clear();
    const old = [...this.sessions.values()];
    this.sessions.clear();
    for (const session of old) void session.then((s) => s.cache?.close()).catch(() => undefined);
    return true;
  }

  /** The teacher for log lines: model and endpoint, never a key. */
  describe(): string {
    if (this.missing()) return 'no teacher configured';
    let where: string;
    try {
      where = displayUrl(teacherBaseUrl(this.current.baseUrl));
    } catch {
      where = '(invalid URL)';
    }
    return `teacher ${this.current.model} at ${where}${this.apiKey ? ' (a key is set)' : ''}${this.current.gateBothBelowOne ? ', released gate on' : ''}`;
  }

  /** Why reflection cannot run, or undefined when a teacher is configured. */
  missing(): string | undefined {
    if (!this.current.baseUrl || !this.current.model) return NO_TEACHER_MESSAGE;
    try {
      teacherBaseUrl(this.current.baseUrl);
    } catch {
      return `sift.teacher.baseUrl is not an http(s) URL: ${displayUrl(this.current.baseUrl)}`;
    }
    return undefined;
  }

  /** Finished reflections still being written; resolves when they are on disk. */
  async flush(): Promise<void> {
    const sessions = await Promise.allSettled(this.sessions.values());
    await Promise.allSettled(sessions.map((s) => (s.status === 'fulfilled' ? s.value.cache?.flush() : undefined)));
  }

  /** The session for a dataset: the current teacher and prompts, and the dataset's reflection cache. */
  session(doc: SiftDocument): Promise<ReflectionSession> {
    const missing = this.missing();
    if (missing) return Promise.reject(new NoTeacherError(missing));
    const key = doc.path === undefined ? '' : defaultReflectionCachePath(doc.path);
    let session = this.sessions.get(key);
    if (!session) {
      const identity = this.identity;
      session = this.makeSession(key, this.promptsPath(doc));
      this.sessions.set(key, session);
      // A session that could not be made (an unreadable prompt file) is tried again next time.
      session.catch(() => {
        if (this.identity === identity && this.sessions.get(key) === session) this.sessions.delete(key);
      });
    }
    return session;
  }

  /** The configured teacher's endpoint (as a display URL) and model; undefined when none is. */
  configuredTeacher(): { endpoint: string; model: string } | undefined {
    if (this.missing()) return undefined;
    return { endpoint: displayUrl(teacherBaseUrl(this.current.baseUrl)), model: this.current.model };
  }

  /** The Batch API of the current teacher (its key, its endpoint). */
  batchApi(): TeacherBatchApi {
    const missing = this.missing();
    if (missing) throw new NoTeacherError(missing);
    this.batches ??= new TeacherBatchApi({ url: this.current.baseUrl, apiKey: this.apiKey, onEvent: (event) => this.info(describeTeacherEvent(event)) });
    return this.batches;
  }

  /** Sift's price table, with `sift.teacher.priceFile` (relative to the dataset's folder) over it; read each time, so edits count at once. */
  prices(doc: SiftDocument): Promise<PriceTable> {
    const file = this.current.priceFile;
    return file ? loadPriceFile(resolveSettingPath(file, this.folderOf(doc))) : Promise.resolve(BUILT_IN_PRICES);
  }

  /** The prompt file a dataset's reflections use, resolved against the dataset's own folder; '' = built in. */
  private promptsPath(doc: SiftDocument): string {
    const file = this.current.promptsFile;
    return file ? resolveSettingPath(file, this.folderOf(doc)) : '';
  }

  private async makeSession(cachePath: string, promptsPath: string): Promise<ReflectionSession> {
    const s = this.current;
    this.teacher ??= new TeacherClient({
      url: s.baseUrl,
      model: s.model,
      apiKey: this.apiKey,
      concurrency: s.maxConcurrency,
      onEvent: (event) => this.info(describeTeacherEvent(event)),
    });
    // JSON only: a prompt module would run code in the language server.
    let loading = this.prompts.get(promptsPath);
    if (!loading) {
      loading = promptsPath ? loadPromptOverride(promptsPath, { allowCode: false }) : Promise.resolve(DEFAULT_PROMPTS);
      this.prompts.set(promptsPath, loading);
    }
    const prompts = await loading.catch((error: unknown) => {
      // Read again next time: the file may be fixed meanwhile.
      if (this.prompts.get(promptsPath) === loading) this.prompts.delete(promptsPath);
      throw new ReflectionRequestError(error instanceof Error ? error.message : String(error));
    });
    const cache = cachePath ? await ReflectionCache.openOrKeepInMemory(cachePath) : ReflectionCache.memory();
    cache.acceptForeign = this.trusted;
    if (cache.skippedLines > 0) this.info(`reflection cache ${cachePath}: ${cache.skippedLines} unreadable line(s) ignored`);
    const structured = s.structuredOutput === 'auto' ? 'auto' : s.structuredOutput === 'on';
    this.info(`reflection: ${this.describe()}, prompts ${prompts.version}, cache ${cachePath || 'in memory'}`);
    return new ReflectionSession({ teacher: this.teacher, prompts, cache, structured });
  }
}
