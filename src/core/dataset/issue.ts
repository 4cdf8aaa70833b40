import type { Severity } from './types';

/**
 * A problem before it is placed on a line: validation and mapping work on parsed values and know
 * JSON pointers, not columns; `parse.ts` turns each Issue into a located `Problem`.
 */
export interface Issue {
  code: string;
  severity: Severity;
  /** Plain words, no location prefix. */
  reason: string;
  /** JSON pointer of the offending value (becomes `Problem.pointer`). */
  pointer?: string;
  /**
   * Pointer of the value to underline when that is not `pointer` itself, e.g. the object that
   * lacks a required field (the missing field has no text to underline).
   */
  at?: string;
}
