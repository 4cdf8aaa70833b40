import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { writeFileAtomic } from '../../core/io/atomicWrite';
import { metricsForRules } from '../../core/metrics/filterRules';
import { datasetOverview, filterRulesOf, type OverviewRecord } from '../../core/overview/aggregate';
import { filterCommandLine } from '../../core/overview/command';
import { reportHtml } from '../../core/overview/reportHtml';
import type { OverviewRules } from '../../core/overview/types';
import type { OverviewResult } from '../../protocol/overview';
import { Interrupted, interruptible } from '../interrupt';
import { checkScoringOutputPaths } from '../outputPaths';
import { packageRoot } from '../packageRoot';
import { runScoring } from '../runScoring';
import { requireFile, resolveScoreSettings, type ScoreFlags } from '../settings';
import { EXIT_OK, UsageError, parseNumber, parsePercent } from '../usage';

export interface ReportFlags extends ScoreFlags {
  html?: string;
  ifdMax?: string;
  rifdMax?: string;
  top?: string;
  dsKeep?: string;
  selfConsistent?: boolean;
  rows: string;
  cachedOnly?: boolean;
  quiet?: boolean;
}

/**
 * `sift report FILE --html OUT`: the editor's dataset overview as one self-contained page (the same
 * aggregation and the same drawing code, inlined), for pipelines and sharing. The rules are
 * `sift filter`'s flags; without any, the report shows the distribution with every record kept.
 */
export async function reportCommand(file: string, flags: ReportFlags): Promise<number> {
  const datasetPath = requireFile(file, 'dataset');
  if (!flags.html) throw new UsageError('--html <file> is required');
  const rules: OverviewRules = {};
  if (flags.ifdMax !== undefined) rules.ifdMax = parseNumber(flags.ifdMax, '--ifd-max');
  if (flags.rifdMax !== undefined) rules.rifdMax = parseNumber(flags.rifdMax, '--rifd-max');
  if (flags.top !== undefined) rules.topFraction = parsePercent(flags.top, '--top');
  if (flags.dsKeep !== undefined) rules.dsKeepFraction = parsePercent(flags.dsKeep, '--ds-keep');
  if (flags.selfConsistent) rules.selfConsistent = true;
  const rows = parseNumber(flags.rows, '--rows');
  if (!Number.isInteger(rows) || rows < 1 || rows > 1000) throw new UsageError('--rows expects a whole number from 1 to 1000');

  const settings = resolveScoreSettings(flags);
  const dsRule = flags.dsRule === 'repo' ? 'repo' : 'paper';
  settings.config.metrics = [...new Set([...settings.config.metrics, ...metricsForRules(filterRulesOf(rules, dsRule))])];
  if (settings.config.metrics.includes('ds') && !settings.validPath) throw new UsageError('--ds-keep needs --valid FILE (DS weight is measured against it)');
  if (flags.cachedOnly && !settings.useCache) throw new UsageError('--cached-only uses the score store: it cannot be combined with --no-cache');
  checkScoringOutputPaths(datasetPath, settings, [{ role: '--html', path: flags.html }]);
  const bundle = join(packageRoot(), 'dist', 'webview');
  const [script, style] = await Promise.all([readFile(join(bundle, 'overview.js'), 'utf8'), readFile(join(bundle, 'overview.css'), 'utf8')]).catch(() => {
    throw new Error(`the overview bundle is missing from ${bundle} (build Sift first: npm run build)`);
  });

  const records: OverviewRecord[] = [];
  let invalid = 0;
  const run = await interruptible((signal) =>
    runScoring(datasetPath, settings, {
      signal,
      quiet: flags.quiet,
      onInvalid: () => invalid++,
      // With --cached-only, a record the store lacks is a record without a score yet.
      onNotStored: flags.cachedOnly ? (info) => records.push({ line: info.line, scored: false, metrics: {}, question: '', response: '' }) : undefined,
      onScore: (info, score, record) => records.push({ line: info.line, scored: true, metrics: score.metrics, question: record.pair!.instruction, response: record.pair!.response }),
    }),
  );
  if (run instanceof Interrupted) return run.exitCode;
  records.sort((a, b) => a.line - b.line);
  const data = datasetOverview(records, invalid, rules, { dsRule, rows });
  const name = basename(file);
  const result: OverviewResult = { ...data, version: 0, metrics: settings.config.metrics, dsRule, scoring: false };
  const command = filterCommandLine(file, rules, dsRule, `${name.replace(/\.(jsonl|ndjson)$/i, '')}.selected.jsonl`);
  await writeFileAtomic(flags.html, reportHtml({ script, style, data: { file: name, result, rules, command, generated: new Date().toISOString() } }));
  const c = data.counts;
  process.stdout.write(`kept ${c.kept} of ${c.scored} scored records (${c.records} in the file) -> ${flags.html}\n`);
  return EXIT_OK;
}
