/**
 * How a network call failed, in the words every HTTP client of Sift (the scoring pool, the teacher)
 * shares: the kinds of failure, which HTTP statuses are worth retrying, and readable messages for
 * what `fetch` and servers report.
 */

/** `status`: the server answered with an error; `malformed`: a 2xx whose body is not what was promised. */
export type FailureKind = 'connection' | 'timeout' | 'status' | 'malformed';

/** One failed attempt, as the retry loop sees it. `message` is already redacted. */
export interface Failure {
  kind: FailureKind;
  retryable: boolean;
  status?: number;
  message: string;
  /** What the server asked for with `Retry-After` (or an equivalent header). */
  retryAfterMs?: number;
}

/**
 * A 2xx response whose body is not what the protocol promises: not JSON, truncated JSON, missing
 * log-probs, the wrong number of choices or tokens, NaN... Retryable (a restarted or overloaded
 * server can produce it), and counted against the retry limit like any other failure.
 */
export class MalformedResponseError extends Error {
  override name = 'MalformedResponseError';
}

/**
 * Statuses that say "try again later" for any server: timeout (408), rate limit (429) and server
 * errors (5xx). Callers add what their protocol also means that way (`extra`): 425 for the scoring
 * servers, 409 for OpenAI's API, 424 for TGI's failed generation.
 */
export function isRetryableStatus(status: number, extra: ReadonlySet<number> | readonly number[] = []): boolean {
  if (status === 408 || status === 429 || status >= 500) return true;
  return Array.isArray(extra) ? extra.includes(status) : (extra as ReadonlySet<number>).has(status);
}

/** A short description of a `fetch` network failure (`fetch failed` hides the cause). */
export function describeNetworkError(e: unknown): string {
  const parts: string[] = [];
  let cur: unknown = e;
  for (let depth = 0; depth < 4 && cur !== null && cur !== undefined; depth++) {
    if (cur instanceof Error) {
      const code = (cur as Error & { code?: unknown }).code;
      parts.push(typeof code === 'string' ? `${cur.message} (${code})` : cur.message);
      cur = (cur as Error & { cause?: unknown }).cause;
    } else {
      parts.push(String(cur));
      break;
    }
  }
  return parts.join(': ') || 'network error';
}
