import type { TeacherEvent } from './teacher';

/** A teacher client's retry or give-up, as one log line (the CLI's stderr, the server's log). */
export function describeTeacherEvent(event: TeacherEvent): string {
  if (event.type === 'retry') {
    return `teacher: ${event.message}; retrying in ${(event.delayMs / 1000).toFixed(1)} s (attempt ${event.attempt} of ${event.maxAttempts})`;
  }
  return `teacher: ${event.message}; giving up after ${event.attempts} attempts`;
}
