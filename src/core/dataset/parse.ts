import type { FormatSpec, ParsedRecord, Problem, SourceLine } from './types';
import type { Issue } from './issue';
import { DETECT_SAMPLE, detectFormat, toTrainingPair } from './formats';
import { validateRecord } from './validate';
import { jsonPointerRange } from './json-pointer';
import { describeJsonSyntaxError } from './json-syntax';
import { readFileLineBatches, splitDocumentLines, type ReadLinesOptions } from './lines';

/** JSON whitespace, plus any other space a user cannot see (a stray BOM, NBSP). */
const BLANK = /^\s*$/;
const VISIBLE = /\S/;

const ARRAY_FILE_REASON = "this looks like a JSON array file, not JSONL; convert with `jq -c '.[]'`";

/**
 * Problems of line 1 that are about the whole file (a JSON array, UTF-16): the other lines are not
 * JSONL records, so reading a file stops there instead of adding one meaningless error per line.
 */
const WHOLE_FILE_CODES: ReadonlySet<string> = new Set(['json-array-file', 'utf16-file']);

function endsFile(record: ParsedRecord): boolean {
  return record.line === 1 && record.problems.some((p) => WHOLE_FILE_CODES.has(p.code));
}

/**
 * Reads one line: JSON syntax, then the format's schema, then the training pair and its
 * record-level warnings. Never throws on bad input: every defect becomes a located Problem.
 */
