import { fileURLToPath } from 'node:url';
import { DocumentRecords, type LineChange, type LineRecord } from '../core/document/documentRecords';
import type { FormatSpec, TrainingPair } from '../core/dataset/types';
import type { MetricName } from '../core/metrics/types';
import type { RecordScore } from '../core/scoring/recordScore';
import { MAX_DOCUMENT_CHARS } from '../protocol/datasets';
import { SortedValues } from './presentation';


/**
 * One open dataset: its records (kept in step with edits) and what is known about their scores.
 *
 * Scores are keyed by the line's exact text, never by line number: a result that arrives for a text
 * no line has any more (the user edited it while it was being scored) finds no line and is dropped,
 * and a line that is edited back to a scored text shows that score again. Equal lines share a score.
 */
export class SiftDocument {
  readonly records: DocumentRecords;
  /** Local path for `file:` URIs (where the score store lives); undefined for untitled buffers. */
  readonly path: string | undefined;
  /** Set (to the length) when the text is over MAX_DOCUMENT_CHARS: nothing is parsed or scored. */
  tooLarge: number | undefined;
  readonly scores = new Map<string, RecordScore>();
  /** Texts the last run could not score (endpoint errors), with the reason; retried on request. */
  readonly failures = new Map<string, string>();
  /** Texts whose scoring failed because the endpoint was down: queued again when it answers. */
  readonly waiting = new Map<string, TrainingPair>();
  /** Texts queued or being scored, with the id of the job that has them. */
  readonly pending = new Map<string, number>();
  /** Bumped whenever scores are thrown away (settings, format, clear): older results are dropped. */
  epoch = 0;
  /** Stored scores have been looked up for every line since the last invalidation. */
  swept = false;
  /** Edits are scored automatically (auto-score on open, or the user scored the file). */
  autoScore = false;
  /** Scorable texts of lines changed since the last debounced re-score. */
  readonly edited = new Map<string, TrainingPair>();
  /** The lines on screen, as the editor last said (0-based, inclusive): scored first. */
  get onScreen(): { from: number; to: number } | undefined {
    return this.screen;
  }
  set onScreen(lines: { from: number; to: number } | undefined) {
    this.screen = lines;
    if (!lines) return;
    for (const resolve of this.screenWaiters) resolve();
    this.screenWaiters.length = 0;
  }
  private screen: { from: number; to: number } | undefined;
  private readonly screenWaiters: (() => void)[] = [];

  /**
   * Resolves once the editor has said which lines are on screen, or after `timeoutMs` (an editor
   * that never says: other LSP clients, tests).
   */
  screenKnown(timeoutMs: number): Promise<void> {
    if (this.screen) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, timeoutMs);
      const waiters = this.screenWaiters;
      function done(): void {
        clearTimeout(timer);
        const at = waiters.indexOf(done);
        if (at >= 0) waiters.splice(at, 1);
        resolve();
      }
      waiters.push(done);
    });
  }
  private sorted = new Map<MetricName, SortedValues>();

  constructor(
    readonly uri: string,
    public version: number,
    text: string,
    format: FormatSpec | undefined,
  ) {
    this.path = fileUriToPath(uri);
    this.records = new DocumentRecords(format);
    this.setText(text, format);
  }

  /** Reads the whole text again (open, or a new format setting). */
  setText(text: string, format: FormatSpec | undefined): void {
    this.tooLarge = text.length > MAX_DOCUMENT_CHARS ? text.length : undefined;
    this.records.reset(this.tooLarge === undefined ? text : '', format);
    this.invalidateScores();
  }

  /** Applies an edit; returns the changed lines, or undefined when everything was read again. */
  update(text: string): LineChange | undefined {
    const wasTooLarge = this.tooLarge !== undefined;
    this.tooLarge = text.length > MAX_DOCUMENT_CHARS ? text.length : undefined;
    if (this.tooLarge !== undefined || wasTooLarge) {
      this.records.reset(this.tooLarge === undefined ? text : '', undefined);
      this.invalidateScores();
      return undefined;
    }
    const change = this.records.update(text);
    if (change.formatChanged) {
      this.invalidateScores();
      return change;
    }
    for (let i = change.start; i < change.start + change.inserted; i++) {
      const line = this.records.line(i)!;
      if (line.scorable) this.edited.set(line.text, line.pair!);
    }
    this.invalidateStats();
    return change;
  }

  invalidateScores(): void {
    this.epoch++;
    this.scores.clear();
    this.failures.clear();
    this.waiting.clear();
    this.pending.clear();
    this.edited.clear();
    this.swept = false;
    this.invalidateStats();
  }

  invalidateStats(): void {
    this.sorted.clear();
  }

  scoreOf(line: LineRecord): RecordScore | undefined {
    return line.scorable ? this.scores.get(line.text) : undefined;
  }

  /** Values of a metric over the file's scored lines (each line counts), sorted; cached until scores or lines change. */
  values(metric: MetricName): SortedValues {
    let sorted = this.sorted.get(metric);
    if (!sorted) {
      const values: number[] = [];
      for (let i = 0; i < this.records.lineCount; i++) {
        const v = this.scoreOf(this.records.line(i)!)?.metrics[metric]?.value;
        if (typeof v === 'number' && Number.isFinite(v)) values.push(v);
      }
      sorted = new SortedValues(values);
      this.sorted.set(metric, sorted);
    }
    return sorted;
  }

  /** Scorable lines, and how many of them have a score. */
  counts(): { scored: number; total: number } {
    let scored = 0;
    let total = 0;
    for (let i = 0; i < this.records.lineCount; i++) {
      const line = this.records.line(i)!;
      if (!line.scorable) continue;
      total++;
      if (this.scores.has(line.text)) scored++;
    }
    return { scored, total };
  }

  /** UTF-16 column in the editor of a column in line `index`'s text (line 0 may follow a BOM). */
  column(index: number, column: number): number {
    return index === 0 ? column + this.records.firstLineOffset : column;
  }

  /** Editor column of the end of line `index`. */
  lineEnd(index: number): number {
    return this.column(index, this.records.line(index)?.text.length ?? 0);
  }
}

export function fileUriToPath(uri: string): string | undefined {
  if (!uri.startsWith('file:')) return undefined;
  try {
    return fileURLToPath(uri);
  } catch {
    return undefined;
  }
}
