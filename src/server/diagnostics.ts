import { DiagnosticSeverity, type Diagnostic } from 'vscode-languageserver';
import type { Problem } from '../core/dataset/types';
import { formatNumber } from '../core/metrics/scores';
import type { MetricName } from '../core/metrics/types';
import { MAX_DOCUMENT_CHARS, type SiftSettings } from '../protocol';
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

const SCORE_SEVERITY: Record<SiftSettings['scoreDiagnostics'], DiagnosticSeverity | undefined> = {
  off: undefined,
  hint: DiagnosticSeverity.Hint,
  information: DiagnosticSeverity.Information,
};

export interface DiagnosticContext {
  settings: SiftSettings;
  /** Metrics being scored (DS only with a valid set). */
  scored: readonly MetricName[];
  /** Metrics no record has a value for, for a reason of the whole run (DS without its valid set): not repeated per line. */
  unavailable: ReadonlySet<MetricName>;
}

/**
 * Problems of a document, most severe first: every parse and schema problem at its exact range and
 * record-level warnings from the core (empty response, no assistant turn). Score-based notes (IFD at
 * or above `ifdWarnAt`, records a metric cannot score) only with `scoreDiagnostics` on, at its
 * severity: a score is not a problem with the file, and on real data most records would be flagged.
 * Capped at MAX_DIAGNOSTICS plus one summary.
 */
export function documentDiagnostics(doc: SiftDocument, ctx: DiagnosticContext): Diagnostic[] {
  if (doc.tooLarge !== undefined) return [tooLargeDiagnostic(doc.tooLarge)];
  // Only the first MAX_DIAGNOSTICS + 1 of each severity can be shown or head the summary; the rest
  // are counted (a 100k-line file can have tens of thousands of problems).
  const bySeverity: Diagnostic[][] = [[], [], [], []];
  const counts = [0, 0, 0, 0];
  /** Counts a problem of this severity; true when it should also be built and kept. */
  const keep = (severity: DiagnosticSeverity): boolean => {
    counts[severity - 1]++;
    return bySeverity[severity - 1].length <= MAX_DIAGNOSTICS;
  };
  const add = (d: Diagnostic): void => {
    bySeverity[(d.severity ?? DiagnosticSeverity.Error) - 1].push(d);
  };
  const { records } = doc;
  const warnAt = ctx.settings.ifdWarnAt;
  const showsIfd = ctx.settings.metrics.includes('ifd');
  const scoreSeverity = SCORE_SEVERITY[ctx.settings.scoreDiagnostics];
  for (let i = 0; i < records.lineCount; i++) {
    const line = records.line(i)!;
    if (line.blank) continue;
    for (const p of line.problems) {
      if (!keep(SEVERITY[p.severity])) continue;
      add({
        range: { start: { line: i, character: doc.column(i, p.startColumn) }, end: { line: i, character: doc.column(i, p.endColumn) } },
        severity: SEVERITY[p.severity],
        code: p.code,
        source: SOURCE,
        message: p.reason ?? p.message,
      });
    }
    if (scoreSeverity === undefined) continue;
    const score = doc.scoreOf(line);
    if (!score) continue;
    const whole = (): Diagnostic['range'] => ({ start: { line: i, character: doc.column(i, 0) }, end: { line: i, character: doc.lineEnd(i) } });
    const ifd = score.metrics.ifd?.value;
    if (showsIfd && typeof ifd === 'number' && ifd >= warnAt && keep(scoreSeverity)) {
      add({
        range: whole(),
        severity: scoreSeverity,
        code: 'ifd-not-helpful',
        source: SOURCE,
        message: `IFD ${formatNumber(ifd, warnAt)} ≥ ${formatNumber(warnAt)}: the instruction does not help the student predict the response`,
      });
    }
    let reasons: Map<string, MetricName[]> | undefined;
    for (const metric of ctx.scored) {
      const result = score.metrics[metric];
      if (!result || result.value !== null || ctx.unavailable.has(metric)) continue;
      reasons ??= new Map();
      reasons.set(result.reason, [...(reasons.get(result.reason) ?? []), metric]);
    }
    for (const [reason, metrics] of reasons ?? []) {
      if (!keep(scoreSeverity)) continue;
      add({
        range: whole(),
        severity: scoreSeverity,
        code: 'unscorable',
        source: SOURCE,
        message: `${metrics.map((m) => METRIC_LABELS[m]).join(', ')} cannot be computed: ${reason}`,
      });
    }
  }
  const all = bySeverity.flat();
  const total = counts.reduce((a, b) => a + b, 0);
  if (total <= MAX_DIAGNOSTICS) return all;
  // Hidden per severity: what comes after the first MAX_DIAGNOSTICS in severity order.
  const hidden = [0, 0, 0, 0];
  let room = MAX_DIAGNOSTICS;
  for (let k = 0; k < 4; k++) {
    const shownHere = Math.min(room, counts[k]);
    hidden[k] = counts[k] - shownHere;
    room -= shownHere;
  }
  const shown = all.slice(0, MAX_DIAGNOSTICS);
  shown.push(summaryDiagnostic(all[MAX_DIAGNOSTICS], hidden, doc.path));
  return shown;
}

function summaryDiagnostic(firstHidden: Diagnostic, hidden: number[], path: string | undefined): Diagnostic {
  const parts = (['error', 'warning', 'note', 'hint'] as const)
    .map((word, i) => (hidden[i] > 0 ? `${formatCount(hidden[i])} ${word}${hidden[i] === 1 ? '' : 's'}` : ''))
    .filter(Boolean);
  const count = hidden.reduce((a, b) => a + b, 0);
  const file = path ? `"${path}"` : 'FILE';
  return {
    range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } },
    severity: firstHidden.severity,
    code: 'more-problems',
    source: SOURCE,
    message:
      `${formatCount(count)} more problem${count === 1 ? ' is' : 's are'} not shown (${parts.join(', ')}; the first on line ${firstHidden.range.start.line + 1}): ` +
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
    `This file has ${formatCount(chars)} characters, more than an editor hands to extensions (${formatCount(MAX_DOCUMENT_CHARS)}): ` +
    'Sift does not check or score it here. Run `sift score FILE` (or `sift filter`, `sift stats`) in a terminal.'
  );
}
