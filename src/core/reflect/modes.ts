/**
 * The names the reflection pipeline and the editor's protocol share. It imports nothing, so the
 * diff webview's browser bundle can take it along with src/protocol/reflectionView.ts.
 */

/**
 * Which stages of Selective Reflection-Tuning run (METHODS §4.1): `instruction` = stage 1 only,
 * `response` = stage 2 only on the original pair, `selective` = stage 1 then stage 2 on the pair
 * stage 1 kept.
 */
export type ReflectionMode = 'instruction' | 'response' | 'selective';
export const REFLECTION_MODES: readonly ReflectionMode[] = ['instruction', 'response', 'selective'];

/** The pairs a reflection compares: the record's own, and the rewrite of each stage. */
export type CandidateId = 'original' | 'instruction-reflected' | 'response-reflected';
export const CANDIDATE_IDS: readonly CandidateId[] = ['original', 'instruction-reflected', 'response-reflected'];
