import { copySelectedLines } from '../../core/io/copyLines';
import { writeAtomically, writeFileAtomic } from '../../core/io/atomicWrite';
import { applyFilterRules, hasAnyRule, metricsForRules, type FilterCandidate, type FilterDecision, type FilterRules } from '../../core/metrics/filterRules';
import { Interrupted, interruptible } from '../interrupt';
import { checkScoringOutputPaths } from '../outputPaths';
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
  cachedOnly?: boolean;
  quiet?: boolean;
}

export async function filterCommand(file: string, flags: FilterFlags): Promise<number> {
  const datasetPath = requireFile(file, 'dataset');
  const rules: FilterRules = {
    ifdMax: flags.ifdMax === undefined ? undefined : parseNumber(flags.ifdMax, '--ifd-max'),
    rifdMax: flags.rifdMax === undefined ? undefined : parseNumber(flags.rifdMax, '--rifd-max'),
    topFraction: flags.top === undefined ? undefined : parsePercent(flags.top, '--top'),
    dsKeepFraction: flags.dsKeep === undefined ? undefined : parsePercent(flags.dsKeep, '--ds-keep'),
    selfConsistent: flags.selfConsistent,
    dsRule: flags.dsRule === 'repo' ? 'repo' : 'paper',
    ties: flags.ties,
  };
  if (!hasAnyRule(rules)) throw new UsageError('no filter rule given: use --ifd-max, --rifd-max, --top, --ds-keep and/or --self-consistent');
  const metrics = metricsForRules(rules);
  const settings = resolveScoreSettings({ ...flags, metrics: metrics.length > 0 ? metrics.join(',') : 'ifd' });
  settings.config.metrics = metrics;
  if (flags.cachedOnly && !settings.useCache) throw new UsageError('--cached-only uses the score store: it cannot be combined with --no-cache');
  checkScoringOutputPaths(datasetPath, settings, [{ role: '--out', path: flags.out }, { role: '--report', path: flags.report }]);

  const candidates: FilterCandidate[] = [];
  const invalid: FilterDecision[] = [];
  const notStored: FilterDecision[] = [];
  const run = await interruptible((signal) =>
    runScoring(datasetPath, settings, {
      signal,
      quiet: flags.quiet,
      onInvalid: (info, problems) => invalid.push({ line: info.line, kept: false, reason: `invalid: ${problems[0]?.message ?? 'unreadable'}` }),
      onNotStored: flags.cachedOnly ? (info) => notStored.push({ line: info.line, kept: false, reason: 'not scored: no stored score (--cached-only)' }) : undefined,
      onScore: (info, score, record) => {
        candidates.push({ line: info.line, metrics: score.metrics, question: record.pair!.instruction, response: record.pair!.response });
      },
    }),
  );
  if (run instanceof Interrupted) return run.exitCode;
  candidates.sort((a, b) => a.line - b.line);
  const outcome = applyFilterRules(candidates, rules);
  const total = candidates.length + invalid.length + notStored.length;
  if (invalid.length > 0) outcome.dropped.invalid = invalid.length;
  if (notStored.length > 0) outcome.dropped['unscored (--cached-only)'] = notStored.length;

  await writeKeptLines(datasetPath, flags.out, outcome.keptLines);
  if (flags.report) {
    // The only place every reason is worded.
    const decisions = [...outcome.decisions(), ...invalid, ...notStored].sort((a, b) => a.line - b.line);
    const report = { input: file, output: flags.out, kept: outcome.keptLines.size, total, dropped: outcome.dropped, decisions };
    await writeFileAtomic(flags.report, JSON.stringify(report, null, 1) + '\n');
  }
  const lines = [`kept ${outcome.keptLines.size} of ${total} records -> ${flags.out}`];
  for (const [rule, count] of Object.entries(outcome.dropped)) lines.push(`  dropped ${count} by ${rule}`);
  process.stdout.write(lines.join('\n') + '\n');
  return EXIT_OK;
}

/** Second pass over the input: kept lines are copied byte for byte. */
async function writeKeptLines(inputPath: string, outPath: string, keep: Set<number>): Promise<void> {
  await writeAtomically(outPath, (write) => copySelectedLines(inputPath, keep, write));
}
