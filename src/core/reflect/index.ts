/**
 * Teacher reflection and student selection (Selective Reflection-Tuning, METHODS §4), editor-agnostic.
 *
 * One configuration (teacher endpoint + model + key, prompts, cache) is one `ReflectionSession`;
 * with the student's scorer and score store it makes a `Reflector`:
 *
 *   const teacher = new TeacherClient({ url, model, apiKey });          // key from env / SecretStorage
 *   const cache = await ReflectionCache.open(defaultReflectionCachePath(datasetPath));
 *   const session = new ReflectionSession({ teacher, cache, prompts }); // prompts: DEFAULT_PROMPTS or loadPromptOverride(path)
 *   const reflector = new Reflector({ session, student: { scorer, store, config: { template, boundary, ifdVariant } } });
 *
 *   reflector.estimate(pairs, mode);                          // calls and tokens, before anything runs
 *   await reflector.reflectRecord(pair, mode, { signal });    // one record (a code action)
 *   await reflector.reflectBatch(items, mode, { signal, onRecord, onProgress });  // many; cancel with the signal
 *   recordLine(record.text, record.value, format, result.keptPair); // the new JSONL text: only changed values rewritten
 *
 * Over a whole JSONL file (what `sift reflect` does), `FileReflection` reads the selected records,
 * runs the batch and writes the output atomically, every other line copied byte for byte.
 *
 * `FileReflection.reflectInBatches` (and `runTeacherBatch` for other callers) does the same with the
 * teacher's requests sent through the Batch API, at about half the price (`batch/run.ts`);
 * `estimateCost` turns a token estimate into money with the price table (`prices.ts`).
 *
 * `mode` is `instruction`, `response` or `selective`. Every result (`RecordReflection`) lists each
 * candidate with its scores, critique and fallbacks, each stage's decision and its reason, and the
 * teacher's token usage. Finished reflections are cached, so a cancelled batch resumes where it stopped.
 */
export type {
  Candidate,
  CandidateId,
  CandidateScores,
  FieldFallback,
  GateResult,
  RecordReflection,
  ReflectedField,
  Reflection,
  ReflectionKind,
  ReflectionMode,
  StageDecision,
  TeacherCallInfo,
  TokenUsage,
} from './types';
export { REFLECTION_MODES } from './modes';
export {
  TeacherClient,
  TeacherError,
  teacherBaseUrl,
  type ChatMessage,
  type ChatReply,
  type ChatRequest,
  type JsonSchemaFormat,
  type Teacher,
  type TeacherEvent,
  type TeacherSettings,
  type TeacherUsage,
} from './teacher';
export {
  DEFAULT_PROMPTS,
  PROMPT_VERSION,
  PromptOverrideError,
  checkPrompts,
  estimateCall,
  formatInstructions,
  loadPromptOverride,
  promptsFromOverride,
  reflectionMessages,
  type CallEstimate,
  type PromptSet,
  type PromptTemplate,
} from './prompts';
export { isComplete, parseDelimited, parseStructured, reflectionSchema, type ParsedOutput } from './parse';
export { ReflectionCache, defaultReflectionCachePath, reflectionKey, type CachedReflection } from './cache';
export { ReflectionSession, type ReflectionSessionOptions } from './reflection';
export {
  Reflector,
  estimateReflection,
  type BatchItem,
  type BatchOptions,
  type BatchSummary,
  type RecordRunOptions,
  type ReflectionEstimate,
  type ReflectorOptions,
  type StudentScoring,
} from './selective';
export { ApplyPairError, applyPair, recordLine } from './applyPair';
export { FileChangedError, rewriteLines, type LineEdit } from './rewriteLines';
export {
  FileReflection,
  type FileBatchOptions,
  type FileReflectionRun,
  type FileSelectionOptions,
  type LineFailure,
  type ReflectionTotals,
  type SelectedRecord,
} from './reflectFile';
export { TeacherBatchApi, type TeacherBatchApiSettings } from './batch/api';
export {
  BATCH_STATUSES,
  FINAL_BATCH_STATUSES,
  FileTeacherBatchJobs,
  defaultTeacherBatchJobsPath,
  jobDatasetName,
  linesOf,
  type BatchStatus,
  type TeacherBatchJob,
  type TeacherBatchJobs,
} from './batch/jobs';
export { BATCH_RETRIES, jobsOf, runTeacherBatch, type BatchRecord, type BatchRetry, type StudentLease, type TeacherBatchEvent, type TeacherBatchOutcome, type TeacherBatchRun } from './batch/run';
export { BUILT_IN_PRICES, PriceFileError, estimateCost, formatMoney, loadPriceFile, parsePriceTable, priceOf, type CostEstimate, type ModelPrice, type PriceTable } from './prices';
export { describeTeacherEvent } from './teacherEvent';
