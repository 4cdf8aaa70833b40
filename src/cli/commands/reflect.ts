import { relative } from 'node:path';
import { createInterface } from 'node:readline/promises';
import { Option, type Command } from 'commander';
import { isScorable, parseFile } from '../../core/dataset/parse';
import type { FormatSpec, TrainingPair } from '../../core/dataset/types';
import { AtomicFileWriter, writeFileAtomic } from '../../core/io/atomicWrite';
import { METHOD_VERSION } from '../../core/metrics';
import {
  ApplyPairError,
  DEFAULT_PROMPTS,
  PromptOverrideError,
  REFLECTION_MODES,
  ReflectionCache,
  ReflectionSession,
  Reflector,
  TeacherClient,
  defaultReflectionCachePath,
  estimateReflection,
  loadPromptOverride,
  recordLine,
  rewriteLines,
  teacherBaseUrl,
  type LineEdit,
  type PromptSet,
  type RecordReflection,
  type ReflectionEstimate,
  type ReflectionMode,
  type TeacherEvent,
} from '../../core/reflect';
import { createScorer } from '../../core/scoring/createScorer';
import { displayUrl } from '../../core/net/redact';
import { REFLECTION_SETTINGS } from '../../protocol/settings';
import { checkOutputPaths, scoreStorePath, type NamedPath } from '../outputPaths';
import { closeScoreStore, openScoreStore, warnOnWriteFailure } from '../runScoring';
import { abortOnStopSignals } from '../interrupt';
import { packageRoot } from '../packageRoot';
import { Progress } from '../progress';
import { integerFlag, requireFile, resolveScoreSettings, type ResolvedScoreSettings, type ScoreFlags } from '../settings';
import { EXIT_OK, EXIT_RECORDS_FAILED, UsageError, oneOf, parseNumber } from '../usage';

export interface ReflectFlags extends ScoreFlags {
  out?: string;
  inPlace?: boolean;
  lines?: string;
  mode: string;
  teacherUrl?: string;
  teacherModel?: string;
  teacherConcurrency: string;
  teacherTimeout: string;
  teacherRetries: string;
  maxTokens: string;
  temperature: string;
  structured: boolean;
  prompts?: string;
  gate?: boolean;
  reflectionCache: boolean;
  reflectionCacheFile?: string;
  report?: string;
  yes?: boolean;
  quiet?: boolean;
}

const DEFAULT_TEACHER_URL = 'https://api.openai.com/v1';
/** The only origin `OPENAI_API_KEY` is sent to. */
const OPENAI_ORIGIN = 'https://api.openai.com';

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
    .option('--reflection-cache-file <file>', 'reflection cache (default: .sift/reflections.jsonl beside the dataset)')
    .option('--report <file>', 'write a JSON report of every decision: candidates, scores, reasons, fallbacks, token usage')
    .option('-y, --yes', 'do not ask for confirmation before calling the teacher')
    .action(async (file: string, flags: ReflectFlags) => {
      process.exitCode = await reflectCommand(file, flags);
    });
}

interface SelectedRecord {
  line: number;
  offset: number;
  text: string;
  value: unknown;
  pair: TrainingPair;
}

interface LineFailure {
  line: number;
  error: string;
}

interface TeacherOptions {
  url: string;
  model: string;
  concurrency: number;
  timeoutMs: number;
  retries: number;
  maxTokens: number;
  temperature: number;
  prompts: PromptSet;
}

