/**
 * The one way the tests wait for something that happens in the background (a message from the
 * server, a file being written, a process reaching a point): check a condition again and again
 * until it holds, and fail after a time limit saying what was awaited, never sleep a fixed time and
 * hope. (The e2e harness, plain JavaScript run without a compile step, has the same in
 * test/e2e/waitFor.cjs.)
 */

export interface WaitOptions {
  /** Give up after this long (default 30 s). */
  timeoutMs?: number;
  /** Check again after this long at the latest (default 50 ms). */
  intervalMs?: number;
  /** Resolves when the condition may have changed (a message arrived): check again at once. */
  changed?: () => Promise<void>;
  /** Why waiting longer is pointless (the process exited), or undefined to go on. */
  gone?: () => string | undefined;
  /** More to say when the wait fails (the last log lines, stderr). */
  detail?: () => string;
}

/** A check that is not met yet returns undefined, null or false; anything else is the result. */
export type Check<T> = () => T | undefined | null | false | Promise<T | undefined | null | false>;

/** Resolves with the first result of `check` that is not undefined, null or false. */
export async function waitFor<T>(what: string, check: Check<T>, options: WaitOptions = {}): Promise<T> {
  const { timeoutMs = 30_000, intervalMs = 50 } = options;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== null && value !== false) return value;
    const gone = options.gone?.();
    const left = deadline - Date.now();
    if (gone !== undefined || left <= 0) {
      const why = gone !== undefined ? `stopped waiting for ${what}: ${gone}` : `timed out after ${timeoutMs / 1000} s waiting for ${what}`;
      const detail = options.detail?.();
      throw new Error(detail ? `${why}\n${detail}` : why);
    }
    await pause(Math.min(left, intervalMs), options.changed);
  }
}

function pause(ms: number, changed: (() => Promise<void>) | undefined): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    changed?.().then(() => {
      clearTimeout(timer);
      resolve();
    }, resolve);
  });
}
