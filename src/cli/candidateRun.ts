import { relative } from 'node:path';
import { writeAtomically, writeFileAtomic } from '../core/io/atomicWrite';
import { METHOD_VERSION } from '../core/metrics';
import type { MetricName } from '../core/metrics/types';
import { ANSWER_FORMATS, type AnswerFormat, type AnswerReading } from '../core/reasoning/answers';
import { formatCandidate } from '../core/reasoning/candidate';
import { CANDIDATE_INPUTS, readCandidates, type CandidateInput, type SourcedCandidate } from '../core/reasoning/readCandidates';
import { scoreCandidates } from '../core/reasoning/scoreCandidates';
import type { RecordScore } from '../core/scoring/recordScore';
import { Progress } from './progress';
import { pipelineShape, withScoringSession } from './runScoring';
import { SCORING_SETTINGS as S } from '../protocol/settings';
import { resolveScoreSettings, type ResolvedScoreSettings, type ScoreFlags } from './settings';
import { UsageError, oneOf } from './usage';

/** Flags every reasoning command shares. */
export interface CandidateFlags {
  input?: string;
  answerFormat: string;
  iwsiCompat?: boolean;
  tdgCompat?: boolean;
  quiet?: boolean;
}

/** `--answer-format` with its compat flag: `--iwsi-compat` for numeric and choice, `--tdg-compat` for math. */
export function answerReading(flags: CandidateFlags): AnswerReading {
  const format: AnswerFormat = oneOf(flags.answerFormat, ANSWER_FORMATS, '--answer-format');
  if (flags.iwsiCompat && flags.tdgCompat) throw new UsageError('--iwsi-compat and --tdg-compat are for different answer formats: give one');
  if (flags.iwsiCompat && format !== 'numeric' && format !== 'choice') throw new UsageError(`--iwsi-compat reproduces IWSI's numeric and multiple-choice reading; it does not apply to --answer-format ${format}`);
  if (flags.tdgCompat && format !== 'math') throw new UsageError(`--tdg-compat reproduces TDG's MATH answer reading; it needs --answer-format math (got ${format})`);
  return { format, compat: flags.iwsiCompat === true || flags.tdgCompat === true };
}

/** The scoring flags of `vote` and `select` (which lack the dataset-only ones), resolved for `metrics`. */
export type CandidateScoreFlags = Omit<ScoreFlags, 'metrics' | 'format' | 'fieldMap' | 'ifdVariant' | 'chatDirectFrame' | 'turnScore'>;

export function candidateScoreSettings(flags: CandidateScoreFlags, metrics: MetricName[]): ResolvedScoreSettings {
  return resolveScoreSettings({
    ...flags,
    metrics: metrics.join(','),
    ifdVariant: S.ifdVariant.default,
    chatDirectFrame: S.chatDirectFrame.default,
    turnScore: 'last',
  });
}

export async function loadCandidates(path: string, flags: CandidateFlags): Promise<{ input: CandidateInput; candidates: SourcedCandidate[] }> {
  const input = flags.input === undefined ? undefined : oneOf(flags.input, CANDIDATE_INPUTS, '--input');
  const loaded = await readCandidates(path, input);
  if (loaded.candidates.length === 0) throw new UsageError(`no candidates in ${path}`);
  return loaded;
}

/**
 * A kept candidate as an output line: its input line byte for byte when the input has one candidate
 * per line (CANDIDATES or qa), else the candidate as a CANDIDATES line.
 */
export function candidateLine(c: SourcedCandidate): string {
  return c.sourceText ?? formatCandidate(c.record);
}

export async function writeLines(path: string, lines: Iterable<string>): Promise<void> {
  await writeAtomically(path, async (write) => {
    for (const line of lines) await write(line + '\n');
  });
}

export async function writeJson(path: string, value: unknown): Promise<void> {
  await writeFileAtomic(path, JSON.stringify(value, null, 1) + '\n');
}

/** Scores the candidates with the student (store beside the candidates file), with a progress bar. */
export async function scoreCandidatesCli(
  path: string,
  candidates: SourcedCandidate[],
  settings: ResolvedScoreSettings,
  metrics: MetricName[],
  options: { quiet?: boolean; signal?: AbortSignal },
): Promise<{ scores: RecordScore[]; validMeanLoss?: number; modelId: string }> {
  const run = { ...settings, config: { ...settings.config, metrics } };
  return withScoringSession(path, run, options, async (session) => {
    const progress = new Progress(candidates.length, `scoring candidates of ${relative(process.cwd(), path) || path}`, options.quiet);
    let done = 0;
    let tokens = 0;
    const { scores, stats } = await scoreCandidates(candidates, {
      ...session,
      config: run.config,
      methodVersion: METHOD_VERSION,
      signal: options.signal,
      ...pipelineShape(settings, session.scorer),
      onScored: (score) => {
        for (const loss of Object.values(score.losses)) if (!score.cached && loss) tokens += loss.n;
        progress.update(++done, tokens);
      },
    }).finally(() => progress.stop());
    if (!options.quiet) for (const note of stats.notes) process.stderr.write(`note: ${note}\n`);
    return { scores, validMeanLoss: session.metricSettings.validMeanLoss, modelId: session.scorer.modelId };
  });
}

/** "12 of 40 (30%)", or "0 of 0". */
export function ofTotal(n: number, total: number): string {
  return total === 0 ? `${n} of 0` : `${n} of ${total} (${(Math.round((1000 * n) / total) / 10).toString()}%)`;
}
