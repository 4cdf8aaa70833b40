/** One physical line of a JSONL source. */
export interface SourceLine {
  /** 1-based line number. */
  line: number;
  /** The line's text without its terminator (and without a leading BOM on line 1). */
  text: string;
  /**
   * Offset of the first character of `text` in the source: UTF-16 code units for an in-memory
   * document, bytes for a file read from disk.
   */
  offset: number;
  /**
   * Set when the bytes of this line were not valid UTF-8 (files only); `text` then holds U+FFFD.
   * `byteColumn` is the 0-based byte offset of the first bad byte within the line; `column` is the
   * UTF-16 column in `text` where its replacement character sits.
   */
  invalidUtf8?: { byteColumn: number; column?: number };
  /**
   * The terminator that ended this line in the source: '' for a last line without one. Lets a
   * writer reproduce the source byte for byte.
   */
  eol?: '\r\n' | '\n' | '\r' | '';
}

export type Severity = 'error' | 'warning' | 'info';

/** A problem found on one line; columns are 0-based UTF-16 offsets within the line's text. */
export interface Problem {
  line: number;
  startColumn: number;
  endColumn: number;
  severity: Severity;
  /** Stable machine-readable code, e.g. `invalid-json`, `schema`, `empty-response`. */
  code: string;
  /** Human-readable message naming what was expected. */
  message: string;
  /** JSON pointer of the offending value, for schema problems. */
  pointer?: string;
  /** `message` without its `line N[, column C]: ` prefix, for UIs that already show the location. */
  reason?: string;
}

export const FORMAT_NAMES = ['alpaca', 'sharegpt', 'messages', 'prompt-completion', 'qa', 'candidates'] as const;
export type FormatName = (typeof FORMAT_NAMES)[number];

/** A user-supplied mapping of record fields onto the Alpaca triple (dotted paths into the object). */
export interface FieldMapping {
  instruction: string;
  input?: string;
  response: string;
}

export interface FormatSpec {
  name: FormatName | 'custom';
  mapping?: FieldMapping;
}

export interface Turn {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

/**
 * What a record means for scoring: instruction x (with optional input) and response y.
 * Multi-turn records score the LAST assistant turn; the user turn before it is the instruction and
 * every earlier turn (system prompt included) is `history`, rendered into the context by the template.
 */
export interface TrainingPair {
  instruction: string;
  input: string;
  response: string;
  history: Turn[];
}

/** The outcome of reading one line. */
export interface ParsedRecord {
  line: number;
  /** `SourceLine.offset` of the line (UTF-16 units for documents, bytes for files). */
  offset?: number;
  /** Source text of the line (needed to write kept records byte-identically). */
  text: string;
  /** True for an empty or whitespace-only line (skipped silently, not a record). */
  blank: boolean;
  value?: unknown;
  pair?: TrainingPair;
  problems: Problem[];
}