export async function reflectCommand(file: string, flags: ReflectFlags): Promise<number> {
  const datasetPath = requireFile(file, 'dataset');
  const settings = resolveScoreSettings({ ...flags, metrics: 'ifd,rifd', valid: undefined });
  const outPath = reflectOutputPath(datasetPath, settings, flags);
  const mode = oneOf<ReflectionMode>(flags.mode, REFLECTION_MODES, '--mode');
  const lines = flags.lines === undefined ? undefined : parseLineRanges(flags.lines);
  const options = await teacherOptions(flags);
  const say = (text: string): void => {
    if (!flags.quiet) process.stderr.write(`${text}\n`);
  };

  const { selected, invalid, format } = await readSelection(datasetPath, settings.format, lines);
  const cache = flags.reflectionCache ? await ReflectionCache.open(flags.reflectionCacheFile ?? defaultReflectionCachePath(datasetPath)) : ReflectionCache.memory();
  if (cache.skippedLines > 0) say(`note: ${cache.skippedLines} unreadable line(s) in the reflection cache were ignored (a torn write is expected after a crash)`);
  if (cache.path) cache.onWriteStatus = warnOnWriteFailure('the reflection cache', cache.path);
  const teacher = new TeacherClient({
    ...options,
    apiKey: teacherApiKey(options.url, process.env, (text) => process.stderr.write(`${text}\n`)),
    onEvent: flags.quiet ? undefined : (event) => process.stderr.write(`${describeTeacherEvent(event)}\n`),
  });
  const session = new ReflectionSession({ ...options, teacher, cache, structured: flags.structured ? 'auto' : false });
  const estimate = estimateReflection(session, selected.map((r) => r.pair), mode);
  process.stderr.write(`${describeEstimate(estimate, mode, teacher.model, teacher.endpoint)}\n`);
  if (estimate.calls > 0 && !flags.yes && process.stdin.isTTY && process.stderr.isTTY && !(await confirm('Proceed? [y/N] '))) {
    process.stderr.write('cancelled: nothing was called or written\n');
    return EXIT_OK;
  }

  const started = Date.now();
  const results = new Map<number, RecordReflection>();
  const student = { model: '', endpoint: '' };
  const abort = new AbortController();
  const signals = abortOnStopSignals(abort);
  try {
    if (selected.length === 0) say('no records selected: the output is a copy of the input');
    else Object.assign(student, await runBatch(datasetPath, selected, mode, session, settings, flags, abort.signal, results));
  } catch (error) {
    if (!abort.signal.aborted) throw error;
    const where = cache.path ? ` in ${relative(process.cwd(), cache.path) || cache.path}` : '';
    process.stderr.write(`interrupted: nothing was written; ${results.size} record(s) had finished and their reflections are cached${where}: run the same command again to resume\n`);
    return signals.exitCode();
  } finally {
    signals.dispose();
    await cache.close();
    if (cache.writeError && cache.unsaved > 0) process.stderr.write(`warning: ${cache.unsaved} reflection(s) could not be cached: a re-run asks the teacher for them again\n`);
  }

  const failures = await writeOutput(datasetPath, outPath, selected, results, format, invalid);
  const totals = summarize(selected.map((r) => results.get(r.line)).filter((r): r is RecordReflection => r !== undefined));
  if (flags.report) {
    const report = {
      input: file,
      output: flags.inPlace ? file : flags.out,
      mode,
      releasedGate: flags.gate === true,
      teacher: { endpoint: teacher.endpoint, model: teacher.model, promptVersion: options.prompts.version, structured: session.structuredSupport, maxTokens: options.maxTokens, temperature: options.temperature },
      student: { ...student, template: settings.config.template, boundary: settings.config.boundary, ifdVariant: settings.config.ifdVariant },
      estimate,
      totals: { ...totals, invalid: invalid.length, failed: failures.length, seconds: (Date.now() - started) / 1000 },
      usage: { ...teacher.usage, cachedReflections: totals.cachedReflections },
      records: [
        ...selected.map((r) => reportEntry(r.line, results.get(r.line))),
        ...invalid.map((r) => ({ line: r.line, error: `not reflected: ${r.error}` })),
      ].sort((a, b) => a.line - b.line),
    };
    await writeFileAtomic(flags.report, JSON.stringify(report, null, 1) + '\n');
  }
  for (const failure of failures) process.stderr.write(`${file}:${failure.line}: ${failure.error}\n`);
  const n = (x: number): string => x.toLocaleString('en-US');
  const out = [
    `reflected ${selected.length} record(s) (${mode}) -> ${flags.inPlace ? `${file} (in place)` : flags.out}`,
    `  rewritten: ${totals.changed} (instruction stage kept ${totals.instructionKept}, response stage kept ${totals.responseKept})`,
    `  kept original: ${totals.unchanged}`,
  ];
  if (flags.gate) out.push(`  dropped by the released rule: ${totals.dropped}`);
  if (totals.fallbacks > 0) out.push(`  teacher output fell back to the original text: ${totals.fallbacks} field(s) (see the report)`);
  if (failures.length > 0) out.push(`  failed: ${failures.length}`);
  out.push(
    `  teacher: ${teacher.usage.calls} call(s), ${n(teacher.usage.promptTokens)} prompt + ${n(teacher.usage.completionTokens)} completion tokens, ${totals.cachedReflections} reflection(s) from the cache`,
  );
  process.stdout.write(out.join('\n') + '\n');
  return failures.length > 0 ? EXIT_RECORDS_FAILED : EXIT_OK;
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
  if (settings.useCache) outputs.push({ role: '--store', path: scoreStorePath(datasetPath, settings), createsDirectory: true });
  if (flags.reflectionCache) {
    outputs.push({ role: '--reflection-cache-file', path: flags.reflectionCacheFile ?? defaultReflectionCachePath(datasetPath), createsDirectory: true });
  }
  checkOutputPaths(inputs, outputs);
  return flags.out ?? datasetPath;
}

