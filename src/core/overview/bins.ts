/** Histogram ranges and bin positions, shared by the histograms and the density so their axes agree. */

export interface BinRange {
  lo: number;
  width: number;
  bins: number;
}

/** Share of values left out of the range at each end, so one extreme record does not squash the rest. */
export const RANGE_TRIM = 0.001;

/**
 * The range of `sorted` (ascending, non-empty) that the bins cover: from the value at rank
 * floor(trim * n) to the one at rank ceil((1 - trim) * n) - 1, widened to include `include` (1
 * for IFD and r-IFD, so the line every selection cares about is on the chart).
 */
export function binRange(sorted: ArrayLike<number>, bins: number, include?: number): BinRange {
  const n = sorted.length;
  let lo = sorted[Math.floor(RANGE_TRIM * n)];
  let hi = sorted[Math.max(0, Math.ceil((1 - RANGE_TRIM) * n) - 1)];
  if (include !== undefined) {
    lo = Math.min(lo, include);
    hi = Math.max(hi, include);
  }
  if (!(hi > lo)) {
    lo -= 0.5;
    hi += 0.5;
  }
  // A little room above the top value, so it falls inside the last bin rather than on its edge.
  const width = ((hi - lo) * (1 + 1e-9)) / bins;
  return { lo, width, bins };
}

/** The bin of v: values below the range go to bin 0, above it to the last bin. */
export function binOf(v: number, range: BinRange): number {
  const i = Math.floor((v - range.lo) / range.width);
  return i < 0 ? 0 : i >= range.bins ? range.bins - 1 : i;
}
