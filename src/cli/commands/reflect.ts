import { relative, resolve } from 'node:path';
import { createInterface } from 'node:readline/promises';
import { Option, type Command } from 'commander';
import { writeFileAtomic } from '../../core/io/atomicWrite';
import { METHOD_VERSION } from '../../core/metrics';
import {
  BATCH_RETRIES,
  BUILT_IN_PRICES,
  FileReflection,
  FileTeacherBatchJobs,
  PriceFileError,
  REFLECTION_MODES,
  ReflectionCache,
  ReflectionSession,
  TeacherBatchApi,
  TeacherClient,
  defaultReflectionCachePath,
  defaultTeacherBatchJobsPath,
  describeTeacherEvent,
  estimateReflection,
  jobDatasetName,
  jobsOf,
  loadPriceFile,
  type BatchRetry,
  type FileBatchOptions,
  type PriceTable,
  type ReflectionMode,
  type TeacherBatchOutcome,
  type TeacherUsage,
} from '../../core/reflect';
import { createScorer } from '../../core/scoring/createScorer';
import { REFLECTION_SETTINGS } from '../../protocol/settings';
import { Interrupted, interruptible } from '../interrupt';
import { checkOutputPaths, scoreStorePath, type NamedPath } from '../outputPaths';
import { packageRoot } from '../packageRoot';
import { Progress } from '../progress';
import { describeEstimate, reflectSummary } from '../reflectSummary';
import { closeScoreStore, openScoreStore, warnOnWriteFailure } from '../runScoring';
import { requireFile, resolveScoreSettings, type ResolvedScoreSettings, type ScoreFlags } from '../settings';
import { cancelBatches, describeBatchEvent, describeCost, printBatchStatus } from '../teacherBatch';
import { DEFAULT_TEACHER_URL, OPENAI_ORIGIN, teacherApiKey, teacherOptions, type TeacherFlags, type TeacherOptions } from '../teacherOptions';
import { EXIT_OK, EXIT_RECORDS_FAILED, UsageError, exitWith, oneOf, parseNumber } from '../usage';

export interface ReflectFlags extends ScoreFlags, TeacherFlags {
  out?: string;
  inPlace?: boolean;
  lines?: string;
  mode: string;
  structured: boolean;
  gate?: boolean;
  reflectionCache: boolean;
  reflectionCacheFile?: string;
  report?: string;
  yes?: boolean;
  quiet?: boolean;
  batch?: boolean;
  batchStatus?: boolean;
  batchCancel?: boolean;
  batchRetry: string;
  batchPoll: string;
  prices?: string;
}

/** Adds `sift reflect` to a command that already has the scoring options (they pick the student). */
export function registerReflect(command: Command): Command {
  return command
    .description('rewrite records with a teacher LLM and keep a rewrite only when the student model prefers it (Selective Reflection-Tuning)')
    .option('--out <file>', 'where to write the dataset: every line copied, the reflected lines replaced by the kept version')
    .option('--in-place', 'replace the dataset itself (atomically, once every record is done) instead of writing --out')
    .option('--lines <ranges>', 'lines to reflect, e.g. 1-100 or 3,7,20-30 (default: every record)')
    .addOption(new Option('--mode <mode>', 'instruction: stage 1 only; response: stage 2 only; selective: both').choices([...REFLECTION_MODES]).default('selective'))
    .option('--teacher-url <url>', `OpenAI-compatible base URL (default: $SIFT_TEACHER_URL or ${DEFAULT_TEACHER_URL}); the key comes from $SIFT_TEACHER_API_KEY, or $OPENAI_API_KEY for ${OPENAI_ORIGIN} only`)
    .option('--teacher-model <name>', 'teacher model name (default: $SIFT_TEACHER_MODEL)')
    .option('--teacher-concurrency <n>', 'teacher calls in flight at once', String(REFLECTION_SETTINGS.maxConcurrency.default))
    .option('--teacher-timeout <seconds>', 'per-request timeout', '120')
    .option('--teacher-retries <n>', 'retries of a call after 429, 5xx, timeouts and connection errors', '5')
    .option('--max-tokens <n>', 'largest teacher completion per call', '2048')
    .option('--temperature <t>', 'teacher sampling temperature', '0')
    .option('--no-structured', 'ask for delimited sections instead of JSON-schema output (default: JSON, falling back when the endpoint rejects it)')
    .option('--prompts <file>', 'override the teacher prompts: a .json (or .js) file with instruction / response / responseWithInput {system, user} templates')
    .option('--gate', 'the released selection rule: keep only rewritten pairs with IFD < 1 and r-IFD < 1, drop the other records')
    .option('--no-reflection-cache', 'ignore and do not write the reflection cache')
    .option('--reflection-cache-file <file>', 'reflection cache database (default: .sift/sift.db beside the dataset, with the scores)')
    .option('--report <file>', 'write a JSON report of every decision: candidates, scores, reasons, fallbacks, token usage')
    .option('--batch', 'send the teacher requests through the Batch API: about half the price, results within 24 h; the same command picks up a pending batch')
    .addOption(new Option('--batch-retry <how>', 'failed or expired batch requests: sent again in another batch, asked synchronously, or reported by line').choices([...BATCH_RETRIES]).default('batch'))
    .option('--batch-poll <seconds>', 'first wait between polls of a batch; it grows to 2 min while nothing changes', '10')
    .option('--batch-status', "show this dataset's pending teacher batches and exit")
    .option('--batch-cancel', "cancel this dataset's pending teacher batches, forget them and exit")
    .option('--prices <file>', "teacher prices for the cost estimate: a JSON file of US$ per 1M tokens per model, added to Sift's table")
    .option('-y, --yes', 'do not ask for confirmation before calling the teacher')
    .action(exitWith(reflectCommand));
}

