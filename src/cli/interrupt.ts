/** Exit code after Ctrl-C (128 + SIGINT), as shells report it. */
export const EXIT_INTERRUPTED = 130;

/**
 * Runs `work` with a signal that Ctrl-C aborts, so a run stops cleanly: the score store is flushed
 * (everything scored so far is kept and a re-run resumes), outputs are not half-written.
 * Resolves with `undefined` when interrupted.
 */
export async function interruptible<T>(work: (signal: AbortSignal) => Promise<T>): Promise<T | undefined> {
  const abort = new AbortController();
  const onSignal = (): void => abort.abort();
  // `on`, not `once`: a library's signal-exit handler re-raises the signal when it sees no other listener.
  process.on('SIGINT', onSignal);
  try {
    return await work(abort.signal);
  } catch (error) {
    if (abort.signal.aborted) {
      process.stderr.write('interrupted: scores computed so far are kept in the score store; run the same command again to resume\n');
      return undefined;
    }
    throw error;
  } finally {
    process.removeListener('SIGINT', onSignal);
  }
}
