/**
 * Error helpers shared by the HTTP scoring backends.
 *
 * Secrets: the API key lives only in the `Authorization` header of outgoing requests. Every message
 * that can reach a user, a log or an event passes through {@link redact}, so a server (or proxy)
 * that echoes the key back in an error body still cannot leak it.
 */

/**
 * A 2xx response whose body is not what the protocol promises: not JSON, truncated JSON, missing
 * log-probs, the wrong number of choices or tokens, NaN... Retryable (a restarted or overloaded
 * server can produce it), and counted against the retry limit like any other failure.
 */
export class MalformedResponseError extends Error {
  override name = 'MalformedResponseError';
}

/** Replace every occurrence of each secret in `text` with `***`. */
export function redact(text: string, secrets: readonly (string | undefined)[]): string {
  let out = text;
  for (const s of secrets) {
    if (s !== undefined && s.length >= 4) out = out.split(s).join('***');
  }
  return out;
}

/** A URL as shown to users: scheme, host, port and path; never credentials, query or fragment. */
export function displayUrl(url: string): string {
  try {
    const u = new URL(url);
    const path = u.pathname === '/' ? '' : u.pathname.replace(/\/+$/, '');
    return `${u.protocol}//${u.host}${path}`;
  } catch {
    return '<invalid url>';
  }
}

/**
 * Every http(s) URL in free text (a log line, a traced message) without credentials, query string
 * or fragment, where a key may hide (`http://user:key@host`, `?api_key=…`).
 */
export function redactUrls(text: string): string {
  return text.replace(/\bhttps?:\/\/[^\s"'<>\\]+/gi, (url) => url.replace(/^(https?:\/\/)[^/?#]*@/i, '$1').replace(/[?#].*$/, ''));
}

/**
 * JSON.parse, falling back to a lenient parse of the non-standard tokens Python's `json.dumps`
 * emits for non-finite floats (`-Infinity`, `Infinity`, `NaN`), which FastAPI's JSONResponse lets
 * through. The lenient pass only runs after a strict parse failed; a replacement inside a string
 * value could alter that string, which is harmless for the numeric fields we read. Throws
 * {@link MalformedResponseError} when the body is not JSON at all (e.g. truncated).
 */
export function parseJsonBody(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (first) {
    if (/(?:-?Infinity|NaN)/.test(text)) {
      const patched = text
        .replace(/([:,[]\s*)-Infinity(?=\s*[,}\]])/g, '$1-1e999')
        .replace(/([:,[]\s*)Infinity(?=\s*[,}\]])/g, '$11e999')
        .replace(/([:,[]\s*)NaN(?=\s*[,}\]])/g, '$1null');
      try {
        return JSON.parse(patched);
      } catch {
        // fall through to the original error
      }
    }
    const snippet = text.length > 80 ? `${text.slice(0, 80)}…` : text;
    throw new MalformedResponseError(
      `response is not valid JSON (${(first as Error).message}; ${text.length} bytes, starts ${JSON.stringify(snippet)})`,
    );
  }
}

/**
 * The human-readable message of an error body. Understands the shapes of vLLM (current
 * `{error: {message, type, param, code}}`, older `{object: "error", message, type, param, code}`,
 * the auth middleware's `{error: "Unauthorized"}`), FastAPI (`{detail: ...}`), SGLang and TGI
 * (`{error: "...", error_type: "..."}`), falling back to the (shortened) raw text.
 */
export function serverErrorMessage(bodyText: string, maxLength = 500): string {
  let msg: string | undefined;
  try {
    const body = JSON.parse(bodyText) as unknown;
    if (body !== null && typeof body === 'object') {
      const b = body as Record<string, unknown>;
      const err = b['error'];
      if (err !== null && typeof err === 'object' && typeof (err as Record<string, unknown>)['message'] === 'string') {
        msg = (err as Record<string, unknown>)['message'] as string;
      } else if (typeof b['message'] === 'string') {
        msg = b['message'];
      } else if (typeof err === 'string') {
        msg = err;
      } else if (typeof b['detail'] === 'string') {
        msg = b['detail'];
      } else if (b['detail'] !== undefined) {
        msg = JSON.stringify(b['detail']);
      }
    } else if (typeof body === 'string') {
      msg = body;
    }
  } catch {
    // not JSON
  }
  if (msg === undefined) msg = bodyText.trim();
  if (msg === '') msg = '(empty body)';
  return msg.length > maxLength ? `${msg.slice(0, maxLength)}…` : msg;
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
