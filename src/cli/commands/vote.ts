import { summarizeVotes, voteQuestions, voteRecord, type VoteSummary } from '../../core/reasoning/questionVotes';
import { VOTE_WEIGHTS, metricsForWeight, voteScore, type VoteWeight } from '../../core/reasoning/scoreCandidates';
import { WEIGHT_FORMS, type WeightForm } from '../../core/reasoning/vote';
import { answerReading, loadCandidates, ofTotal, scoreCandidatesCli, writeJson, writeLines, type CandidateFlags, type CandidateScoreFlags, candidateScoreSettings } from '../candidateRun';
import { Interrupted, interruptible } from '../interrupt';
import { checkScoringOutputPaths } from '../outputPaths';
import { requireFile } from '../settings';
import { EXIT_OK, UsageError, oneOf } from '../usage';

export interface VoteFlags extends CandidateScoreFlags, CandidateFlags {
  out?: string;
  stats?: string;
  weight?: string;
  weightForm: string;
}

export async function voteCommand(file: string, flags: VoteFlags): Promise<number> {
  const path = requireFile(file, 'candidates file');
  const reading = answerReading(flags);
  const weight: VoteWeight | undefined = flags.weight === undefined ? undefined : oneOf(flags.weight, VOTE_WEIGHTS, '--weight');
  const form: WeightForm = oneOf(flags.weightForm, WEIGHT_FORMS, '--weight-form');
  if (weight === 'ds' && !flags.valid) throw new UsageError('--weight ds needs --valid FILE (a small trusted set whose mean loss anchors DS weight)');
  const settings = candidateScoreSettings(flags, weight ? metricsForWeight(weight) : ['ifd']);
  // Nothing is scored without --weight, so the store is neither read nor written.
  checkScoringOutputPaths(path, weight ? settings : { ...settings, useCache: false }, [
    { role: '--out', path: flags.out },
    { role: '--stats', path: flags.stats },
  ]);
  const { candidates } = await loadCandidates(path, flags);

  let scoreOf: ((index: number) => number | null) | undefined;
  if (weight) {
    const run = await interruptible((signal) => scoreCandidatesCli(path, candidates, settings, metricsForWeight(weight), { quiet: flags.quiet, signal }));
    if (run instanceof Interrupted) return run.exitCode;
    scoreOf = (index) => voteScore(run.scores[index], weight);
  }
  const indexOf = new Map(candidates.map((c, i) => [c, i]));
  const results = voteQuestions(candidates, {
    reading,
    scoreOf: scoreOf ? (c) => scoreOf(indexOf.get(c)!) : undefined,
    weightForm: form,
  });
  const summary = summarizeVotes(results);
  if (flags.out) await writeLines(flags.out, results.map((r) => JSON.stringify(voteRecord(r))));
  if (flags.stats) await writeJson(flags.stats, { input: file, answer_format: reading.format, compat: reading.compat, weight: weight ?? null, weight_form: weight ? form : null, ...summary });
  process.stdout.write(voteSummaryText(summary, weight, form).join('\n') + '\n');
  return EXIT_OK;
}

export function voteSummaryText(s: VoteSummary, weight: VoteWeight | undefined, form: WeightForm): string[] {
  const lines = [
    `${s.questions} questions, ${s.candidates} candidates; readable answers: ${ofTotal(s.parsed, s.candidates)}`,
    `  unanimous ${s.unanimous}, tied ${s.tied}, no readable answer ${s.noAnswer}`,
    `  mean agreement ${s.meanAgreement === null ? '-' : s.meanAgreement.toFixed(3)}, mean normalised entropy ${s.meanNormalizedEntropy === null ? '-' : s.meanNormalizedEntropy.toFixed(3)}`,
  ];
  if (s.withGold > 0) {
    lines.push(`against gold (${s.withGold} questions with a readable gold answer):`);
    lines.push(`  majority vote correct ${ofTotal(s.majorityCorrect, s.withGold)}`);
    if (s.weightedCorrect !== undefined) lines.push(`  ${weight}-weighted vote (${form}) correct ${ofTotal(s.weightedCorrect, s.withGold)}`);
    lines.push(`  some candidate correct ${ofTotal(s.anyCorrect, s.withGold)}; candidates correct ${ofTotal(s.candidatesCorrect, s.candidatesWithGold)}`);
  }
  return lines;
}
