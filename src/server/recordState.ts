import type { LineRecord } from '../core/document/documentRecords';
import type { RecordState } from '../protocol/recordView';
import type { SiftDocument } from './document';

/** Where a record line stands with the scorer. Before stored scores are known, every record of an auto-scored file is as good as queued. */
export function recordState(doc: SiftDocument, line: LineRecord, scorerFailed: boolean): RecordState {
  if (line.blank) return 'blank';
  if (!line.scorable) return 'invalid';
  if (doc.scores.has(line.text)) return 'scored';
  if (doc.pending.has(line.text) || (doc.autoScore && !doc.swept && !scorerFailed)) return 'pending';
  if (doc.waiting.has(line.text)) return 'waiting';
  if (doc.failures.has(line.text)) return 'failed';
  return 'unscored';
}