export async function reflectCommand(file: string, flags: ReflectFlags): Promise<number> {
  const datasetPath = requireFile(file, 'dataset');
  if (flags.batchStatus || flags.batchCancel) return batchAdministration(datasetPath, flags);
  const settings = resolveScoreSettings({ ...flags, metrics: 'ifd,rifd', valid: undefined });
  const outPath = reflectOutputPath(datasetPath, settings, flags);
  const mode = oneOf<ReflectionMode>(flags.mode, REFLECTION_MODES, '--mode');
  const lines = flags.lines === undefined ? undefined : parseLineRanges(flags.lines);
  const options = await teacherOptions(flags);
  const prices = await priceTable(flags.prices);
  const batch = flags.batch ? batchSettings(datasetPath, options, flags) : undefined;
  const say = (text: string): void => {
    if (!flags.quiet) process.stderr.write(`${text}\n`);
  };

  const reflection = await FileReflection.read(datasetPath, { format: settings.format, lines });
  const cache = await openReflectionCache(datasetPath, flags, say);
  const teacher = new TeacherClient({
    ...options,
    apiKey: teacherApiKey(options.url, process.env, (text) => process.stderr.write(`${text}\n`)),
    onEvent: flags.quiet ? undefined : (event) => process.stderr.write(`${describeTeacherEvent(event)}\n`),
  });
  const session = new ReflectionSession({ ...options, teacher, cache, structured: flags.structured ? 'auto' : false });
  const estimate = estimateReflection(session, reflection.pairs, mode);
  process.stderr.write(`${describeEstimate(estimate, mode, teacher.model, teacher.endpoint)}\n${describeCost(estimate, teacher.model, prices, batch !== undefined, mode)}\n`);
  // A pending batch was paid for when it was submitted: picking it up asks nothing new first.
  const pending = batch ? (await jobsOf(batch.jobs, jobDatasetName(datasetPath), { endpoint: batch.api.endpoint, model: teacher.model })).length : 0;
  if (estimate.calls > 0 && pending === 0 && !flags.yes && process.stdin.isTTY && process.stderr.isTTY && !(await confirm('Proceed? [y/N] '))) {
    process.stderr.write('cancelled: nothing was called or written\n');
    return EXIT_OK;
  }

  const started = Date.now();
  let run: ReflectRun | Interrupted = { student: { model: '', endpoint: '' } };
  try {
    if (reflection.selected.length === 0) say('no records selected: the output is a copy of the input');
    else {
      run = await interruptible(
        (signal) => reflectWithStudent(reflection, mode, session, settings, flags, batch, signal),
        () => {
          if (batch) return `interrupted: nothing was written; the teacher batch goes on at ${batch.api.endpoint}: run the same command again to pick it up (--batch-status shows it, --batch-cancel cancels it)`;
          const where = cache.path ? ` in ${relative(process.cwd(), cache.path) || cache.path}` : '';
          return `interrupted: nothing was written; ${reflection.results.size} record(s) had finished and their reflections are cached${where}: run the same command again to resume`;
        },
      );
    }
  } finally {
    await cache.close();
    if (cache.writeError && cache.unsaved > 0) process.stderr.write(`warning: ${cache.unsaved} reflection(s) could not be cached: a re-run asks the teacher for them again\n`);
  }
  if (run instanceof Interrupted) return run.exitCode;

  const failures = await reflection.write(outPath);
  const totals = reflection.totals();
  const usage = batch ? recordUsage(reflection, teacher.usage.failedCalls) : teacher.usage;
  if (flags.report) {
    const report = {
      input: file,
      output: flags.inPlace ? file : flags.out,
      mode,
      releasedGate: flags.gate === true,
      teacher: { endpoint: teacher.endpoint, model: teacher.model, promptVersion: options.prompts.version, structured: session.structuredSupport, maxTokens: options.maxTokens, temperature: options.temperature },
      student: { ...run.student, template: settings.config.template, boundary: settings.config.boundary, ifdVariant: settings.config.ifdVariant },
      estimate,
      ...(run.batch ? { batch: { batchIds: run.batch.batchIds, submittedRequests: run.batch.submittedRequests, retry: batch!.retry } } : {}),
      totals: { ...totals, invalid: reflection.invalid.length, failed: failures.length, seconds: (Date.now() - started) / 1000 },
      usage: { ...usage, cachedReflections: totals.cachedReflections },
      records: reflection.recordReports(),
    };
    await writeFileAtomic(flags.report, JSON.stringify(report, null, 1) + '\n');
  }
  for (const failure of failures) process.stderr.write(`${file}:${failure.line}: ${failure.error}\n`);
  const output = flags.inPlace ? `${file} (in place)` : flags.out!;
  process.stdout.write(reflectSummary({ mode, output, releasedGate: flags.gate === true, records: reflection.selected.length, totals, failures, teacherUsage: usage, batchIds: run.batch?.batchIds }) + '\n');
  return failures.length > 0 ? EXIT_RECORDS_FAILED : EXIT_OK;
}

