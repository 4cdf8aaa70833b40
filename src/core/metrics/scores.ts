import type { Score } from './types';

/** The finite number in a score, or null when the record has no usable score (METHODS §8.3). */
export function scoreValue(score: Score): number | null {
  const v = typeof score === 'object' && score !== null ? score.value : score;
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/** Why a score is unusable, for selection reasons; only meaningful when `scoreValue` is null. */
export function unscoredReason(score: Score): string {
  if (typeof score === 'object' && score !== null) {
    return score.value === null ? `unscored: ${score.reason}` : `unscored: ${String(score.value)}`;
  }
  return typeof score === 'number' ? `unscored: ${String(score)}` : 'unscored';
}

/**
 * A short rendering of `v` for human-readable reasons: 4 significant digits, more when needed so a
 * value next to a threshold never prints as the threshold itself ("IFD 1 >= 1" for 0.99999).
 */
export function formatNumber(v: number, distinctFrom?: number): string {
  if (!Number.isFinite(v)) return String(v);
  for (let digits = 4; digits < 17; digits++) {
    const text = String(Number(v.toPrecision(digits)));
    if (distinctFrom === undefined || v === distinctFrom || text !== String(Number(distinctFrom.toPrecision(digits)))) {
      return text;
    }
  }
  return String(v);
}

/** A fraction in [0, 1] as a percentage for reasons: 0.1 -> "10%", 0.333 -> "33.3%". */
export function formatPercent(fraction: number): string {
  return `${String(Number((fraction * 100).toPrecision(4)))}%`;
}
