import { parseShare } from '../core/metrics/share';

/** A mistake in how the command was called: exit code 2, a message, no stack trace. */
export class UsageError extends Error {
  override name = 'UsageError';
}

export const EXIT_OK = 0;
export const EXIT_RECORDS_FAILED = 1;
export const EXIT_USAGE = 2;
/** The run itself could not proceed (model missing, endpoint unreachable after retries). */
export const EXIT_RUN_FAILED = 3;

/** A share of records by the one rule in {@link parseShare}. */
export function parsePercent(value: string, flag: string): number {
  const share = parseShare(value);
  if (typeof share === 'string') throw new UsageError(`${flag}: ${share}`);
  return share;
}

export function parseNumber(value: string, flag: string): number {
  const number = Number(value);
  if (value.trim() === '' || !Number.isFinite(number)) throw new UsageError(`${flag} expects a number (got "${value}")`);
  return number;
}

export function oneOf<T extends string>(value: string, allowed: readonly T[], flag: string): T {
  if (!(allowed as readonly string[]).includes(value)) {
    throw new UsageError(`${flag} must be one of ${allowed.join(', ')} (got "${value}")`);
  }
  return value as T;
}

/** A commander action that runs a command and makes its result the process's exit code. */
export function exitWith<A extends unknown[]>(command: (...args: A) => Promise<number>): (...args: A) => Promise<void> {
  return async (...args) => {
    process.exitCode = await command(...args);
  };
}
