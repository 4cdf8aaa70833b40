/**
 * Reading what a server answered: JSON as Python servers write it, and the human-readable message
 * of an error body in the shapes the servers Sift talks to use.
 */
import { MalformedResponseError } from './errors';

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
