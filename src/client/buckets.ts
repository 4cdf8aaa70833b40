import type { LineScore, ScoreBucket } from '../protocol';

/**
 * The fixed set of decoration kinds: one per colour bucket (0 = best for the student ... 4 =
 * worst), plus records still being scored and records without a score. The client creates one
 * decoration type per kind, once, so an update is at most this many setDecorations calls.
 */
export const DECORATION_KINDS = ['best', 'good', 'middle', 'poor', 'worst', 'pending', 'none'] as const;
export type DecorationKind = (typeof DECORATION_KINDS)[number];

const KIND_OF_BUCKET: Record<ScoreBucket, DecorationKind> = {
  0: 'best',
  1: 'good',
  2: 'middle',
  3: 'poor',
  4: 'worst',
  [-1]: 'pending',
  [-2]: 'none',
};

/** Unknown buckets (a newer server) fall back to 'none' rather than throwing. */
export function kindOfBucket(bucket: number): DecorationKind {
  return KIND_OF_BUCKET[bucket as ScoreBucket] ?? 'none';
}

/** The contributed theme colour (package.json `contributes.colors`) of each kind. */
export function themeColorId(kind: DecorationKind): string {
  return `sift.score.${kind}`;
}

/** Kinds that also mark the overview ruler; pending and unscored lines would only be noise there. */
export function marksOverviewRuler(kind: DecorationKind): boolean {
  return kind !== 'pending' && kind !== 'none';
}

/**
 * The gutter dot of a kind, relative to the extension folder: the line-end label of a long record is
 * often scrolled out of view, the gutter never is. Gutter icons are files, not theme colours, so they
 * carry the default light/dark colours of the theme colour (a test keeps them in step).
 */
export function gutterIconFile(kind: DecorationKind, theme: 'light' | 'dark'): string | undefined {
  return marksOverviewRuler(kind) ? `media/gutter/${kind}-${theme}.svg` : undefined;
}

const MARKER: Record<DecorationKind, string> = {
  best: '●',
  good: '●',
  middle: '●',
  poor: '●',
  worst: '●',
  pending: '◌',
  none: '○',
};

/** The line-end text: a coloured marker glyph and the server's label. */
export function decorationText(kind: DecorationKind, label: string): string {
  const text = label.trim();
  return text ? `${MARKER[kind]} ${text}` : MARKER[kind];
}

export interface LineDecoration {
  line: number;
  text: string;
}

/**
 * Groups line scores by decoration kind, dropping lines outside the document and keeping the last
 * score given for a line. Every kind is present in the result (possibly empty) so a caller that sets
 * each kind also clears kinds that no longer apply.
 */
export function groupByKind(scores: readonly LineScore[], lineCount: number): Map<DecorationKind, LineDecoration[]> {
  const byLine = new Map<number, LineScore>();
  for (const score of scores) {
    if (!Number.isInteger(score.line) || score.line < 0 || score.line >= lineCount) continue;
    byLine.set(score.line, score);
  }
  const groups = new Map<DecorationKind, LineDecoration[]>(DECORATION_KINDS.map((kind) => [kind, []]));
  for (const score of [...byLine.values()].sort((a, b) => a.line - b.line)) {
    const kind = kindOfBucket(score.bucket);
    groups.get(kind)!.push({ line: score.line, text: decorationText(kind, score.label) });
  }
  return groups;
}