export function parseRecord(src: SourceLine, format: FormatSpec): ParsedRecord {
  const text = src.text;
  const record: ParsedRecord = { line: src.line, offset: src.offset, text, blank: false, problems: [] };
  // A record line starts with `{`; only other lines pay for the blank test.
  if (text.charCodeAt(0) !== 0x7b && BLANK.test(text)) {
    record.blank = true;
    return record;
  }
  const utf16 = src.line === 1 ? utf16Encoding(src) : undefined;
  if (utf16) {
    record.problems.push(
      located(src, 0, 1, 'error', 'utf16-file', `the file is ${utf16}, not UTF-8: convert it, e.g. \`iconv -f ${utf16} -t UTF-8 in.jsonl > out.jsonl\``, false),
    );
    return record;
  }
  if (src.invalidUtf8) {
    const column = src.invalidUtf8.column ?? 0;
    record.problems.push(
      located(src, column, column + 1, 'error', 'invalid-utf8', `the line is not valid UTF-8 (first bad byte at byte ${src.invalidUtf8.byteColumn} of the line); it was read with U+FFFD replacement characters`, true),
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    record.problems.push(syntaxProblem(src, err));
    return record;
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    record.problems.push(notAnObject(src, value));
    return record;
  }
  record.value = value;
  const obj = value as Record<string, unknown>;
  const schemaIssues = validateRecord(obj, format);
  if (schemaIssues.length > 0) {
    for (const issue of schemaIssues) record.problems.push(toProblem(src, issue));
    return record;
  }
  const mapped = toTrainingPair(obj, format);
  record.pair = mapped.pair;
  for (const issue of mapped.issues) record.problems.push(toProblem(src, issue));
  return record;
}

/** True when a record can be sent to the scorer: a pair, a non-empty response, no errors. */
export function isScorable(record: ParsedRecord): boolean {
  return (
    !record.blank &&
    record.pair !== undefined &&
    VISIBLE.test(record.pair.response) &&
    !record.problems.some((p) => p.severity === 'error')
  );
}

function syntaxProblem(src: SourceLine, err: unknown): Problem {
  const text = src.text;
  const first = text.search(/\S/);
  if (src.line === 1 && text.charCodeAt(first) === 0x5b) {
    return located(src, first, first + 1, 'error', 'json-array-file', ARRAY_FILE_REASON, false);
  }
  const { position, reason } = describeJsonSyntaxError(text, err);
  let why = `invalid JSON: ${reason}`;
  if (position === 0 && text.charCodeAt(0) === 0xfeff) {
    why = 'invalid JSON: a byte order mark (BOM) in the middle of the file (were files concatenated?)';
  }
  // A surrogate pair is one character on screen: underline both halves.
  const width = isHighSurrogate(text.charCodeAt(position)) ? 2 : 1;
  return located(src, position, Math.min(position + width, text.length), 'error', 'invalid-json', why, true);
}

/**
 * UTF-16 read as UTF-8: every ASCII character is followed (LE) or preceded (BE) by a NUL byte, after
 * a byte order mark that decodes to two replacement characters. JSONL starts with ASCII (`{`).
 */
function utf16Encoding(src: SourceLine): 'UTF-16LE' | 'UTF-16BE' | undefined {
  let text = src.text;
  if (src.invalidUtf8?.byteColumn === 0 && text.startsWith('\uFFFD\uFFFD')) text = text.slice(2);
  if (text.length < 2) return undefined;
  const first = text.charCodeAt(0);
  const second = text.charCodeAt(1);
  if (first !== 0 && first < 0x80 && second === 0) return 'UTF-16LE';
  if (first === 0 && second !== 0 && second < 0x80) return 'UTF-16BE';
  return undefined;
}

function notAnObject(src: SourceLine, value: unknown): Problem {
  const start = src.text.search(/\S/);
  if (Array.isArray(value) && src.line === 1) {
    return located(src, start, start + 1, 'error', 'json-array-file', ARRAY_FILE_REASON, false);
  }
  const got = value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`;
  return located(src, 0, src.text.length, 'error', 'not-an-object', `expected one JSON object per line, got ${got}`, false);
}

function located(src: SourceLine, start: number, end: number, severity: Problem['severity'], code: string, reason: string, withColumn: boolean): Problem {
  const where = withColumn ? `line ${src.line}, column ${start + 1}` : `line ${src.line}`;
  return { line: src.line, startColumn: start, endColumn: end, severity, code, message: `${where}: ${reason}`, reason };
}

/** Places an Issue on its line: the range of the value its pointer names, else the whole line. */
function toProblem(src: SourceLine, issue: Issue): Problem {
  const target = issue.at ?? issue.pointer;
  const range = target === undefined ? undefined : jsonPointerRange(src.text, target);
  const problem = located(src, range?.start ?? 0, range?.end ?? src.text.length, issue.severity, issue.code, issue.reason, false);
  if (issue.pointer !== undefined) problem.pointer = issue.pointer;
  return problem;
}

function isHighSurrogate(c: number): boolean {
  return c >= 0xd800 && c <= 0xdbff;
}

/** Where a document's format came from. */
export type FormatSource = 'given' | 'detected' | 'fallback';

export interface ParsedDocument {
  format: FormatSpec;
  formatSource: FormatSource;
  records: ParsedRecord[];
}

/** Format detection reads at most this many lines, so a file of garbage is not buffered whole. */
export const DETECT_MAX_LINES = 1000;

/** When no record matches any format, records are checked as Alpaca: the errors then say which fields are missing. */
export const FALLBACK_FORMAT: FormatSpec = { name: 'alpaca' };

/**
 * Collects the first `DETECT_SAMPLE` parsable objects (within `DETECT_MAX_LINES` lines) for
 * `detectFormat`. Shared by the document and file readers so both decide the same way.
 */
class FormatSampler {
  private readonly values: unknown[] = [];
  private lines = 0;

  /** Returns true once enough has been seen to decide. */
  offer(src: SourceLine): boolean {
    this.lines++;
    const first = src.text.search(/\S/);
    if (first >= 0 && src.text.charCodeAt(first) === 0x7b) {
      try {
        this.values.push(JSON.parse(src.text));
      } catch {
        // Unparsable lines don't vote; parseRecord reports them.
      }
    }
    return this.values.length >= DETECT_SAMPLE || this.lines >= DETECT_MAX_LINES;
  }

  decide(): { format: FormatSpec; formatSource: FormatSource } {
    const name = detectFormat(this.values);
    return name ? { format: { name }, formatSource: 'detected' } : { format: FALLBACK_FORMAT, formatSource: 'fallback' };
  }
}

/** Parses an in-memory document (an editor buffer), detecting its format unless one is given. */
export function parseDocument(text: string, format?: FormatSpec): ParsedDocument {
  const lines = splitDocumentLines(text);
  let spec: FormatSpec;
  let formatSource: FormatSource = 'given';
  if (format) spec = format;
  else {
    const sampler = new FormatSampler();
    for (const src of lines) if (sampler.offer(src)) break;
    ({ format: spec, formatSource } = sampler.decide());
  }
  const records = new Array<ParsedRecord>(lines.length);
  for (let i = 0; i < lines.length; i++) records[i] = parseRecord(lines[i], spec);
  return { format: spec, formatSource, records };
}

export interface ParseFileOptions extends ReadLinesOptions {
  /** Called once, before the first record, with the format the records are read as. */
  onFormat?: (format: FormatSpec, source: FormatSource) => void;
}

/**
 * Streams the records of a file. Without a format, lines are buffered until the sample for
 * detection is complete (at most `DETECT_MAX_LINES`), then streaming goes on. Returns the format.
 */
export async function* parseFile(path: string, format?: FormatSpec, opts: ParseFileOptions = {}): AsyncGenerator<ParsedRecord, FormatSpec> {
  let spec = format;
  if (spec) opts.onFormat?.(spec, 'given');
  const sampler = new FormatSampler();
  let pending: SourceLine[] = [];
  const decide = (): FormatSpec => {
    const d = sampler.decide();
    opts.onFormat?.(d.format, d.formatSource);
    return d.format;
  };
  for await (const batch of readFileLineBatches(path, opts)) {
    for (const src of batch) {
      if (spec) {
        const record = parseRecord(src, spec);
        yield record;
        if (endsFile(record)) return spec;
        continue;
      }
      pending.push(src);
      if (sampler.offer(src)) {
        spec = decide();
        const buffered = pending;
        pending = [];
        for (const p of buffered) {
          const record = parseRecord(p, spec);
          yield record;
          if (endsFile(record)) return spec;
        }
      }
    }
  }
  if (!spec) {
    spec = decide();
    for (const p of pending) {
      const record = parseRecord(p, spec);
      yield record;
      if (endsFile(record)) return spec;
    }
  }
  return spec;
}
