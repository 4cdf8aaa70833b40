import { formatNumber } from '../../core/metrics/scores';
import type { Score } from '../../core/metrics/types';
import { voteQuestions, type QuestionResult } from '../../core/reasoning/questionVotes';
import type { SourcedCandidate } from '../../core/reasoning/readCandidates';
import { dsScore } from '../../core/reasoning/scoreCandidates';
import { SELECT_RULES, selectCandidates, type RuleOutcome, type SelectOptions, type SelectRule } from '../../core/reasoning/selectCandidates';
import { answerReading, candidateLine, loadCandidates, ofTotal, scoreCandidatesCli, writeJson, writeLines, type CandidateFlags, type CandidateScoreFlags, candidateScoreSettings } from '../candidateRun';
import { Interrupted, interruptible } from '../interrupt';
import { checkScoringOutputPaths } from '../outputPaths';
import { requireFile } from '../settings';
import { EXIT_OK, UsageError, oneOf, parseNumber, parsePercent } from '../usage';

export interface SelectFlags extends CandidateScoreFlags, CandidateFlags {
  out: string;
  rule: string;
  keep: string;
  entropyMax?: string;
  report?: string;
}

export async function selectCommand(file: string, flags: SelectFlags): Promise<number> {
  const path = requireFile(file, 'candidates file');
  const reading = answerReading(flags);
  const rule: SelectRule = oneOf(flags.rule, SELECT_RULES, '--rule');
  const keep = parsePercent(flags.keep, '--keep');
  const entropyMax = flags.entropyMax === undefined ? undefined : parseNumber(flags.entropyMax, '--entropy-max');
  if (rule === 'entropy' && entropyMax === undefined) throw new UsageError('--rule entropy needs --entropy-max U (the largest normalised answer entropy kept, IWSI\'s u*)');
  if (entropyMax !== undefined && !(entropyMax >= 0 && entropyMax <= 1)) throw new UsageError(`--entropy-max must be in [0, 1] (got ${flags.entropyMax})`);
  if (rule === 'iwsi' && !flags.valid) throw new UsageError('--rule iwsi needs --valid FILE (a small trusted set whose mean loss anchors DS weight)');
  const settings = candidateScoreSettings(flags, [rule === 'iwsi' ? 'ds' : 'ifd']);
  checkScoringOutputPaths(path, rule === 'iwsi' ? settings : { ...settings, useCache: false }, [
    { role: '--out', path: flags.out },
    { role: '--report', path: flags.report },
  ]);
  const { candidates } = await loadCandidates(path, flags);
  const results = voteQuestions(candidates, { reading });

  if (rule !== 'iwsi') return finish(file, flags, rule, results, { keep, entropyMax, dsRule: settings.dsRule }, undefined);
  // Only the self-consistent candidates need a DS weight (METHODS §5.6): score just those.
  const majority = results.flatMap((r) => r.candidates.filter((_, i) => r.vote.agrees[i]));
  const run = await interruptible((signal) => scoreCandidatesCli(path, majority, settings, ['ds'], { quiet: flags.quiet, signal }));
  if (run instanceof Interrupted) return run.exitCode;
  const ds = new Map<SourcedCandidate, Score>(majority.map((c, i) => [c, dsScore(run.scores[i])]));
  const dsOf = (c: SourcedCandidate): Score => ds.get(c) ?? { value: null, reason: 'not a majority candidate' };
  return finish(file, flags, rule, results, { keep, entropyMax, dsRule: settings.dsRule, dsOf }, run.validMeanLoss);
}

async function finish(
  file: string,
  flags: SelectFlags,
  rule: SelectRule,
  results: QuestionResult[],
  options: SelectOptions,
  validMeanLoss: number | undefined,
): Promise<number> {
  const chosen = selectCandidates(results, rule, options);
  // The baselines cost nothing more, so the report always sets them beside the chosen rule.
  const compared: RuleOutcome[] = [chosen];
  if (rule !== 'majority') compared.push(selectCandidates(results, 'majority'));
  if (rule !== 'entropy' && options.entropyMax !== undefined) compared.push(selectCandidates(results, 'entropy', options));
  const total = chosen.decisions.length;
  await writeLines(flags.out, chosen.decisions.filter((d) => d.kept).map((d) => candidateLine(d.candidate)));
  const figures = compared.map((o) => ruleFigures(o, total, results.length));
  if (flags.report) {
    await writeJson(flags.report, {
      input: file,
      output: flags.out,
      rule,
      keep: rule === 'iwsi' ? options.keep : undefined,
      ds_rule: rule === 'iwsi' ? options.dsRule : undefined,
      valid_mean_loss: validMeanLoss,
      entropy_max: options.entropyMax,
      rules: figures,
      decisions: chosen.decisions.map((d) => ({
        question_id: d.questionId,
        sample_index: d.candidate.record.sample_index,
        line: d.candidate.line,
        kept: d.kept,
        reason: d.reason,
        ...(d.ds === undefined ? {} : { ds: d.ds }),
        ...(d.correct === undefined ? {} : { correct: d.correct }),
      })),
    });
  }
  const lines = [`kept ${ofTotal(chosen.kept, total)} candidates by ${rule} -> ${flags.out}`];
  for (const f of figures) {
    const precision = f.kept_with_gold > 0 ? `, correct ${ofTotal(f.kept_correct, f.kept_with_gold)}` : '';
    const cut = f.threshold === undefined ? '' : `, DS cutoff ${formatNumber(f.threshold)}`;
    lines.push(`  ${f.rule.padEnd(8)} keeps ${String(f.kept).padStart(6)} candidates of ${f.questions_kept} questions${precision}${cut}`);
  }
  process.stdout.write(lines.join('\n') + '\n');
  return EXIT_OK;
}

interface RuleFigures {
  rule: SelectRule;
  kept: number;
  of: number;
  questions_kept: number;
  questions: number;
  kept_with_gold: number;
  kept_correct: number;
  threshold?: number;
}

function ruleFigures(o: RuleOutcome, total: number, questions: number): RuleFigures {
  const f: RuleFigures = { rule: o.rule, kept: o.kept, of: total, questions_kept: o.questionsKept, questions, kept_with_gold: o.keptWithGold, kept_correct: o.keptCorrect };
  if (o.threshold !== undefined) f.threshold = o.threshold;
  return f;
}
