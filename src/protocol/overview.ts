/**
 * The dataset overview: the server's request, and the messages between the overview webview and
 * its host. The server aggregates (bins, density, counts), so a message's size does not grow with
 * the dataset. The webview bundle imports this file: it imports only type names.
 */

import { RequestType } from 'vscode-languageserver-protocol';
import type { DsRule, MetricName } from '../core/metrics/types';
import type { OverviewData, OverviewRules } from '../core/overview/types';
import type { CandidateClass } from '../core/reasoning/candidateClass';

export type { DsRule, MetricName };
export type { CandidatesOverview, Density, DropCount, Histogram, OverviewCounts, OverviewData, OverviewRow, OverviewRules } from '../core/overview/types';

/**
 * The VS Code client's command that opens the overview ([uri?]): the hover links to it. A client
 * command, not a server one: the overview is a view of the client's.
 */
export const OVERVIEW_COMMAND = 'sift.editor.overview';

/** client -> server request: the overview of an open dataset under these rules. */
export interface OverviewParams {
  uri: string;
  rules: OverviewRules;
  /** Rows in the worst and best tables (default 20, at most 200). */
  rows?: number;
}

export interface OverviewResult extends OverviewData {
  /** The document version the overview was computed on. */
  version: number;
  /** Metrics the settings compute: the rules on other metrics cannot apply. */
  metrics: MetricName[];
  dsRule: DsRule;
  /** Scoring of the file is still under way (more scores will come: ScoresChanged). */
  scoring: boolean;
  /** A CANDIDATES file: the colours its lines take in the editor, for the legend. */
  voteColours?: VoteColour[];
}

/** A candidate class's colour in the editor: the score colour bucket (0 = best ... 4 = worst), in words, and what it means. */
export interface VoteColour {
  class: CandidateClass;
  bucket: 0 | 1 | 2 | 3 | 4;
  colour: string;
  meaning: string;
}

export const OverviewRequest = new RequestType<OverviewParams, OverviewResult, void>('sift/overview');
