/**
 * The one rule for a share of records (`sift filter --top/--ds-keep`, the editor's Filter command):
 * a percentage with `%` (`10%`, `0.5%`) or a fraction below 1 (`0.1`). A bare number of 1 or more
 * is refused: `--top 1` could mean 1% or all, `--top 10` 10% or ten records.
 */
export const SHARE_RULE = 'a percentage with % (10%) or a fraction below 1 (0.1)';

/** The fraction in (0, 1], or the message saying why the text is not a share. */
export function parseShare(text: string): number | string {
  const trimmed = text.trim();
  const match = /^(\d+(?:\.\d+)?|\.\d+)\s*(%?)$/.exec(trimmed);
  if (!match) return `"${trimmed}" is not a share of records: write ${SHARE_RULE}`;
  const number = Number(match[1]);
  if (match[2] === '%') {
    if (!(number > 0 && number <= 100)) return `${trimmed} is not between 0% and 100% (above 0, at most 100%)`;
    return number / 100;
  }
  if (number >= 1) {
    if (number === 1) return `"${trimmed}" is ambiguous: write 1% or 100% (all records)`;
    return `"${trimmed}" is ambiguous: write ${trimmed}% (a percentage) or ${number / 100} (a fraction)`;
  }
  if (number === 0) return `"${trimmed}" keeps no records: write ${SHARE_RULE}`;
  return number;
}
