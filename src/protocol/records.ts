/**
 * Reading a dataset record by record: the record view's request for one record, and moving to the
 * next or previous record in the file's worst-first order. Any LSP client may send these (a Neovim
 * mapping can jump with `sift/recordByScore` just as the VS Code commands do); the outline and
 * "Go to Symbol" use the standard textDocument/documentSymbol.
 */

import { RequestType } from 'vscode-languageserver-protocol';
import type { RecordDetails } from './recordView';

export interface RecordParams {
  uri: string;
  /** 0-based. */
  line: number;
}

/** client -> server: one record's turns and scores; null when the URI is not an open dataset (or is over the size limit) or the line does not exist. */
export const RecordRequest = new RequestType<RecordParams, RecordDetails | null, void>('sift/record');

export type ScoreDirection = 'next' | 'previous';

export interface RecordByScoreParams {
  uri: string;
  /** The line of the cursor (0-based): the move starts from its record's place in the order. */
  line: number;
  /** `next`: the next better record; `previous`: the next worse one. From a line with no place in the order, `next` goes to the worst record and `previous` to the best. */
  direction: ScoreDirection;
}

export interface RecordByScoreResult {
  /** The record to go to (0-based line and its 1-based place, 1 = worst); absent at either end or with nothing scored. */
  target?: { line: number; position: number; label: string };
  /** Scored records in the order. */
  of: number;
  /** The label of the metric that orders them. */
  metric: string;
  /** Records not scored (yet): they have no place in the order. */
  unscored: number;
  /** Why there is no target, in words (`this is the best-scored record`). */
  message?: string;
}

/** client -> server: where the next (or previous) record by score is; null when the URI is not an open dataset. */
export const RecordByScoreRequest = new RequestType<RecordByScoreParams, RecordByScoreResult | null, void>('sift/recordByScore');
