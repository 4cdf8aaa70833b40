import { voteQuestions, type QuestionResult } from '../../core/reasoning/questionVotes';
import type { SourcedCandidate } from '../../core/reasoning/readCandidates';
import { readGoldFile, goldFieldOf } from '../../core/reasoning/goldSource';
import { splitByGold, tdgRecord, type SplitResult } from '../../core/reasoning/split';
import { answerReading, candidateLine, loadCandidates, ofTotal, writeJson, writeLines, type CandidateFlags } from '../candidateRun';
import { checkOutputPaths, type NamedPath } from '../outputPaths';
import { requireFile } from '../settings';
import { EXIT_OK, UsageError } from '../usage';

export interface SplitFlags extends CandidateFlags {
  gold?: string;
  goldField?: string;
  outPositive?: string;
  outNegative?: string;
  tdg?: string;
  maxLength?: string;
  report?: string;
}

/** Candidates whose split differs from the label their source data carried (`is_correct`). */
export interface LabelComparison {
  labelled: number;
  agree: number;
  differ: { question_id: string; sample_index: number; model?: string; line: number; answer: string | null; gold: string | null; is_correct: boolean }[];
}

export async function splitCommand(file: string, flags: SplitFlags): Promise<number> {
  const path = requireFile(file, 'candidates file');
  const reading = answerReading(flags);
  if (flags.gold && flags.goldField) throw new UsageError('use either --gold FILE or --gold-field NAME, not both');
  if (!flags.outPositive && !flags.outNegative && !flags.tdg && !flags.report) throw new UsageError('nothing to write: give --out-positive, --out-negative, --tdg and/or --report');
  const maxLength = flags.maxLength === undefined ? undefined : positiveInteger(flags.maxLength, '--max-length');
  const goldPath = flags.gold ? requireFile(flags.gold, 'gold file') : undefined;
  const inputs: NamedPath[] = [{ role: 'candidates file', path }];
  if (goldPath) inputs.push({ role: 'gold file', path: goldPath });
  const outputs = [
    { role: '--out-positive', path: flags.outPositive },
    { role: '--out-negative', path: flags.outNegative },
    { role: '--tdg', path: flags.tdg },
    { role: '--report', path: flags.report },
  ].flatMap((o) => (o.path ? [{ role: o.role, path: o.path }] : []));
  checkOutputPaths(inputs, outputs);

  const { input, candidates } = await loadCandidates(path, flags);
  if (flags.goldField && input === 'gsm8k-solutions') throw new UsageError(`--gold-field reads a field of each candidate's line; ${file} holds several candidates per line, with their gold in "ground_truth"`);
  let goldOf: ((group: SourcedCandidate[]) => string | undefined) | undefined;
  if (goldPath) {
    const gold = await readGoldFile(goldPath);
    goldOf = (group) => gold.get(group[0].record.question_id, group[0].record.question);
  } else if (flags.goldField) {
    const field = flags.goldField;
    goldOf = (group) => goldFieldOf(group, field);
  }
  const results = voteQuestions(candidates, { reading, goldOf });
  if (!results.some((r) => r.goldText !== undefined)) {
    throw new UsageError(`no question has a gold answer: the candidates have no "gold" field${goldPath ? ' and the gold file matches none of them' : ''}; give --gold FILE or --gold-field NAME`);
  }
  const split = splitByGold(results, { maxLength });
  if (flags.outPositive) await writeLines(flags.outPositive, split.positive.map(candidateLine));
  if (flags.outNegative) await writeLines(flags.outNegative, split.negative.map(candidateLine));
  if (flags.tdg) await writeLines(flags.tdg, results.flatMap((r) => { const t = tdgRecord(r); return t ? [JSON.stringify(t)] : []; }));
  const labels = compareWithLabels(results);
  if (flags.report) {
    await writeJson(flags.report, {
      input: file,
      answer_format: reading.format,
      compat: reading.compat,
      max_length: maxLength ?? null,
      totals: split.totals,
      questions: results.length,
      questions_with_both: split.questionsWithBoth,
      ...(labels.labelled > 0 ? { is_correct: labels } : {}),
      per_question: split.perQuestion.map((q) => ({ question_id: q.questionId, ...q.counts, ...(q.noGoldReason ? { no_gold: q.noGoldReason } : {}) })),
    });
  }
  process.stdout.write(splitSummaryText(split, results.length, labels).join('\n') + '\n');
  return EXIT_OK;
}

/** Where the source data carried `is_correct`, how often the split agrees with it. */
export function compareWithLabels(results: readonly QuestionResult[]): LabelComparison {
  const out: LabelComparison = { labelled: 0, agree: 0, differ: [] };
  for (const r of results) {
    r.candidates.forEach((c, i) => {
      const label = c.record.is_correct;
      if (label === undefined || r.correct === undefined) return;
      out.labelled++;
      if (r.correct[i] === label) {
        out.agree++;
        return;
      }
      out.differ.push({
        question_id: r.questionId,
        sample_index: c.record.sample_index,
        ...(c.record.model === undefined ? {} : { model: c.record.model }),
        line: c.line,
        answer: r.answers[i]?.text ?? null,
        gold: r.gold?.text ?? null,
        is_correct: label,
      });
    });
  }
  return out;
}

function splitSummaryText(split: SplitResult, questions: number, labels: LabelComparison): string[] {
  const t = split.totals;
  const lines = [`${questions} questions: ${t.positive} positive, ${t.negative} negative candidates; ${split.questionsWithBoth} questions have both`];
  if (t.noGold > 0) lines.push(`  ${t.noGold} candidates of questions without a readable gold answer are on neither side`);
  if (t.tooLong > 0) lines.push(`  ${t.tooLong} candidates dropped by --max-length`);
  if (labels.labelled > 0) {
    lines.push(`  agrees with the source's is_correct on ${ofTotal(labels.agree, labels.labelled)} candidates`);
    for (const d of labels.differ.slice(0, 10)) {
      lines.push(`    differs: question ${d.question_id} sample ${d.sample_index}${d.model ? ` (${d.model})` : ''}: answer ${d.answer ?? '(none)'}, gold ${d.gold ?? '(none)'}, is_correct ${String(d.is_correct)}`);
    }
    if (labels.differ.length > 10) lines.push(`    … ${labels.differ.length - 10} more in --report`);
  }
  return lines;
}

function positiveInteger(value: string, flag: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n) || n < 1) throw new UsageError(`${flag} expects an integer of 1 or more (got "${value}")`);
  return n;
}
