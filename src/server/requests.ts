import type { Hover, InlayHint } from 'vscode-languageserver';
import type { LineRecord } from '../core/document/documentRecords';
import type { RecordScore } from '../core/scoring/recordScore';
import type { LineScore, LineScoresParams, LineScoresResult, SiftSettings } from '../protocol';
import type { SiftDocument } from './document';
import { candidateVotes, voteClass, voteLabel, VOTE_BUCKETS, type CandidateVote } from './candidateVotes';
import { recordHover } from './hover';
import { bucketOf, FAILED_LABEL, WAITING_LABEL, PENDING_LABEL, primaryMetric, scoreLabel } from './presentation';
import { recordState } from './recordState';
import type { Scorers } from './resources';
import { scoringConfig } from './settings';
import type { StoredScores } from './storedScores';
import type { ValidSet } from './validSet';

export interface RequestDeps {
  docs: ReadonlyMap<string, SiftDocument>;
  settingsFor(doc: SiftDocument): SiftSettings;
  scorers(): Scorers;
  stored: StoredScores;
  validSet: ValidSet;
  /** The client renders `command:` links in hovers. */
  commandLinks(): boolean;
  /** The client said the workspace is trusted (InitializationOptions.workspaceTrusted). */
  trusted(): boolean;
}

interface LineLabel {
  text: string;
  score?: RecordScore;
  pending?: boolean;
  /** A CANDIDATES line's place in its question's vote: it decides the colour. */
  vote?: CandidateVote;
}

/**
 * The editor's questions about what is on screen: inlay hints (any LSP editor), line scores (the
 * VS Code client's coloured labels) and hovers. Each looks up the stored scores of the lines asked
 * about first, so a scored file shows its scores before the sweep reaches them.
 */
export class Requests {
  constructor(private readonly deps: RequestDeps) {}

  inlayHints(uri: string, from: number, to: number): InlayHint[] {
    const doc = this.deps.docs.get(uri);
    if (!doc || doc.tooLarge !== undefined) return [];
    this.deps.stored.resolveRange(doc, from, to);
    // `labelPosition`, as the VS Code client's labels: before the record by default, where a long
    // record (an Alpaca line is often wider than the window) cannot push it off-screen.
    const atStart = this.deps.settingsFor(doc).labelPosition === 'start';
    const hints: InlayHint[] = [];
    for (let i = Math.max(0, from); i <= to && i < doc.records.lineCount; i++) {
      const label = this.lineLabel(doc, doc.records.line(i)!, i);
      if (!label) continue;
      hints.push(
        atStart
          ? { position: { line: i, character: doc.column(i, 0) }, label: label.text, paddingRight: true }
          : { position: { line: i, character: doc.lineEnd(i) }, label: label.text, paddingLeft: true },
      );
    }
    return hints;
  }

  lineScores(params: LineScoresParams): LineScoresResult {
    const doc = this.deps.docs.get(params.uri);
    if (!doc || doc.tooLarge !== undefined) return { version: doc?.version ?? params.version, scores: [] };
    const settings = this.deps.settingsFor(doc);
    const from = Math.max(0, Math.floor(params.startLine));
    const to = Math.min(doc.records.lineCount - 1, Math.floor(params.endLine));
    const visible = params.visible;
    if (visible && Number.isFinite(visible.startLine) && Number.isFinite(visible.endLine)) {
      doc.onScreen = { from: Math.max(from, Math.floor(visible.startLine)), to: Math.min(to, Math.floor(visible.endLine)) };
    }
    this.deps.stored.resolveRange(doc, from, to);
    const metric = primaryMetric(settings.metrics);
    const scores: LineScore[] = [];
    for (let i = from; i <= to; i++) {
      const label = this.lineLabel(doc, doc.records.line(i)!, i);
      if (!label) continue;
      let bucket: LineScore['bucket'] = label.pending ? -1 : -2;
      if (label.vote) {
        bucket = VOTE_BUCKETS[voteClass(label.vote)];
      } else if (label.score) {
        const value = label.score.metrics[metric]?.value;
        bucket = bucketOf(value, metric, settings, settings.colorBy === 'percentile' ? doc.values(metric) : undefined);
      }
      scores.push({ line: i, label: label.text, bucket });
    }
    return { version: doc.version, scores };
  }

  hover(uri: string, line: number): Hover | null {
    const doc = this.deps.docs.get(uri);
    if (!doc || doc.tooLarge !== undefined) return null;
    const settings = this.deps.settingsFor(doc);
    const scorers = this.deps.scorers();
    this.deps.stored.resolveRange(doc, line, line);
    const value = recordHover(doc, line, {
      settings,
      scored: scoringConfig(settings).metrics,
      modelId: scorers.knownModelId,
      endpoint: scorers.endpoint,
      dsNote: this.deps.validSet.hoverNote(doc),
      commandLinks: this.deps.commandLinks(),
      trusted: this.deps.trusted(),
    });
    if (!value) return null;
    return {
      contents: { kind: 'markdown', value },
      range: { start: { line, character: doc.column(line, 0) }, end: { line, character: doc.lineEnd(line) } },
    };
  }

  /** The score label of a line, followed in a CANDIDATES file by its place in the vote. */
  private lineLabel(doc: SiftDocument, line: LineRecord, index: number): LineLabel | undefined {
    const label = this.scoreLineLabel(doc, line);
    const settings = this.deps.settingsFor(doc);
    const vote = candidateVotes(doc, settings.answerFormat)?.get(index);
    if (!vote) return label;
    const text = voteLabel(vote);
    return label ? { ...label, text: `${label.text} · ${text}`, vote } : { text, vote };
  }

  private scoreLineLabel(doc: SiftDocument, line: LineRecord): LineLabel | undefined {
    const state = recordState(doc, line, this.deps.scorers().lastError !== undefined);
    const score = state === 'scored' ? doc.scores.get(line.text) : undefined;
    if (score) return { text: scoreLabel(score, this.deps.settingsFor(doc), this.deps.trusted()), score };
    if (state === 'pending') return { text: PENDING_LABEL, pending: true };
    if (state === 'waiting') return { text: WAITING_LABEL, pending: true };
    if (state === 'failed') return { text: FAILED_LABEL };
    return undefined;
  }
}
