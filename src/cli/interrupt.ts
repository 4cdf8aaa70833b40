/** Exit codes after a stop signal (128 + the signal's number), as shells report them. */
const EXIT_AFTER_SIGNAL = { SIGINT: 130, SIGTERM: 143 } as const;

const SCORES_KEPT = 'interrupted: scores computed so far are kept in the score store; run the same command again to resume';

/** The run was stopped by a signal; `exitCode` is what the process should exit with. */
export class Interrupted {
  constructor(readonly exitCode: number) {}
}

/**
 * Aborts on Ctrl-C and on SIGTERM (what `kill`, `timeout`, container and service managers send), so
 * both stop a run the same clean way. Call `dispose` when the run is over.
 */
function abortOnStopSignals(abort: AbortController): { exitCode: () => number; dispose: () => void } {
  let received: keyof typeof EXIT_AFTER_SIGNAL = 'SIGINT';
  const handlers = (Object.keys(EXIT_AFTER_SIGNAL) as (keyof typeof EXIT_AFTER_SIGNAL)[]).map((signal) => {
    const handler = (): void => {
      if (!abort.signal.aborted) received = signal;
      abort.abort();
    };
    // `on`, not `once`: a library's signal-exit handler re-raises the signal when it sees no other listener.
    process.on(signal, handler);
    return { signal, handler };
  });
  return {
    exitCode: () => EXIT_AFTER_SIGNAL[received],
    dispose: () => {
      for (const { signal, handler } of handlers) process.removeListener(signal, handler);
    },
  };
}

/**
 * Runs `work` with a signal that Ctrl-C or SIGTERM aborts, so a run stops cleanly: the stores are
 * flushed (everything finished so far is kept and a re-run resumes), outputs are not half-written.
 * Resolves with `Interrupted` when stopped, after printing `interruptedMessage()` (by default what
 * a scoring run keeps).
 */
export async function interruptible<T>(work: (signal: AbortSignal) => Promise<T>, interruptedMessage: () => string = () => SCORES_KEPT): Promise<T | Interrupted> {
  const abort = new AbortController();
  const signals = abortOnStopSignals(abort);
  try {
    return await work(abort.signal);
  } catch (error) {
    if (abort.signal.aborted) {
      process.stderr.write(`${interruptedMessage()}\n`);
      return new Interrupted(signals.exitCode());
    }
    throw error;
  } finally {
    signals.dispose();
  }
}
