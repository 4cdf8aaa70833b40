import { relative } from 'node:path';
import { createInterface } from 'node:readline/promises';
import { Option, type Command } from 'commander';
import { writeAtomically } from '../../core/io/atomicWrite';
import { formatCandidateLine } from '../../core/reasoning/sample/candidateLine';
import { createSampler, type SamplerSettings } from '../../core/reasoning/sample/createSampler';
import { MAX_LOCAL_SEED } from '../../core/reasoning/sample/localGenerator';
import { BUILTIN_PROMPTS, DEFAULT_PROMPT, PromptError, loadPrompt, stopStrings } from '../../core/reasoning/sample/prompts';
import { readQuestions } from '../../core/reasoning/sample/questions';
import { describeSamplingEstimate, estimateSampling, planSampling, sampleQuestions, type SamplingRun } from '../../core/reasoning/sample/sampleQuestions';
import { JournalSampleStore, defaultSampleStorePath, type SampleStore } from '../../core/reasoning/sample/sampleStore';
import { BACKEND_NAMES } from '../../core/scoring/backends';
import { SCORING_SETTINGS as S } from '../../protocol/settings';
import { Interrupted, interruptible } from '../interrupt';
import { checkOutputPaths, type NamedPath } from '../outputPaths';
import { packageRoot } from '../packageRoot';
import { Progress } from '../progress';
import { parseLineRanges } from './reflect';
import { warnOnWriteFailure } from '../runScoring';
import { integerFlag, modelFile, requireFile } from '../settings';
import { EXIT_OK, EXIT_RECORDS_FAILED, UsageError, exitWith, oneOf, parseNumber } from '../usage';

export interface SampleFlags {
  out: string;
  k: string;
  temperature: string;
  topP: string;
  seed: string;
  maxTokens: string;
  prompt: string;
  chat?: boolean;
  stop?: string[];
  questionField?: string;
  goldField?: string;
  idField?: string;
  lines?: string;
  backend?: string;
  model?: string;
  url?: string[];
  servedModel?: string;
  concurrency: string;
  batch: string;
  threads?: string;
  cache: boolean;
  store?: string;
  yes?: boolean;
  quiet?: boolean;
}

/** `sift sample`: the student writes k chain-of-thought solutions per question (IWSI's first step). */
export function registerSample(program: Command): void {
  program
    .command('sample <questions>')
    .description('the student writes k chain-of-thought solutions per question (JSONL in, CANDIDATES JSONL out)')
    .requiredOption('--out <file>', 'where to write the candidates: one JSON object per line')
    .option('--k <n>', 'solutions per question (IWSI: 15)', '15')
    .option('--temperature <t>', 'sampling temperature (IWSI: 1.1; 0: greedy)', '1.1')
    .option('--top-p <p>', 'nucleus sampling: keep the smallest set of tokens with this much probability (1: off)', '1')
    .option('--seed <n>', 'sample i of every question is drawn with seed n + i, so a run can be repeated and resumed', '0')
    .option('--max-tokens <n>', 'longest solution, in tokens', '256')
    .option('--prompt <name|file>', `few-shot prompt: ${Object.keys(BUILTIN_PROMPTS).join(', ')}, a .json prompt file, or a text file with {question}`, DEFAULT_PROMPT)
    .option('--chat', "render the prompt with the student's chat template (exemplars as turns) instead of as text")
    .option('--stop <text...>', 'stop strings (\\n for a newline); default: the prompt\'s')
    .option('--question-field <path>', 'field holding the question (dotted path)', 'question')
    .option('--gold-field <path>', 'field holding the reference answer, copied to `gold` when present (dotted path)', 'answer')
    .option('--id-field <path>', 'field holding a question id (default: line-N)')
    .option('--lines <ranges>', 'questions to sample, by line, e.g. 1-100 or 3,7,20-30 (default: every line)')
    .addOption(new Option('--backend <name>', 'where the student runs (default: local, or vllm when --url is given)').choices(BACKEND_NAMES))
    .option('--model <name>', 'local backend: a GGUF file or a pulled model (default: the bundled TinyStories 260K)')
    .option('--url <url...>', 'inference server base URL(s); several = data-parallel replicas')
    .option('--served-model <name>', 'model name on the server (default: the first one it lists)')
    .option('--concurrency <n>', 'requests in flight per server URL: 0 adapts it to each replica\'s latency', String(S.concurrency.default))
    .option('--batch <n>', 'questions per request (vLLM, SGLang)', '16')
    .option('--threads <n>', 'CPU threads for the local backend (default: all cores)')
    .option('--no-cache', 'do not read or write the sample store (.sift/samples.jsonl beside the questions)')
    .option('--store <file>', 'sample store file (default: .sift/samples.jsonl beside the questions)')
    .option('-y, --yes', 'do not ask before sampling on a server')
    .option('-q, --quiet', 'no progress output')
    .action(exitWith(sampleCommand));
}

