/** Line ranges are 0-based and inclusive at both ends, as in the protocol's LineScoresParams. */
export interface LineRange {
  start: number;
  end: number;
}

/** Lines decorated above and below the viewport, so a short scroll shows scores at once. */
export const DEFAULT_MARGIN = 100;
/** Upper bound on lines requested per update (several split editors of one long document). */
export const DEFAULT_MAX_LINES = 2000;

/**
 * The line ranges to request scores for: the visible ranges widened by `margin`, clamped to the
 * document, merged where they touch or overlap, and capped at `maxLines` in total (ranges nearest
 * the first visible range win).
 */
export function linesToRequest(
  visible: readonly LineRange[],
  lineCount: number,
  margin = DEFAULT_MARGIN,
  maxLines = DEFAULT_MAX_LINES,
): LineRange[] {
  if (lineCount <= 0) return [];
  const last = lineCount - 1;
  const widened = visible
    .filter((r) => Number.isFinite(r.start) && Number.isFinite(r.end))
    .map((r) => ({ start: Math.max(0, Math.min(r.start, r.end) - margin), end: Math.min(last, Math.max(r.start, r.end) + margin) }))
    .filter((r) => r.start <= r.end)
    .sort((a, b) => a.start - b.start);
  const merged: LineRange[] = [];
  for (const range of widened) {
    const previous = merged[merged.length - 1];
    if (previous && range.start <= previous.end + 1) previous.end = Math.max(previous.end, range.end);
    else merged.push({ ...range });
  }
  const capped: LineRange[] = [];
  let budget = maxLines;
  for (const range of merged) {
    if (budget <= 0) break;
    const end = Math.min(range.end, range.start + budget - 1);
    capped.push({ start: range.start, end });
    budget -= end - range.start + 1;
  }
  return capped;
}

export interface SelectionLike {
  start: { line: number; character: number };
  end: { line: number; character: number };
}

/**
 * The lines a selection covers. A selection ending at column 0 of a line does not cover that line
 * (selecting whole lines with the keyboard ends there), unless it is empty (a cursor: its line).
 */
export function selectionLines(selection: SelectionLike): LineRange {
  const start = Math.min(selection.start.line, selection.end.line);
  let end = Math.max(selection.start.line, selection.end.line);
  const endsAtLineStart = selection.end.character === 0 && selection.end.line > selection.start.line;
  if (endsAtLineStart) end -= 1;
  return { start, end: Math.max(start, end) };
}

/** Merges the line ranges of several selections (multi-cursor) into disjoint sorted ranges. */
export function mergeLineRanges(ranges: readonly LineRange[]): LineRange[] {
  const sorted = [...ranges].sort((a, b) => a.start - b.start);
  const merged: LineRange[] = [];
  for (const range of sorted) {
    const previous = merged[merged.length - 1];
    if (previous && range.start <= previous.end + 1) previous.end = Math.max(previous.end, range.end);
    else merged.push({ ...range });
  }
  return merged;
}
