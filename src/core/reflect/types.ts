import type { TrainingPair } from '../dataset/types';
import type { MetricResult, RecordLosses } from '../metrics/types';
import type { CandidateId, ReflectionMode } from './modes';

export { CANDIDATE_IDS, REFLECTION_MODES, type CandidateId, type ReflectionMode } from './modes';

/**
 * What a teacher is asked to rewrite (METHODS §4.4): the instruction (a new, harder instruction and
 * its answer) or the response (a better answer to the same instruction).
 */
export type ReflectionKind = 'instruction' | 'response';

/** The fields a reflection can rewrite. */
export type ReflectedField = 'instruction' | 'response';

/** Tokens as the endpoint's `usage` reports them. */
export interface TokenUsage {
  promptTokens: number;
  completionTokens: number;
}

/**
 * A field whose teacher output could not be used, so the candidate keeps the original text there
 * (METHODS §4.5: never a silent empty pair). `reason` says why in plain words.
 */
export interface FieldFallback {
  field: ReflectedField;
  fallback: true;
  reason: string;
}

/** How one teacher reflection was obtained. */
export interface TeacherCallInfo {
  /** Chat calls made for it (2 when the first output was unusable and was asked again); 0 when cached. */
  calls: number;
  /** HTTP attempts including transport retries (429, 5xx, timeouts). */
  attempts: number;
  usage: TokenUsage;
  /** Answered from the reflection cache: no call was made. */
  cached: boolean;
  /** The output was requested as a JSON schema (false: delimited sections). */
  structured: boolean;
}

/** One teacher rewrite of a pair, with fallbacks applied. */
export interface Reflection {
  kind: ReflectionKind;
  /** The teacher's critique ('' when it gave none; see `notes`). */
  critique: string;
  /** The candidate pair: the original with the rewritten fields (history kept). */
  pair: TrainingPair;
  fallbacks: FieldFallback[];
  /** Things worth showing that did not force a fallback (a missing critique, a retry that fixed the output). */
  notes: string[];
  teacher: TeacherCallInfo;
}

/** The student's verdict on one candidate. */
export interface CandidateScores {
  ifd: MetricResult;
  rifd: MetricResult;
}

/** Every pair the pipeline considered for a record, with where it came from and how it scored. */
export interface Candidate {
  id: CandidateId;
  /** The pair (history is the record's and is not repeated here). */
  instruction: string;
  input: string;
  response: string;
  /** Null when the candidate was never scored (the teacher failed). */
  scores: CandidateScores | null;
  losses?: RecordLosses;
  /** Why scoring failed for this candidate, when it did (endpoint failure). */
  scoreError?: string;
  /** The teacher's part, for reflected candidates. */
  critique?: string;
  fallbacks: FieldFallback[];
  notes: string[];
  teacher?: TeacherCallInfo;
  /** The teacher call failed: there is no rewrite and the candidate was not compared. */
  teacherError?: string;
  /** The candidate was left out of the comparison, and why. */
  ineligible?: string;
}

/** One stage's pairwise comparison (METHODS §4.1 Eq. 6 and Eq. 9). */
export interface StageDecision {
  stage: ReflectedField;
  metric: 'ifd' | 'rifd';
  /** Which value wins: `higher` IFD in the instruction stage, `lower` r-IFD in the response stage. */
  rule: 'higher' | 'lower';
  /** The incumbent and the challenger. */
  between: [CandidateId, CandidateId];
  chosen: CandidateId;
  reason: string;
}

/** The result of the released selection script's extra rule (METHODS §4.3), when it is on. */
export interface GateResult {
  passed: boolean;
  reason: string;
}

/** Everything the pipeline did for one record, in a shape a report or a diff view can show. */
export interface RecordReflection {
  mode: ReflectionMode;
  candidates: Candidate[];
  decisions: StageDecision[];
  /** The candidate kept, or null when the released gate dropped the record. */
  kept: CandidateId | null;
  /** The kept pair with the record's history; undefined when dropped. */
  keptPair?: TrainingPair;
  /** The kept pair differs from the original. */
  changed: boolean;
  /** The outcome in one sentence. */
  reason: string;
  gate?: GateResult;
  /** Teacher calls made for this record (cached reflections cost nothing). */
  usage: TokenUsage & { calls: number; cachedReflections: number };
  /** Something failed (a teacher call after its retries, scoring): the record counts as failed. */
  error?: string;
}