export async function sampleCommand(file: string, flags: SampleFlags): Promise<number> {
  const questionsPath = requireFile(file, 'questions file');
  const settings = samplerSettings(flags);
  const k = integerFlag(flags.k, { minimum: 1, maximum: 1024 }, '--k');
  const seed = integerFlag(flags.seed, { minimum: 0, maximum: MAX_LOCAL_SEED - (k - 1) }, '--seed');
  const temperature = parseNumber(flags.temperature, '--temperature');
  if (temperature < 0) throw new UsageError('--temperature must be 0 (greedy) or more');
  const topP = parseNumber(flags.topP, '--top-p');
  if (!(topP > 0 && topP <= 1)) throw new UsageError('--top-p must be above 0 and at most 1');
  const maxTokens = integerFlag(flags.maxTokens, { minimum: 1, maximum: 1_000_000 }, '--max-tokens');
  let prompt;
  try {
    prompt = await loadPrompt(flags.prompt);
  } catch (error) {
    if (error instanceof PromptError) throw new UsageError(error.message);
    throw error;
  }
  const chat = flags.chat === true;
  const run: SamplingRun = { k, seed, temperature, topP, maxTokens, prompt, chat, stop: stopStrings(prompt, chat, flags.stop?.map(unescape)) };
  const storePath = flags.cache ? (flags.store ?? defaultSampleStorePath(questionsPath)) : undefined;
  const inputs: NamedPath[] = [{ role: 'questions file', path: questionsPath }];
  if (!BUILTIN_PROMPTS[flags.prompt]) inputs.push({ role: 'prompt file', path: flags.prompt });
  if (settings.modelPath) inputs.push({ role: 'model', path: settings.modelPath });
  const outputs: NamedPath[] = [{ role: '--out', path: flags.out }];
  if (storePath) outputs.push({ role: '--store', path: storePath, createsDirectory: true });
  checkOutputPaths(inputs, outputs);

  const say = (text: string): void => {
    if (!flags.quiet) process.stderr.write(`${text}\n`);
  };
  const selected = flags.lines === undefined ? undefined : parseLineRanges(flags.lines);
  const read = await readQuestions(questionsPath, { question: flags.questionField, gold: flags.goldField, id: flags.idField });
  const questions = selected ? read.questions.filter((q) => selected(q.line)) : read.questions;
  const problems = selected ? read.problems.filter((p) => selected(p.line)) : read.problems;
  const failures = problems.map((p) => `${file}:${p.line}: ${p.message}`);
  const store = await openSampleStore(storePath, say);
  try {
    const result = await interruptible(
      async (signal) => {
        const sampler = await createSampler({ ...settings, onEvent: flags.quiet ? undefined : (m) => process.stderr.write(`${m}\n`) }, packageRoot());
        try {
          const plan = await planSampling(questions, run, sampler, store, signal);
          const estimate = estimateSampling(plan, run, questions.length);
          if (sampler.remote && plan.missing > 0) {
            process.stderr.write(`sift sample: ${describeSamplingEstimate(estimate, run, sampler.modelId, sampler.endpoint).join('\n  ')}\n`);
            if (!flags.yes && process.stdin.isTTY && process.stderr.isTTY && !(await confirm('Proceed? [y/N] '))) return 'cancelled' as const;
          } else if (plan.stored > 0) say(`${plan.stored} of ${plan.stored + plan.missing} sample(s) are in the sample store; drawing the other ${plan.missing}`);
          const progress = new Progress(plan.missing, `sampling ${relative(process.cwd(), questionsPath) || questionsPath}`, flags.quiet, 'samples');
          try {
            return await sampleQuestions(questions, run, sampler, store, plan, { signal, onProgress: (p) => progress.update(p.drawn, p.tokens) });
          } finally {
            progress.stop();
          }
        } finally {
          await sampler.close();
        }
      },
      () => `interrupted: nothing was written; the samples drawn so far are kept${storePath ? ` in ${relative(process.cwd(), storePath) || storePath}` : ' only with the sample store, which --no-cache turned off'}: run the same command again to resume`,
    );
    if (result instanceof Interrupted) return result.exitCode;
    if (result === 'cancelled') {
      process.stderr.write('cancelled: nothing was sampled or written\n');
      return EXIT_OK;
    }
    await writeAtomically(flags.out, async (write) => {
      for (const candidate of result.candidates) await write(formatCandidateLine(candidate) + '\n');
    });
    for (const failure of result.failures) failures.push(`${file}:${failure.line}: ${failure.message}`);
    for (const failure of failures.sort(byLine)) process.stderr.write(`${failure}\n`);
    if (result.failures.some((f) => /context length is only|maximum model length/.test(f.message))) {
      process.stderr.write(`note: a prompt and --max-tokens ${maxTokens} must fit the student's context: a shorter --prompt (fewer exemplars, e.g. qa-0shot) or a lower --max-tokens makes room\n`);
    }
    const answered = result.candidates.filter((c) => c.answer !== null).length;
    const sampledQuestions = new Set(result.candidates.map((c) => c.question_id)).size;
    process.stdout.write(
      `sampled ${sampledQuestions} question(s) × ${k} -> ${flags.out}: ${result.candidates.length} candidate(s), ${answered} with an answer` +
        (failures.length > 0 ? `; ${failures.length} line(s) failed` : '') +
        '\n',
    );
    return failures.length > 0 ? EXIT_RECORDS_FAILED : EXIT_OK;
  } finally {
    await store.close();
    if (store.writeError && store.unsaved > 0) process.stderr.write(`warning: ${store.unsaved} sample(s) could not be saved to the sample store: a re-run draws them again\n`);
  }
}

