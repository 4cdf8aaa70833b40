import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { writeAtomically } from '../core/io/atomicWrite';
import { formatCandidateLine } from '../core/reasoning/sample/candidateLine';
import { createSampler } from '../core/reasoning/sample/createSampler';
import { BUILTIN_PROMPTS, DEFAULT_PROMPT, PromptError, loadPrompt, stopStrings } from '../core/reasoning/sample/prompts';
import { readQuestionLine } from '../core/reasoning/sample/questions';
import { describeSamplingEstimate, estimateSampling, planSampling, sampleQuestions, type SamplingRun } from '../core/reasoning/sample/sampleQuestions';
import { JournalSampleStore, defaultSampleStorePath } from '../core/reasoning/sample/sampleStore';
import type { SampleQuestionResult, SiftSettings } from '../protocol';
import type { SiftDocument } from './document';
import { editorThreads } from './settings';

/** A record that is not a question, or a run that cannot go on: the message names the line. */
export class SampleQuestionError extends Error {
  override name = 'SampleQuestionError';
}

/** `data.jsonl` -> `data.candidates.jsonl`, beside it. */
export function candidatesPathOf(datasetPath: string): string {
  const name = basename(datasetPath).replace(/\.jsonl?$/i, '');
  return join(dirname(datasetPath), `${name}.candidates.jsonl`);
}

/** The record on 0-based `index` is a question `sift sample` would take (a `question` string); the code action is offered on it. */
export function isQuestionRecord(doc: SiftDocument, index: number): boolean {
  if (doc.records.format.name === 'candidates') return false;
  const line = doc.records.line(index);
  if (!line || line.blank || !line.text.includes('"question"')) return false;
  return !('message' in readQuestionLine(line.text, index + 1));
}

/** The run the settings describe: `sift sample`'s with `--k`, `--temperature`, `--seed`, `--max-tokens` and `--prompt` from them and its other defaults (top-p 1, text prompt, the prompt's stop strings). */
export async function samplingRunOf(settings: SiftSettings, datasetDir: string): Promise<SamplingRun> {
  const name = settings.samplePrompt || DEFAULT_PROMPT;
  let prompt;
  try {
    prompt = await loadPrompt(BUILTIN_PROMPTS[name] || isAbsolute(name) ? name : resolve(datasetDir, name));
  } catch (error) {
    if (error instanceof PromptError) throw new SampleQuestionError(`samplePrompt: ${error.message.replace(/^--prompt:? ?/, '')}`);
    throw error;
  }
  return { k: settings.sampleK, seed: settings.sampleSeed, temperature: settings.sampleTemperature, topP: 1, maxTokens: settings.sampleMaxTokens, prompt, chat: false, stop: stopStrings(prompt, false) };
}

export interface SampleQuestionDeps {
  settings: SiftSettings;
  apiKey: string | undefined;
  packageRoot: string;
  signal: AbortSignal;
  report(message: string, percentage?: number): void;
  log(message: string): void;
}

/**
 * "Sample candidates for this question": the student writes k solutions for the question on line
 * `index` (0-based) exactly as `sift sample FILE --lines N` does (the same prompt, seeds, sample
 * store beside the dataset and CANDIDATES lines), and they are added to `<name>.candidates.jsonl`
 * beside the dataset. That file is rewritten atomically with its earlier lines first; a line it
 * already holds is not added twice, so a repeat adds nothing and a raised k adds only the new samples.
 */
export async function sampleQuestion(doc: SiftDocument, index: number, deps: SampleQuestionDeps): Promise<SampleQuestionResult> {
  const datasetPath = doc.path;
  if (!datasetPath) throw new SampleQuestionError('the dataset is not a file on disk: save it first (the candidates are written beside it)');
  const line = doc.records.line(index);
  if (!line || line.blank) throw new SampleQuestionError(`line ${index + 1} is not a record`);
  const question = readQuestionLine(line.text, index + 1);
  if ('message' in question) throw new SampleQuestionError(`${basename(datasetPath)}:${index + 1}: ${question.message}`);
  const outPath = candidatesPathOf(datasetPath);
  if (outPath === datasetPath || (existsSync(outPath) && realpathSync(outPath) === realpathSync(datasetPath))) {
    throw new SampleQuestionError(`the candidates would be written over the dataset (${basename(outPath)}): rename the dataset`);
  }
  const run = await samplingRunOf(deps.settings, dirname(datasetPath));
  const store = await JournalSampleStore.open(defaultSampleStorePath(datasetPath));
  try {
    const s = deps.settings;
    deps.report(`loading the student (${s.backend})…`);
    const sampler = await createSampler(
      {
        backend: s.backend,
        modelPath: s.modelPath || undefined,
        urls: s.endpointUrls,
        servedModel: s.servedModel || undefined,
        apiKey: deps.apiKey,
        threads: editorThreads(s),
        concurrency: s.concurrency,
        onEvent: deps.log,
      },
      deps.packageRoot,
    );
    let result;
    let plan;
    try {
      plan = await planSampling([question], run, sampler, store, deps.signal);
      const total = plan.missing;
      // A remote run says what it will cost before it runs (as `sift sample` does): in the log, and
      // in the progress notification, which has the Cancel button, for as long as it runs.
      let limit = '';
      if (s.backend !== 'local' && total > 0) {
        const estimate = estimateSampling(plan, run, 1);
        deps.log(`sampling line ${index + 1}: ${describeSamplingEstimate(estimate, run, sampler.modelId, sampler.endpoint).join('; ')}`);
        limit = ` of at most ${estimate.maxCompletionTokens.toLocaleString('en-US')}`;
      }
      deps.report(total === 0 ? `all ${run.k} samples are in the sample store` : `0 / ${total} samples${limit ? ` (0${limit} tokens)` : ''}`, 0);
      result = await sampleQuestions([question], run, sampler, store, plan, {
        signal: deps.signal,
        onProgress: (p) => deps.report(`${p.drawn} / ${total} samples (${p.tokens}${limit} tokens)`, Math.floor((100 * p.drawn) / Math.max(1, total))),
      });
    } finally {
      await sampler.close();
    }
    if (result.failures.length > 0) throw new SampleQuestionError(result.failures.map((f) => `${basename(datasetPath)}:${f.line}: ${f.message}`).join('; '));
    const earlier = existsSync(outPath) ? readFileSync(outPath, 'utf8') : '';
    const have = new Set(earlier.split(/\r?\n/));
    const added = result.candidates.map(formatCandidateLine).filter((l) => !have.has(l));
    await writeAtomically(outPath, async (write) => {
      if (earlier !== '') await write(earlier.endsWith('\n') ? earlier : `${earlier}\n`);
      for (const l of added) await write(`${l}\n`);
    });
    return { path: outPath, uri: pathToFileURL(outPath).href, added: added.length, candidates: result.candidates.length, drawn: plan.missing, stored: plan.stored };
  } finally {
    await store.close();
  }
}
