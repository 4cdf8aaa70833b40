import { setMaxListeners } from 'node:events';
import { abortReason, throwIfAborted } from '../../net/retry';

/**
 * Run `tasks` concurrently (the pool bounds real concurrency), resolving with all results in
 * order. The first failure aborts the others (through the signal each task receives) and rejects
 * with that failure; an abort of `signal` rejects with its reason.
 */
export async function runAll<T>(
  count: number,
  task: (index: number, signal: AbortSignal) => Promise<T>,
  signal?: AbortSignal,
): Promise<T[]> {
  throwIfAborted(signal);
  const ctl = new AbortController();
  setMaxListeners(0, ctl.signal); // every request in flight listens on it (replicas × in-flight limit)
  const onAbort = (): void => ctl.abort(abortReason(signal));
  signal?.addEventListener('abort', onAbort, { once: true });
  let firstError: { e: unknown } | undefined;
  try {
    const promises: Promise<T>[] = [];
    for (let i = 0; i < count; i++) {
      promises.push(
        task(i, ctl.signal).catch((e: unknown) => {
          if (firstError === undefined) {
            firstError = { e };
            ctl.abort(e);
          }
          throw e;
        }),
      );
    }
    const settled = await Promise.allSettled(promises);
    if (signal?.aborted) throw abortReason(signal);
    if (firstError !== undefined) throw firstError.e;
    return settled.map((s) => (s as PromiseFulfilledResult<T>).value);
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}