function samplerSettings(flags: SampleFlags): SamplerSettings {
  const urls = flags.url ?? [];
  const backend = flags.backend ? oneOf(flags.backend, BACKEND_NAMES, '--backend') : urls.length > 0 ? 'vllm' : 'local';
  if (backend !== 'local' && urls.length === 0) throw new UsageError(`--backend ${backend} needs --url URL`);
  if (backend === 'local' && urls.length > 0) throw new UsageError('--url is for server backends; the local backend takes --model PATH');
  if (backend !== 'local' && flags.model) throw new UsageError('--model is for the local backend; a server serves its own model (--served-model NAME picks one)');
  for (const url of urls) {
    if (!/^https?:\/\//i.test(url)) throw new UsageError(`--url must be an http(s) URL (got "${url.replace(/\/\/[^@/]*@/, '//')}")`);
  }
  const threads = flags.threads === undefined ? 0 : integerFlag(flags.threads, S.threads, '--threads');
  return {
    backend,
    modelPath: flags.model ? modelFile(flags.model) : undefined,
    urls,
    servedModel: flags.servedModel,
    apiKey: process.env.SIFT_SCORER_API_KEY || undefined,
    threads: threads > 0 ? threads : undefined,
    concurrency: integerFlag(flags.concurrency, S.concurrency, '--concurrency'),
    promptsPerRequest: integerFlag(flags.batch, { minimum: 1, maximum: 1024 }, '--batch'),
  };
}

async function openSampleStore(path: string | undefined, say: (text: string) => void): Promise<SampleStore> {
  if (!path) return JournalSampleStore.memory();
  const store = await JournalSampleStore.open(path);
  if (store.skippedLines > 0) say(`note: ${store.skippedLines} unreadable line(s) in the sample store were ignored (a torn write is expected after a crash)`);
  store.onWriteStatus = warnOnWriteFailure('the sample store', path);
  return store;
}

/** `\n`, `\t` and `\\` in a `--stop` value, so a newline can be given on a command line. */
function unescape(text: string): string {
  return text.replace(/\\(n|t|\\)/g, (_, c: string) => (c === 'n' ? '\n' : c === 't' ? '\t' : '\\'));
}

function byLine(a: string, b: string): number {
  const line = (s: string): number => Number(/:(\d+):/.exec(s)?.[1] ?? 0);
  return line(a) - line(b);
}

async function confirm(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}
