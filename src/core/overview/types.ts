/**
 * What the dataset overview shows: counts, pre-binned histograms and a 2-D density, never the
 * records themselves (a 500k-record file is a few kilobytes of bins). Plain JSON, so the language
 * server can send it, the webview can draw it and `sift report` can embed it; this file imports
 * nothing but type names, so the browser bundle can use it.
 */

import type { MetricName } from '../metrics/types';

export type { MetricName };

/** The overview's selection rules: the options of `sift filter` (fractions in [0, 1]). */
export interface OverviewRules {
  ifdMax?: number;
  rifdMax?: number;
  topFraction?: number;
  dsKeepFraction?: number;
  selfConsistent?: boolean;
}

/** Equal-width bins over [lo, hi]; values outside are counted in the edge bins (and in `below`/`above`). */
export interface Histogram {
  metric: MetricName;
  lo: number;
  width: number;
  /** Records per bin, and how many of them the rules keep. */
  total: number[];
  kept: number[];
  /** Scored records with a value of this metric, and the smallest and largest value. */
  values: number;
  min: number;
  max: number;
  /** Values outside [lo, hi) folded into the first or last bin (the range leaves out the extreme 0.1% each side). */
  below: number;
  above: number;
}

/** IFD (x) against r-IFD (y), Selective Reflection-Tuning's two axes; cells row-major, y outer. */
export interface Density {
  x: { metric: MetricName; lo: number; width: number; bins: number };
  y: { metric: MetricName; lo: number; width: number; bins: number };
  total: number[];
  kept: number[];
  /** Records with both values. */
  points: number;
}

export interface OverviewRow {
  /** 1-based line. */
  line: number;
  values: Partial<Record<MetricName, number | null>>;
  kept: boolean;
  reason: string;
}

export interface OverviewCounts {
  /** Non-blank lines. */
  records: number;
  /** Records with a score, over which the rules run. */
  scored: number;
  kept: number;
  dropped: number;
  /** Valid records without a score yet: neither kept nor dropped until they have one. */
  unscored: number;
  /** Lines that cannot be scored (bad JSON, no pair, an empty response): `sift filter` drops them as invalid. */
  invalid: number;
}

export interface DropCount {
  /** The rule's name as `sift filter --report` writes it (ifd-max, top, ...), or `invalid`. */
  rule: string;
  count: number;
  /** Of those, records the rule dropped because they have no value of its metric. */
  noValue: number;
}

/**
 * A CANDIDATES file's votes (one question, several sampled solutions): how strongly each question's
 * candidates agree, and the candidates by their place in the vote (the editor's colours).
 */
export interface CandidatesOverview {
  questions: number;
  candidates: number;
  /** Questions where no candidate has a readable answer: they have no agreement. */
  noAnswer: number;
  /** Questions per bin of agreement (the majority's share of the readable answers), equal bins over [0, 1]; 1 is in the last bin. */
  agreement: { lo: number; width: number; total: number[] };
  /** Candidates by class: correct (matches gold), else majority, else minority. */
  classes: { correct: number; majority: number; minority: number };
  /** Questions with a readable gold answer, and of them those whose majority answer is correct. */
  withGold: number;
  majorityCorrect: number;
}

export interface OverviewData {
  counts: OverviewCounts;
  dropped: DropCount[];
  histograms: Histogram[];
  density?: Density;
  /** Where the rules cut, to draw them: the thresholds, and the lowest IFD the top-k% rule kept. */
  cutoffs: { ifdMax?: number; rifdMax?: number; topIfd?: number };
  /** The metric the tables rank by: IFD when scored, else the first metric with values. */
  rankedBy: MetricName | undefined;
  /** The highest values of `rankedBy` (the least useful end: IFD >= 1 is a misaligned pair). */
  worst: OverviewRow[];
  /** Kept records, in the order the selection prefers them. */
  best: OverviewRow[];
  /** A CANDIDATES file: its votes (the DS distribution is the `ds` histogram, once DS is scored). */
  candidates?: CandidatesOverview;
}
