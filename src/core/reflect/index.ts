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
export { REFLECTION_MODES } from './types';
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
