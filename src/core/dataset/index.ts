export type {
  FieldMapping,
  FormatName,
  FormatSpec,
  ParsedRecord,
  Problem,
  Severity,
  SourceLine,
  TrainingPair,
  Turn,
} from './types';
export {
  lineEndingOf,
  readFileLineBatches,
  readFileLines,
  readStreamLineBatches,
  splitDocumentLines,
  type ReadLinesOptions,
} from './lines';
export { DETECT_SAMPLE, FORMAT_NAMES, detectFormat, formatOfValue, toTrainingPair, type MappedRecord } from './formats';
export { FORMAT_SCHEMAS, MESSAGE_ROLES, SHAREGPT_ROLES } from './schemas';
export { MAX_SCHEMA_ISSUES, resolvePath, validateRecord, type PathLookup } from './validate';
export { joinPointer, jsonPointerRange, parsePointer, type TextRange } from './json-pointer';
export { describeJsonSyntaxError, findJsonSyntaxError, type JsonSyntaxError } from './json-syntax';
export {
  DETECT_MAX_LINES,
  FALLBACK_FORMAT,
  isScorable,
  parseDocument,
  parseFile,
  parseRecord,
  type FormatSource,
  type ParseFileOptions,
  type ParsedDocument,
} from './parse';
export type { Issue } from './issue';
export { assistantTurns } from './turns';
