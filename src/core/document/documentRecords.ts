import { DETECT_SAMPLE, detectFormat, formatOfValue } from '../dataset/formats';
import { splitDocumentLines } from '../dataset/lines';
import { DETECT_MAX_LINES, FALLBACK_FORMAT, isScorable, parseRecord, type FormatSource } from '../dataset/parse';
import type { FormatName, FormatSpec, ParsedRecord, Problem, SourceLine, TrainingPair } from '../dataset/types';

/** What an editor keeps of one line: enough to show problems and to score, not the parsed JSON. */
export interface LineRecord {
  text: string;
  blank: boolean;
  problems: Problem[];
  pair?: TrainingPair;
  /** `isScorable`: a pair with a non-empty response and no errors. */
  scorable: boolean;
  /** For format detection: the format this line's object looks like, 'none', or undefined (not an object). */
  vote: FormatName | 'none' | undefined;
}

/** The lines an update replaced: `[start, start + removed)` of the old text became `[start, start + inserted)`. */
export interface LineChange {
  start: number;
  removed: number;
  inserted: number;
  /** The format changed, so every line was read again. */
  formatChanged: boolean;
}

/**
 * The records of an editor buffer, kept in step with its edits: each update compares the new lines
 * with the old ones (a common prefix and suffix of identical lines) and parses only what lies
 * between, so typing in a 100k-line file parses one line. Line numbers are the editor's (0-based
 * index here; `splitDocumentLines` splits exactly as VS Code does). Problems keep the line number
 * they were parsed on: use the index, and `Problem.reason` rather than the located `message`.
 */
export class DocumentRecords {
  private records: LineRecord[] = [];
  private formatSpec: FormatSpec = FALLBACK_FORMAT;
  private source: FormatSource = 'fallback';
  /** How many non-blank lines hold each text; lets a score for a text find its lines, or none. */
  private readonly counts = new Map<string, number>();
  /** UTF-16 offset of line 0's text: 1 when the buffer starts with a BOM the editor kept. */
  firstLineOffset = 0;

  /** @param given a format from settings; undefined = detect from the first lines, as `parseDocument` does. */
  constructor(private given?: FormatSpec) {}

  get format(): FormatSpec {
    return this.formatSpec;
  }

  get formatSource(): FormatSource {
    return this.source;
  }

  get lineCount(): number {
    return this.records.length;
  }

  line(index: number): LineRecord | undefined {
    return this.records[index];
  }

  /** True when some non-blank line has exactly this text. */
  hasText(text: string): boolean {
    return this.counts.has(text);
  }

  /** Replaces the whole text (first open, or a new format from settings). */
  reset(text: string, given?: FormatSpec): void {
    this.given = given;
    this.counts.clear();
    const lines = splitDocumentLines(text);
    this.firstLineOffset = lines[0]?.offset ?? 0;
    this.decide(lines.slice(0, DETECT_MAX_LINES).map((src) => voteOf(src.text)));
    this.records = lines.map((src) => this.read(src));
  }

  /** Brings the records up to date with `text`; returns which lines changed. */
  update(text: string): LineChange {
    const lines = splitDocumentLines(text);
    this.firstLineOffset = lines[0]?.offset ?? 0;
    const old = this.records;
    let start = 0;
    const shorter = Math.min(old.length, lines.length);
    while (start < shorter && old[start].text === lines[start].text) start++;
    let tail = 0;
    while (tail < shorter - start && old[old.length - 1 - tail].text === lines[lines.length - 1 - tail].text) tail++;
    const removed = old.length - start - tail;
    const inserted = lines.length - start - tail;
    for (let i = start; i < start + removed; i++) this.uncount(old[i]);
    // Line texts are slices of the whole buffer; copying the few new ones keeps one old buffer from
    // staying alive per edit through the lines that survive it.
    const fresh = lines.slice(start, start + inserted).map((src) => this.read({ ...src, text: detach(src.text) }));
    this.records.splice(start, removed, ...fresh);
    // "A JSON array file" is only reported on line 1: a line that moves to or from line 0 is read again.
    if (start === 0 && removed > 0 && inserted === 0 && this.records.length > 0) this.reread(0);
    if (start === 0 && removed === 0 && inserted > 0 && inserted < this.records.length) this.reread(inserted);
    let formatChanged = false;
    if (this.given === undefined && start < DETECT_MAX_LINES) {
      const before = this.formatSpec.name;
      this.decide(this.records.slice(0, DETECT_MAX_LINES).map((r) => r.vote));
      if (this.formatSpec.name !== before) {
        formatChanged = true;
        for (let i = 0; i < this.records.length; i++) this.reread(i);
      }
    }
    return { start, removed, inserted, formatChanged };
  }

  private reread(index: number): void {
    const record = this.records[index];
    this.uncount(record);
    this.records[index] = this.read({ line: index + 1, text: record.text, offset: 0 });
  }

  private read(src: SourceLine): LineRecord {
    const parsed: ParsedRecord = parseRecord(src, this.formatSpec);
    const record: LineRecord = {
      text: src.text,
      blank: parsed.blank,
      problems: parsed.problems,
      pair: parsed.pair,
      scorable: isScorable(parsed),
      vote: parsed.value === undefined ? undefined : formatOfValue(parsed.value) ?? 'none',
    };
    if (!record.blank) this.counts.set(record.text, (this.counts.get(record.text) ?? 0) + 1);
    return record;
  }

  private uncount(record: LineRecord): void {
    if (record.blank) return;
    const n = this.counts.get(record.text) ?? 0;
    if (n <= 1) this.counts.delete(record.text);
    else this.counts.set(record.text, n - 1);
  }

  /** The same decision as `parseDocument`: the first DETECT_SAMPLE objects within DETECT_MAX_LINES lines vote. */
  private decide(votes: Array<LineRecord['vote']>): void {
    if (this.given) {
      this.formatSpec = this.given;
      this.source = 'given';
      return;
    }
    const sample: unknown[] = [];
    for (const vote of votes) {
      if (vote === undefined) continue;
      // detectFormat only looks at the keys: a stand-in object with the voted format's keys is enough.
      sample.push(vote === 'none' ? {} : STAND_INS[vote]);
      if (sample.length >= DETECT_SAMPLE) break;
    }
    const name = detectFormat(sample);
    this.formatSpec = name ? { name } : FALLBACK_FORMAT;
    this.source = name ? 'detected' : 'fallback';
  }
}

/** An object whose keys `formatOfValue` maps to each format. */
const STAND_INS: Record<FormatName, object> = {
  alpaca: { instruction: '', output: '' },
  sharegpt: { conversations: [] },
  messages: { messages: [] },
  'prompt-completion': { prompt: '', completion: '' },
  qa: { question: '', answer: '' },
  candidates: { question: '', candidate: '' },
};

function voteOf(text: string): LineRecord['vote'] {
  const first = text.search(/\S/);
  if (first < 0 || text.charCodeAt(first) !== 0x7b) return undefined;
  try {
    return formatOfValue(JSON.parse(text)) ?? 'none';
  } catch {
    return undefined;
  }
}

/** A copy of `s` that shares no memory with the string it was sliced from. */
function detach(s: string): string {
  return s.length < 16 ? s : Buffer.from(s, 'utf16le').toString('utf16le');
}
