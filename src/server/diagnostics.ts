import { DiagnosticSeverity, type Diagnostic } from 'vscode-languageserver';
import type { Problem } from '../core/dataset/types';
import { formatNumber } from '../core/metrics/scores';
import type { MetricName } from '../core/metrics/types';
import type { SiftSettings } from '../protocol';
import type { SiftDocument } from './document';
import { formatCount, METRIC_LABELS } from './presentation';

/** VS Code shows at most 1000 diagnostics per file; half of that keeps the Problems view usable. */
export const MAX_DIAGNOSTICS = 500;
export const SOURCE = 'sift';

const SEVERITY: Record<Problem['severity'], DiagnosticSeverity> = {
  error: DiagnosticSeverity.Error,
  warning: DiagnosticSeverity.Warning,
  info: DiagnosticSeverity.Information,
};

export interface DiagnosticContext {
  settings: SiftSettings;
  /** Metrics being scored (DS only with a valid set). */
  scored: readonly MetricName[];
  /** The scoring run's own failure for a metric of every record (e.g. the DS valid set): not repeated per line. */
  globalReasons: ReadonlySet<string>;
}

/**
 * Problems of a document, most severe first: every parse and schema problem at its exact range;
 * record-level warnings from the core (empty response, no assistant turn); IFD at or above
 * `ifdWarnAt`; and records the metrics cannot score, with the reason. Scores themselves are never
 * diagnostics (they are inlay hints and colours). Capped at MAX_DIAGNOSTICS plus one summary.
 */
export function documentDiagnostics(doc: SiftDocument, ctx: DiagnosticContext): Diagnostic[] {
  if (doc.tooLarge !== undefined) return [tooLargeDiagnostic(doc.tooLarge)];
  const bySeverity: Diagnostic[][] = [[], [], [], []];
  const add = (d: Diagnostic): void => {
    bySeverity[(d.severity ?? DiagnosticSeverity.Error) - 1].push(d);
  };
  const { records } = doc;
  const warnAt = ctx.settings.ifdWarnAt;
  const showsIfd = ctx.settings.metrics.includes('ifd');
  for (let i = 0; i < records.lineCount; i++) {
    const line = records.line(i)!;
    if (line.blank) continue;
    for (const p of line.problems) {
      add({
        range: { start: { line: i, character: doc.column(i, p.startColumn) }, end: { line: i, character: doc.column(i, p.endColumn) } },
        severity: SEVERITY[p.severity],
        code: p.code,
        source: SOURCE,
        message: p.reason ?? p.message,
      });
    }
    const score = doc.scoreOf(line);
    if (!score) continue;
    const whole = { start: { line: i, character: doc.column(i, 0) }, end: { line: i, character: doc.lineEnd(i) } };
    const ifd = score.metrics.ifd?.value;
    if (showsIfd && typeof ifd === 'number' && ifd >= warnAt) {
      add({
        range: whole,
        severity: DiagnosticSeverity.Warning,
        code: 'ifd-not-helpful',
        source: SOURCE,
        message: `IFD ${formatNumber(ifd, warnAt)} ≥ ${formatNumber(warnAt)}: the instruction does not help the student predict the response`,
      });
    }
    const reasons = new Map<string, MetricName[]>();
    for (const metric of ctx.scored) {
      const result = score.metrics[metric];
      if (!result || result.value !== null || ctx.globalReasons.has(result.reason)) continue;
      reasons.set(result.reason, [...(reasons.get(result.reason) ?? []), metric]);
    }
    for (const [reason, metrics] of reasons) {
      add({
        range: whole,
        severity: DiagnosticSeverity.Information,
        code: 'unscorable',
        source: SOURCE,
        message: `${metrics.map((m) => METRIC_LABELS[m]).join(', ')} cannot be computed: ${reason}`,
      });
    }
  }
  const all = bySeverity.flat();
  if (all.length <= MAX_DIAGNOSTICS) return all;
  const shown = all.slice(0, MAX_DIAGNOSTICS);
  const hidden = all.slice(MAX_DIAGNOSTICS);
  shown.push(summaryDiagnostic(hidden, doc.path));
  return shown;
}

function summaryDiagnostic(hidden: Diagnostic[], path: string | undefined): Diagnostic {
  const counts = [0, 0, 0, 0];
  for (const d of hidden) counts[(d.severity ?? 1) - 1]++;
  const parts = (['error', 'warning', 'note', 'hint'] as const)
    .map((word, i) => (counts[i] > 0 ? `${formatCount(counts[i])} ${word}${counts[i] === 1 ? '' : 's'}` : ''))
    .filter(Boolean);
  const first = hidden[0].range.start.line + 1;
  const file = path ? `"${path}"` : 'FILE';
  return {
    range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } },
    severity: hidden[0].severity,
    code: 'more-problems',
    source: SOURCE,
    message:
      `${formatCount(hidden.length)} more problems are not shown (${parts.join(', ')}; the first on line ${first}): ` +
      `the editor shows at most ${MAX_DIAGNOSTICS} per file. \`sift score ${file}\` lists them all.`,
  };
}

export function tooLargeDiagnostic(chars: number): Diagnostic {
  return {
    range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } },
    severity: DiagnosticSeverity.Information,
    code: 'too-large',
    source: SOURCE,
    message: tooLargeMessage(chars),
  };
}

export function tooLargeMessage(chars: number): string {
  return (
    `This file has ${formatCount(chars)} characters, more than an editor hands to extensions (50,000,000): ` +
    'Sift does not check or score it here. Run `sift score FILE` (or `sift filter`, `sift stats`) in a terminal.'
  );
}