interface ReflectRun {
  /** The student's identity, for the report. */
  student: { model: string; endpoint: string };
  batch?: TeacherBatchOutcome;
}

/** `--batch`: where the batches go, where they are recorded, and how failures are handled. */
function batchSettings(datasetPath: string, options: TeacherOptions, flags: ReflectFlags): FileBatchOptions {
  const seconds = parseNumber(flags.batchPoll, '--batch-poll');
  if (!(seconds > 0)) throw new UsageError('--batch-poll must be a positive number of seconds');
  return {
    api: teacherBatchApi(options, flags),
    jobs: FileTeacherBatchJobs.forDataset(datasetPath),
    retry: oneOf<BatchRetry>(flags.batchRetry, BATCH_RETRIES, '--batch-retry'),
    pollMs: seconds * 1000,
    onEvent: flags.quiet ? undefined : (event) => process.stderr.write(`${describeBatchEvent(event)}\n`),
  };
}

function teacherBatchApi(options: TeacherOptions, flags: ReflectFlags): TeacherBatchApi {
  return new TeacherBatchApi({
    url: options.url,
    apiKey: teacherApiKey(options.url, process.env, () => undefined),
    retries: options.retries,
    onEvent: flags.quiet ? undefined : (event) => process.stderr.write(`${describeTeacherEvent(event)}\n`),
  });
}

/** `--batch-status` and `--batch-cancel`: no run, no output file. */
async function batchAdministration(datasetPath: string, flags: ReflectFlags): Promise<number> {
  const options = await teacherOptions(flags);
  const api = teacherBatchApi(options, flags);
  const jobs = FileTeacherBatchJobs.forDataset(datasetPath);
  const dataset = jobDatasetName(datasetPath);
  if (flags.batchCancel) await cancelBatches(api, jobs, dataset);
  else await printBatchStatus(api, jobs, dataset);
  return EXIT_OK;
}

/** Sift's price table, with the user's price file over it. */
async function priceTable(path: string | undefined): Promise<PriceTable> {
  if (!path) return BUILT_IN_PRICES;
  try {
    return await loadPriceFile(requireFile(path, 'price file'));
  } catch (error) {
    if (error instanceof PriceFileError) throw new UsageError(error.message);
    throw error;
  }
}

/** What the teacher answered for the records, summed (a batch run's answers come from several batches). */
function recordUsage(reflection: FileReflection, failedCalls: number): TeacherUsage {
  const usage: TeacherUsage = { calls: 0, failedCalls, promptTokens: 0, completionTokens: 0 };
  for (const result of reflection.results.values()) {
    usage.calls += result.usage.calls;
    usage.promptTokens += result.usage.promptTokens;
    usage.completionTokens += result.usage.completionTokens;
  }
  return usage;
}

/**
 * Where the result goes, checked before the teacher is called: `--out`, or the dataset itself with
 * `--in-place` (said explicitly, since it replaces the original); never onto another input or output.
 */
