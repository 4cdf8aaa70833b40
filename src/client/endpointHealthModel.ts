import type { EndpointHealthParams } from '../protocol';

/**
 * What the status item says about the endpoint URLs' health (editor-free, so it can be tested).
 * VS Code lays a language status item's text and detail out on one row of its hover, so the words
 * are short: host, since when, the error's code, when it is tried again. The log has the full error.
 */
export interface EndpointHealthView {
  /** Every configured endpoint is down. */
  allDown: boolean;
  /** `1 of 2 up` when some (not all) replicas are down; else undefined. */
  replicas?: string;
  /** One part per endpoint that is down, and how many records wait for it. */
  detail: string[];
}

/** `08:01:12`: when an endpoint stopped answering, in the user's local time. */
function clock(ms: number): string {
  const d = new Date(ms);
  return [d.getHours(), d.getMinutes(), d.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
}

/** `gpu:8000` of `http://gpu:8000` (the scheme says nothing here). */
function hostOf(url: string): string {
  try {
    const u = new URL(url);
    return `${u.host}${u.pathname === '/' ? '' : u.pathname}`;
  } catch {
    return url;
  }
}

/** The gist of a failure: the system error code, the HTTP status, "timed out", or the message's start. */
export function shortReason(message: string): string {
  const code = /\b(E[A-Z]{3,}[A-Z_]*)\b/.exec(message);
  if (code) return code[1];
  const status = /\bHTTP (\d{3})\b/.exec(message);
  if (status) return `HTTP ${status[1]}`;
  if (/no complete response within|timed out/i.test(message)) return 'timed out';
  return message.length > 40 ? `${message.slice(0, 40)}…` : message;
}

/** `gpu:8000 since 08:01:12 (ECONNREFUSED), retry in 4 s`; `named` adds "unreachable" (when the text does not say it). */
export function downPart(endpoint: EndpointHealthParams, now: number, named = false): string {
  const since = endpoint.downSince !== undefined ? ` since ${clock(endpoint.downSince)}` : '';
  const why = endpoint.lastError ? ` (${shortReason(endpoint.lastError)})` : '';
  const retry = endpoint.nextProbeAt !== undefined ? `, retry in ${Math.max(0, Math.ceil((endpoint.nextProbeAt - now) / 1000))} s` : '';
  return `${hostOf(endpoint.url)}${named ? ' unreachable' : ''}${since}${why}${retry}`;
}

export function describeEndpoints(endpoints: readonly EndpointHealthParams[] | undefined, waiting: number | undefined, now = Date.now()): EndpointHealthView {
  const list = endpoints ?? [];
  const down = list.filter((e) => !e.up);
  const allDown = list.length > 0 && down.length === list.length;
  const detail = down.map((e) => downPart(e, now, !allDown));
  if (waiting && waiting > 0) detail.push(`${waiting.toLocaleString('en-US')} waiting`);
  const replicas = down.length > 0 && !allDown ? `${list.length - down.length} of ${list.length} up` : undefined;
  return { allDown, ...(replicas ? { replicas } : {}), detail };
}