/**
 * The teacher's key. `SIFT_TEACHER_API_KEY` was set for the teacher, so it goes to whatever
 * --teacher-url says. `OPENAI_API_KEY` is set in many shells for OpenAI alone: sent to any other
 * URL (a typo, a URL copied from a repository's docs) it would hand the user's OpenAI key to that
 * server, so it goes to OpenAI's own origin only.
 */
export function teacherApiKey(url: string, env: NodeJS.ProcessEnv, say: (text: string) => void): string | undefined {
  if (env.SIFT_TEACHER_API_KEY) return env.SIFT_TEACHER_API_KEY;
  if (!env.OPENAI_API_KEY) return undefined;
  if (new URL(url).origin === OPENAI_ORIGIN) return env.OPENAI_API_KEY;
  say(`note: OPENAI_API_KEY is sent to ${OPENAI_ORIGIN} only, not to ${displayUrl(url)}; set SIFT_TEACHER_API_KEY for this teacher`);
  return undefined;
}

async function teacherOptions(flags: ReflectFlags): Promise<TeacherOptions> {
  const url = flags.teacherUrl ?? process.env.SIFT_TEACHER_URL ?? DEFAULT_TEACHER_URL;
  try {
    teacherBaseUrl(url);
  } catch {
    throw new UsageError(`--teacher-url must be an http(s) URL (got "${displayUrl(url)}")`);
  }
  const model = flags.teacherModel ?? process.env.SIFT_TEACHER_MODEL;
  if (!model) throw new UsageError('--teacher-model NAME is required (or set SIFT_TEACHER_MODEL)');
  const timeoutSeconds = parseNumber(flags.teacherTimeout, '--teacher-timeout');
  if (!(timeoutSeconds > 0)) throw new UsageError('--teacher-timeout must be a positive number of seconds');
  const retries = Number(flags.teacherRetries);
  if (!Number.isInteger(retries) || retries < 0) throw new UsageError('--teacher-retries expects a non-negative integer');
  const temperature = parseNumber(flags.temperature, '--temperature');
  if (temperature < 0 || temperature > 2) throw new UsageError('--temperature must be from 0 to 2');
  let prompts: PromptSet = DEFAULT_PROMPTS;
  if (flags.prompts) {
    try {
      prompts = await loadPromptOverride(requireFile(flags.prompts, 'prompt file'));
    } catch (error) {
      if (error instanceof PromptOverrideError) throw new UsageError(error.message);
      throw error;
    }
  }
  return {
    url,
    model,
    concurrency: integerFlag(flags.teacherConcurrency, REFLECTION_SETTINGS.maxConcurrency, '--teacher-concurrency'),
    timeoutMs: timeoutSeconds * 1000,
    retries,
    maxTokens: positiveInteger(flags.maxTokens, '--max-tokens'),
    temperature,
    prompts,
  };
}

/** Pass 1: the selected records (the output pass copies everything else byte for byte). */
async function readSelection(
  path: string,
  given: FormatSpec | undefined,
  lines: ((line: number) => boolean) | undefined,
): Promise<{ selected: SelectedRecord[]; invalid: LineFailure[]; format: FormatSpec }> {
  let format: FormatSpec | undefined = given;
  const selected: SelectedRecord[] = [];
  const invalid: LineFailure[] = [];
  for await (const record of parseFile(path, given, { onFormat: (f) => (format = f) })) {
    if (record.blank || (lines && !lines(record.line))) continue;
    if (!isScorable(record) || !record.pair || record.offset === undefined) {
      const problem = record.problems.find((p) => p.severity === 'error') ?? record.problems[0];
      invalid.push({ line: record.line, error: problem?.reason ?? problem?.message ?? 'not a scorable record' });
      continue;
    }
    selected.push({ line: record.line, offset: record.offset, text: record.text, value: record.value, pair: record.pair });
  }
  return { selected, invalid, format: format ?? { name: 'alpaca' } };
}

/** The student judges every candidate; returns the student's identity for the report. */
async function runBatch(
  datasetPath: string,
  selected: SelectedRecord[],
  mode: ReflectionMode,
  session: ReflectionSession,
  settings: ResolvedScoreSettings,
  flags: ReflectFlags,
  signal: AbortSignal,
  results: Map<number, RecordReflection>,
): Promise<{ model: string; endpoint: string }> {
  const scorer = await createScorer({ ...settings.scorer, onEvent: flags.quiet ? undefined : (m) => process.stderr.write(`${m}\n`) }, packageRoot());
  const store = await openScoreStore(datasetPath, settings, flags.quiet);
  try {
    const reflector = new Reflector({ session, student: { scorer, store, config: settings.config, methodVersion: METHOD_VERSION }, releasedGate: flags.gate });
    const progress = new Progress(selected.length, `reflecting ${relative(process.cwd(), datasetPath) || datasetPath}`, flags.quiet);
    let tokens = 0;
    await reflector.reflectBatch(
      selected.map((r) => ({ id: r.line, pair: r.pair })),
      mode,
      {
        signal,
        concurrency: Number(flags.teacherConcurrency),
        onRecord: (line, result) => {
          results.set(line, result);
          tokens += result.usage.promptTokens + result.usage.completionTokens;
        },
        onProgress: (done) => progress.update(done, tokens),
      },
    ).finally(() => progress.stop());
    return { model: scorer.modelId, endpoint: scorer.endpoint };
  } finally {
    await closeScoreStore(store);
    await scorer.close();
  }
}

