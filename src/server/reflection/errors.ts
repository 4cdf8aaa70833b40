import { REFLECTION_MODES, type ReflectionMode } from '../../protocol/reflectionView';

/** Reflection was asked for, but no teacher is configured. */
export class NoTeacherError extends Error {
  override name = 'NoTeacherError';
}

/** A request that cannot be served as asked (bad arguments, a changed document): the message says why. */
export class ReflectionRequestError extends Error {
  override name = 'ReflectionRequestError';
}

export const NO_TEACHER_MESSAGE =
  'No teacher is configured: set sift.teacher.baseUrl and sift.teacher.model (and the teacher\'s API key, if the endpoint needs one).';

/** A mode as a client sent it (any LSP client may send anything). */
export function checkMode(mode: unknown): asserts mode is ReflectionMode {
  if (!(REFLECTION_MODES as readonly unknown[]).includes(mode)) {
    throw new ReflectionRequestError(`mode must be one of ${REFLECTION_MODES.join(', ')}, got ${String(mode)}`);
  }
}
