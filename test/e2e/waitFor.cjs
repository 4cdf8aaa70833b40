// The e2e harness's one way to wait: check a condition until it holds, fail after a time limit
// saying what was awaited. CommonJS so that both the ESM harness (run by Node) and the mocha suite
// (loaded with require() inside VS Code's extension host) use this same file; the unit, integration
// and server tests have its TypeScript twin, test/helpers/waitFor.ts.

/**
 * Resolves with the first result of `check()` (sync or async) that is not undefined, null or false.
 * A check that throws is tried again (a page being reloaded, a file being replaced): its last error
 * is in the message if time runs out.
 *   timeoutMs   give up after this long (default 30 s)
 *   intervalMs  pause between checks (default 250 ms)
 *   gone()      why waiting longer is pointless (a process exited), or a falsy value to go on
 *   detail()    more to say when the wait fails (the last value seen)
 */
async function waitFor(what, check, { timeoutMs = 30_000, intervalMs = 250, gone, detail } = {}) {
  const deadline = Date.now() + timeoutMs;
  let lastError;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== null && value !== false) return value;
    } catch (error) {
      lastError = error;
    }
    const reason = gone && gone();
    if (reason || Date.now() > deadline) {
      const why = reason ? `stopped waiting for ${what}: ${reason}` : `timed out after ${timeoutMs / 1000} s waiting for ${what}`;
      const more = [lastError ? `last error: ${lastError.message}` : '', detail ? detail() : ''].filter(Boolean).join('; ');
      throw new Error(more ? `${why} (${more})` : why);
    }
    await new Promise(resolve => setTimeout(resolve, intervalMs));
  }
}

module.exports = { waitFor };
