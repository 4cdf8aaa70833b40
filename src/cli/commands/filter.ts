import { copySelectedLines } from '../../core/io/copyLines';
import { AtomicFileWriter, writeFileAtomic } from '../../core/io/atomicWrite';
import { selfConsistency } from '../../core/metrics/consistency';
import { dsKeep, keepBelow, topFraction, type Selection } from '../../core/metrics/select';
import type { MetricName, MetricResult } from '../../core/metrics/types';
import { firstProblem } from '../../core/scoring/recordScore';
import { runScoring } from '../runScoring';
import { requireFile, resolveScoreSettings, type ScoreFlags } from '../settings';
import { EXIT_OK, UsageError, parseNumber, parsePercent } from '../usage';

export interface FilterFlags extends ScoreFlags {
  out: string;
  ifdMax?: string;
  rifdMax?: string;
  top?: string;
  dsKeep?: string;
  selfConsistent?: boolean;
  ties: 'earlier' | 'later';
  report?: string;
  quiet?: boolean;
}

interface Candidate {
  line: number;
  metrics: Partial<Record<MetricName, MetricResult>>;
  question: string;
  response: string;
  problem?: string;
}

interface Decision {
  line: number;
  kept: boolean;
  reason: string;
}

/**
 * Rules apply in a fixed order, each to the survivors of the one before, as the papers chain them:
 * self-consistency (IWSI D_c), then thresholds (Cherry/Superfiltering's IFD < 1 first), then the
 * lowest-DS k% (IWSI), then the top k% by IFD (Cherry: k% of the post-threshold count).
 */
export async function filterCommand(file: string, flags: FilterFlags): Promise<number> {
  const datasetPath = requireFile(file, 'dataset');
  const ifdMax = flags.ifdMax === undefined ? undefined : parseNumber(flags.ifdMax, '--ifd-max');
  const rifdMax = flags.rifdMax === undefined ? undefined : parseNumber(flags.rifdMax, '--rifd-max');
  const top = flags.top === undefined ? undefined : parsePercent(flags.top, '--top');
  const dsFraction = flags.dsKeep === undefined ? undefined : parsePercent(flags.dsKeep, '--ds-keep');
  if ([ifdMax, rifdMax, top, dsFraction].every((x) => x === undefined) && !flags.selfConsistent) {
    throw new UsageError('no filter rule given: use --ifd-max, --rifd-max, --top, --ds-keep and/or --self-consistent');
  }
  const metrics: MetricName[] = [];
  if (ifdMax !== undefined || top !== undefined) metrics.push('ifd');
  if (rifdMax !== undefined) metrics.push('rifd');
  if (dsFraction !== undefined) metrics.push('ds');
  const settings = resolveScoreSettings({ ...flags, metrics: metrics.length > 0 ? metrics.join(',') : 'ifd' });
  if (metrics.length === 0) settings.config.metrics = [];

  const candidates: Candidate[] = [];
  const decisions: Decision[] = [];
  await runScoring(datasetPath, settings, {
    quiet: flags.quiet,
    onInvalid: (info, problems) => decisions.push({ line: info.line, kept: false, reason: `invalid: ${problems[0]?.message ?? 'unreadable'}` }),
    onScore: (info, score, record) => {
      candidates.push({
        line: info.line,
        metrics: score.metrics,
        question: record.pair!.instruction,
        response: record.pair!.response,
        problem: firstProblem(score),
      });
    },
  });
  candidates.sort((a, b) => a.line - b.line);

  let survivors = candidates;
  const dropped = (selection: Selection, rule: string): void => {
    const next: Candidate[] = [];
    selection.decisions.forEach((decision, i) => {
      if (decision.kept) next.push(survivors[i]);
      else decisions.push({ line: survivors[i].line, kept: false, reason: `${rule}: ${decision.reason}` });
    });
    survivors = next;
  };
  if (flags.selfConsistent) {
    const results = selfConsistency(survivors.map((c) => ({ question: c.question, response: c.response })));
    const next: Candidate[] = [];
    results.forEach((result, i) => {
      if (result.agrees) next.push(survivors[i]);
      else {
        const why = result.answer === null ? 'no parsable final answer' : `answer ${result.answer} disagrees with the majority ${result.majority ?? '(none)'} (${result.votes} of ${result.candidates})`;
        decisions.push({ line: survivors[i].line, kept: false, reason: `self-consistency: ${why}` });
      }
    });
    survivors = next;
  }
  if (ifdMax !== undefined) dropped(keepBelow(survivors.map((c) => c.metrics.ifd), ifdMax, { inclusive: false, label: 'IFD' }), 'ifd-max');
  if (rifdMax !== undefined) dropped(keepBelow(survivors.map((c) => c.metrics.rifd), rifdMax, { inclusive: false, label: 'r-IFD' }), 'rifd-max');
  if (dsFraction !== undefined) dropped(dsKeep(survivors.map((c) => c.metrics.ds), dsFraction, settings.dsRule), 'ds-keep');
  if (top !== undefined) dropped(topFraction(survivors.map((c) => c.metrics.ifd), top, { order: 'desc', ties: flags.ties, label: 'IFD' }), 'top');
  for (const c of survivors) decisions.push({ line: c.line, kept: true, reason: 'passed every rule' });
  decisions.sort((a, b) => a.line - b.line);

  const keep = new Set(survivors.map((c) => c.line));
  await writeKeptLines(datasetPath, flags.out, keep);
  if (flags.report) {
    await writeFileAtomic(flags.report, JSON.stringify({ input: file, output: flags.out, kept: keep.size, total: decisions.length, decisions }, null, 1) + '\n');
  }
  printReport(decisions, keep.size, flags.out);
  return EXIT_OK;
}

/** Second pass over the input: kept lines are copied byte for byte. */
async function writeKeptLines(inputPath: string, outPath: string, keep: Set<number>): Promise<void> {
  const writer = new AtomicFileWriter(outPath);
  try {
    await copySelectedLines(inputPath, keep, (bytes) => writer.write(bytes));
    await writer.commit();
  } catch (error) {
    await writer.abort();
    throw error;
  }
}

function printReport(decisions: Decision[], kept: number, out: string): void {
  const reasons = new Map<string, number>();
  for (const d of decisions) {
    if (d.kept) continue;
    const rule = d.reason.split(':')[0];
    reasons.set(rule, (reasons.get(rule) ?? 0) + 1);
  }
  const lines = [`kept ${kept} of ${decisions.length} records -> ${out}`];
  for (const [rule, count] of reasons) lines.push(`  dropped ${count} by ${rule}`);
  process.stdout.write(lines.join('\n') + '\n');
}