function reflectOutputPath(datasetPath: string, settings: ResolvedScoreSettings, flags: ReflectFlags): string {
  if (flags.inPlace && flags.out) throw new UsageError('use either --out FILE or --in-place, not both');
  if (!flags.inPlace && !flags.out) throw new UsageError('--out FILE is required (or --in-place to replace the dataset)');
  const inputs: NamedPath[] = [{ role: 'dataset', path: datasetPath }];
  if (flags.prompts) inputs.push({ role: 'prompt file', path: flags.prompts });
  if (settings.scorer.modelPath) inputs.push({ role: 'model', path: settings.scorer.modelPath });
  const outputs: NamedPath[] = [];
  if (flags.out) outputs.push({ role: '--out', path: flags.out });
  if (flags.report) outputs.push({ role: '--report', path: flags.report });
  const storePath = settings.useCache ? scoreStorePath(datasetPath, settings) : undefined;
  if (storePath) outputs.push({ role: '--store', path: storePath, createsDirectory: true });
  // Scores and reflections share the store database by default: one output, not two.
  const cachePath = flags.reflectionCache ? (flags.reflectionCacheFile ?? defaultReflectionCachePath(datasetPath)) : undefined;
  if (cachePath && (storePath === undefined || resolve(cachePath) !== resolve(storePath))) {
    outputs.push({ role: '--reflection-cache-file', path: cachePath, createsDirectory: true });
  }
  if (flags.batch) outputs.push({ role: 'the teacher batch list', path: defaultTeacherBatchJobsPath(datasetPath), createsDirectory: true });
  checkOutputPaths(inputs, outputs);
  return flags.out ?? datasetPath;
}

/** The reflection cache the flags ask for (none on disk with `--no-reflection-cache`). */
async function openReflectionCache(datasetPath: string, flags: ReflectFlags, say: (text: string) => void): Promise<ReflectionCache> {
  const cache = flags.reflectionCache ? await ReflectionCache.openOrKeepInMemory(flags.reflectionCacheFile ?? defaultReflectionCachePath(datasetPath)) : ReflectionCache.memory();
  if (cache.skippedLines > 0) say(`note: ${cache.skippedLines} unreadable line(s) in the old reflections.jsonl were ignored (a torn write is expected after a crash)`);
  if (cache.path) cache.onWriteStatus = warnOnWriteFailure('the reflection cache', cache.path);
  return cache;
}

/** The student judges every candidate (the teacher answering at once, or through batches). */
async function reflectWithStudent(
  reflection: FileReflection,
  mode: ReflectionMode,
  session: ReflectionSession,
  settings: ResolvedScoreSettings,
  flags: ReflectFlags,
  batch: FileBatchOptions | undefined,
  signal: AbortSignal,
): Promise<ReflectRun> {
  const scorer = await createScorer({ ...settings.scorer, onEvent: flags.quiet ? undefined : (m) => process.stderr.write(`${m}\n`) }, packageRoot());
  const store = await openScoreStore(reflection.path, settings, flags.quiet);
  try {
    const run = {
      session,
      student: { scorer, store, config: settings.config, methodVersion: METHOD_VERSION },
      releasedGate: flags.gate,
      signal,
      concurrency: Number(flags.teacherConcurrency),
    };
    const student = { model: scorer.modelId, endpoint: scorer.endpoint };
    // A batch run reports what its batches do instead: a bar would sit still for hours.
    if (batch) return { student, batch: await reflection.reflectInBatches(mode, run, batch) };
    const progress = new Progress(reflection.selected.length, `reflecting ${relative(process.cwd(), reflection.path) || reflection.path}`, flags.quiet);
    let tokens = 0;
    await reflection
      .reflect(mode, {
        ...run,
        onRecord: (_line, result) => {
          tokens += result.usage.promptTokens + result.usage.completionTokens;
        },
        onProgress: (done) => progress.update(done, tokens),
      })
      .finally(() => progress.stop());
    return { student };
  } finally {
    await closeScoreStore(store);
    await scorer.close();
  }
}

/** `1-100`, `3,7,20-30`: 1-based inclusive line ranges, as a membership test. */
export function parseLineRanges(text: string): (line: number) => boolean {
  const ranges: [number, number][] = [];
  for (const part of text.split(',').map((p) => p.trim())) {
    const m = /^(\d+)(?:\s*-\s*(\d+))?$/.exec(part);
    if (!m) throw new UsageError(`--lines expects ranges like 1-100 or 3,7,20-30 (got "${text}")`);
    const start = Number(m[1]);
    const end = m[2] === undefined ? start : Number(m[2]);
    if (start < 1 || end < start) throw new UsageError(`--lines: "${part}" is not a range of line numbers from 1`);
    ranges.push([start, end]);
  }
  return (line) => ranges.some(([a, b]) => line >= a && line <= b);
}

async function confirm(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}
