import type { InspectedValue } from './settingsModel';

/**
 * Where Sift may send the user's keys and datasets. A repository's `.vscode/settings.json` can point
 * `sift.endpointUrls` or `sift.teacher.baseUrl` anywhere; with auto-scoring on, opening a `.jsonl`
 * would send the dataset, and the user's stored key, there without a word. So:
 * - each stored key is bound to the origins (scheme://host:port) it was entered or confirmed for and
 *   is never sent to another one;
 * - an endpoint that comes from workspace settings is used only once the user said yes to its origin
 *   (asked once per workspace and origin).
 * This file holds the decisions; endpointTrust.ts asks the user and stores the answers.
 */

/** `scheme://host:port` of an http(s) URL (the port only when not the scheme's default), else undefined. */
export function originOf(url: string): string | undefined {
  try {
    const parsed = new URL(url.trim());
    return parsed.protocol === 'http:' || parsed.protocol === 'https:' ? parsed.origin : undefined;
  } catch {
    return undefined;
  }
}

/** The distinct origins of some URLs, in order; URLs that are not http(s) are left out (the server refuses them). */
export function originsOf(urls: readonly string[]): string[] {
  return [...new Set(urls.map(originOf).filter((o): o is string => o !== undefined))];
}

/** A stored key and the origins it may be sent to. */
export interface BoundKey {
  key: string;
  origins: string[];
}

/**
 * Reads a stored key. Keys stored before keys were bound are plain strings: they are bound to no
 * origin, so they are not sent until the user confirms where they belong.
 */
export function parseStoredKey(raw: string | undefined): BoundKey | undefined {
  if (!raw) return undefined;
  try {
    const value = JSON.parse(raw) as unknown;
    if (value && typeof value === 'object' && typeof (value as BoundKey).key === 'string' && Array.isArray((value as BoundKey).origins)) {
      const { key, origins } = value as BoundKey;
      return key ? { key, origins: origins.filter((o) => typeof o === 'string') } : undefined;
    }
  } catch {
    // A plain (legacy) key.
  }
  return { key: raw, origins: [] };
}

export function serializeKey(key: BoundKey): string {
  return JSON.stringify({ key: key.key, origins: key.origins });
}

export type KeyDecision =
  | { kind: 'none' }
  | { kind: 'send'; key: string }
  /** The key was entered for other origins (`boundTo`): it is not sent to `unbound`. */
  | { kind: 'withheld'; boundTo: string[]; unbound: string[] };

/** Whether the stored key goes with requests to `urls`: only when every one of their origins is one it is bound to. */
export function keyFor(stored: BoundKey | undefined, urls: readonly string[]): KeyDecision {
  const targets = originsOf(urls);
  if (!stored || targets.length === 0) return { kind: 'none' };
  const unbound = targets.filter((origin) => !stored.origins.includes(origin));
  return unbound.length === 0 ? { kind: 'send', key: stored.key } : { kind: 'withheld', boundTo: stored.origins, unbound };
}

/** The key bound to `origins` as well (the user confirmed it belongs there). */
export function bindTo(stored: BoundKey, origins: readonly string[]): BoundKey {
  return { key: stored.key, origins: [...new Set([...stored.origins, ...origins])] };
}

function strings(value: unknown): string[] {
  if (typeof value === 'string') return value.trim() ? [value.trim()] : [];
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string' && v.trim() !== '').map((v) => v.trim()) : [];
}

/**
 * The origins of a URL setting's value that come from the workspace (workspace or folder settings,
 * plain or `[jsonl]`) and not from the user's own settings: those need the user's consent.
 */
export function workspaceOrigins(inspected: InspectedValue | undefined): string[] {
  if (!inspected) return [];
  const user = new Set(originsOf([...strings(inspected.globalValue), ...strings(inspected.globalLanguageValue)]));
  const workspace = [inspected.workspaceValue, inspected.workspaceFolderValue, inspected.workspaceLanguageValue, inspected.workspaceFolderLanguageValue].flatMap(strings);
  return originsOf(workspace).filter((origin) => !user.has(origin));
}

/** Of the origins an effective setting sends to, those that came from the workspace and the user has not approved. */
export function unapprovedOrigins(effectiveUrls: readonly string[], fromWorkspace: readonly string[], approved: (origin: string) => boolean | undefined): string[] {
  return originsOf(effectiveUrls).filter((origin) => fromWorkspace.includes(origin) && approved(origin) !== true);
}

/** The workspaceState key of the user's answer for one origin. */
export function consentStateKey(origin: string): string {
  return `sift.endpointConsent:${origin}`;
}

/** What the modal says before the first use of a workspace endpoint. */
export function consentQuestion(what: 'scoring' | 'teacher', origin: string): string {
  const sent = what === 'scoring' ? 'the text of the datasets you open (auto-scoring)' : 'the records you reflect';
  return `This workspace's settings send ${sent} to ${origin} (sift.${what === 'scoring' ? 'endpointUrls' : 'teacher.baseUrl'}). Use this endpoint?`;
}

/** What Sift says when a key is withheld. */
export function withheldMessage(what: 'scoring' | 'teacher', decision: Extract<KeyDecision, { kind: 'withheld' }>): string {
  const name = what === 'scoring' ? 'scoring' : 'teacher';
  const where = decision.boundTo.length > 0 ? `was entered for ${decision.boundTo.join(', ')}` : 'was stored before Sift bound keys to endpoints';
  return `The ${name} API key ${where}; it is not sent to ${decision.unbound.join(', ')}.`;
}
