/**
 * Teacher reflection in the language server: the teacher sessions (sessions.ts), which records a
 * request covers (selection.ts), the pipeline runs (reflections.ts), and their results as the diff
 * view shows them (views.ts).
 */
export { NO_TEACHER_MESSAGE, NoTeacherError, ReflectionRequestError } from './errors';
export { Reflections, type ReflectionDeps, type ReportProgress } from './reflections';
export { normalizeReflectionSettings, reflectionSettingsFromSection } from './settings';
