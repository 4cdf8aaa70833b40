import { ErrorCodes, ResponseError } from 'vscode-languageserver';
import { datasetOverview, type OverviewRecord } from '../core/overview/aggregate';
import { ErrorReasons, type OverviewParams, type OverviewResult, type SiftSettings } from '../protocol';
import { candidatesSummary, voteColours } from './candidateVotes';
import type { SiftDocument } from './document';
import { scoringConfig } from './settings';
import type { StoredScores } from './storedScores';

export interface OverviewRequestDeps {
  docs: ReadonlyMap<string, SiftDocument>;
  settingsFor(doc: SiftDocument): SiftSettings;
  stored: StoredScores;
  isScoring(doc: SiftDocument): boolean;
}

/** `sift/overview`: the stored scores are looked up first if they have not been (their arrival sends ScoresChanged). */
export function overviewRequest(params: OverviewParams, deps: OverviewRequestDeps): OverviewResult {
  const doc = deps.docs.get(params?.uri);
  if (!doc) throw new ResponseError(ErrorCodes.InvalidParams, `not an open dataset: ${String(params?.uri)}`, { reason: ErrorReasons.notOpen });
  if (doc.tooLarge !== undefined) {
    throw new ResponseError(ErrorCodes.InvalidRequest, 'the file is too large for the editor: use `sift report` in a terminal', { reason: ErrorReasons.tooLarge });
  }
  // The sweep reports its own failures (the log, the status item).
  if (!doc.swept) deps.stored.sweep(doc).catch(() => undefined);
  return documentOverview(doc, params, { settings: deps.settingsFor(doc), scoring: deps.isScoring(doc) });
}

export interface OverviewDeps {
  settings: SiftSettings;
  /** A job is scoring the document: more scores will come. */
  scoring: boolean;
}

/**
 * The overview of an open dataset as it is now: the scores the server holds (stored or just
 * computed), the rules applied by core's one definition. It scores nothing itself: records without
 * a score are counted as such, and the client asks again on ScoresChanged.
 */
export function documentOverview(doc: SiftDocument, params: OverviewParams, deps: OverviewDeps): OverviewResult {
  const { records, invalid } = overviewRecords(doc);
  const rows = Math.min(200, Math.max(1, Math.floor(params.rows ?? 20)));
  const data = datasetOverview(records, invalid, params.rules ?? {}, { dsRule: deps.settings.dsRule, rows });
  const candidates = candidatesSummary(doc, deps.settings.answerFormat);
  if (candidates) {
    data.candidates = candidates;
    return { ...data, voteColours: voteColours(), version: doc.version, metrics: scoringConfig(deps.settings).metrics, dsRule: deps.settings.dsRule, scoring: deps.scoring };
  }
  return { ...data, version: doc.version, metrics: scoringConfig(deps.settings).metrics, dsRule: deps.settings.dsRule, scoring: deps.scoring };
}

interface RecordsSnapshot {
  key: string;
  /** doc.values() is rebuilt after every change of a score (invalidateStats): its identity says "unchanged". */
  token: object;
  records: OverviewRecord[];
  invalid: number;
}

/** The last snapshot per document: moving a threshold asks again with the same records. */
const snapshots = new WeakMap<SiftDocument, RecordsSnapshot>();

/** The document's records with their scores, read again only when the text or a score changed. */
function overviewRecords(doc: SiftDocument): RecordsSnapshot {
  const key = `${doc.version}:${doc.epoch}:${doc.scores.size}`;
  const token = doc.values('ifd');
  const cached = snapshots.get(doc);
  if (cached?.key === key && cached.token === token) return cached;
  const records: OverviewRecord[] = [];
  let invalid = 0;
  for (let i = 0; i < doc.records.lineCount; i++) {
    const line = doc.records.line(i)!;
    if (line.blank) continue;
    // As `sift filter`: a line that cannot be scored (bad JSON, no pair, an empty response) is
    // invalid, dropped and counted as such.
    if (!line.pair || !line.scorable) {
      invalid++;
      continue;
    }
    const score = doc.scores.get(line.text);
    records.push({ line: i + 1, scored: score !== undefined, metrics: score?.metrics ?? {}, question: line.pair.instruction, response: line.pair.response });
  }
  const snapshot = { key, token, records, invalid };
  snapshots.set(doc, snapshot);
  return snapshot;
}
