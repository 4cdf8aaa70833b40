/**
 * The one way a secret is kept out of text that can reach a user, a log or an event. The API key
 * lives only in the `Authorization` header of outgoing requests; every message built from what a
 * server (or proxy) answered passes through {@link redact}, so a server that echoes the key back
 * still cannot leak it.
 */

export const REDACTED = '«redacted»';

/**
 * Replaces every occurrence of each secret in `text`, raw and JSON-escaped (a key inside a traced
 * message is JSON), and removes credentials and query strings from the URLs in it. Secrets shorter
 * than 4 characters are left alone: replacing them would mangle ordinary text and they are not real
 * keys.
 */
export function redact(text: string, secrets: readonly (string | undefined)[]): string {
  let result = redactUrls(text);
  for (const secret of secrets) {
    if (!secret || secret.length < 4) continue;
    const forms = new Set([secret, JSON.stringify(secret).slice(1, -1)]);
    for (const form of forms) result = result.split(form).join(REDACTED);
  }
  return result;
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