/**
 * Pass 2: the output, atomically: kept rewrites replace their line, records the released gate
 * dropped are left out, every other line is copied byte for byte. Returns every failure by line.
 */
async function writeOutput(
  datasetPath: string,
  outPath: string,
  selected: SelectedRecord[],
  results: Map<number, RecordReflection>,
  format: FormatSpec,
  invalid: LineFailure[],
): Promise<LineFailure[]> {
  const edits: LineEdit[] = [];
  const failures: LineFailure[] = [...invalid];
  for (const record of selected) {
    const result = results.get(record.line);
    if (!result) continue;
    if (result.error) failures.push({ line: record.line, error: result.error });
    if (result.kept === null) {
      edits.push({ offset: record.offset, original: record.text, replacement: undefined });
    } else if (result.changed && result.keptPair) {
      try {
        edits.push({ offset: record.offset, original: record.text, replacement: recordLine(record.value, format, result.keptPair) });
      } catch (error) {
        if (!(error instanceof ApplyPairError)) throw error;
        result.error = `cannot write the kept pair back into the record: ${error.message}`;
        failures.push({ line: record.line, error: result.error });
      }
    }
  }
  const writer = new AtomicFileWriter(outPath);
  try {
    await rewriteLines(datasetPath, edits, (bytes) => writer.write(bytes));
    await writer.commit();
  } catch (error) {
    await writer.abort();
    throw error;
  }
  return failures.sort((a, b) => a.line - b.line);
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

function positiveInteger(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${flag} expects a positive integer (got "${value}")`);
  return n;
}

async function confirm(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}

function describeEstimate(estimate: ReflectionEstimate, mode: ReflectionMode, model: string, endpoint: string): string {
  const n = (x: number): string => x.toLocaleString('en-US');
  const cached = estimate.cachedCalls > 0 ? `, ${n(estimate.cachedCalls)} more answered by the reflection cache` : '';
  return (
    `sift reflect: ${n(estimate.records)} record(s), mode ${mode}: at most ${n(estimate.calls)} teacher call(s) to ${model} at ${endpoint}${cached}\n` +
    `  estimated tokens: ~${n(estimate.promptTokens)} prompt + ~${n(estimate.completionTokens)} completion = ~${n(estimate.totalTokens)} ` +
    `(prompt characters / 4 plus an expected answer; retries not included)`
  );
}

function describeTeacherEvent(event: TeacherEvent): string {
  if (event.type === 'retry') {
    return `teacher: ${event.message}; retrying in ${(event.delayMs / 1000).toFixed(1)} s (attempt ${event.attempt} of ${event.maxAttempts})`;
  }
  return `teacher: ${event.message}; giving up after ${event.attempts} attempts`;
}

interface Totals {
  changed: number;
  unchanged: number;
  dropped: number;
  instructionKept: number;
  responseKept: number;
  fallbacks: number;
  cachedReflections: number;
}

function summarize(results: RecordReflection[]): Totals {
  const totals: Totals = { changed: 0, unchanged: 0, dropped: 0, instructionKept: 0, responseKept: 0, fallbacks: 0, cachedReflections: 0 };
  for (const r of results) {
    if (r.kept === null) totals.dropped++;
    else if (r.changed) totals.changed++;
    else totals.unchanged++;
    for (const d of r.decisions) {
      if (d.chosen === d.between[1] && r.kept !== null) {
        if (d.stage === 'instruction') totals.instructionKept++;
        else totals.responseKept++;
      }
    }
    for (const c of r.candidates) totals.fallbacks += c.fallbacks.length;
    totals.cachedReflections += r.usage.cachedReflections;
  }
  return totals;
}

/** One record of the report: the result without the kept pair's history (the record has it). */
function reportEntry(line: number, result: RecordReflection | undefined): { line: number } & Record<string, unknown> {
  if (!result) return { line, error: 'not reflected' };
  const { keptPair: _keptPair, ...rest } = result;
  return { line, ...rest };
}
