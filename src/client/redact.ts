import { redactUrls } from '../core/scoring/http/errors';

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
