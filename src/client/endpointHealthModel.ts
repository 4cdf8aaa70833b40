import type { EndpointHealthParams, StatusParams } from '../protocol';

/**
 * What the status items say about the endpoint URLs' health (editor-free, so it can be tested).
 * VS Code lays each language status item out on one row of its hover and scrolls a row that is too
 * wide, so the health of the endpoints gets a row of its own (`sift.endpoint`, shown only while one
 * is down) with short words: host, since when, the error's code, when it is tried again. The log
 * has the full error.
 */
export interface EndpointHealthView {
  /** Every configured endpoint is down. */
  allDown: boolean;
  /** `1 of 2 up` when some (not all) replicas are down; else undefined. */
  replicas?: string;
  /** `1 record waiting` when records wait for the endpoint; else undefined. */
  waiting?: string;
  /** The row of the endpoint item, while any endpoint is down. */
  item?: { text: string; detail: string };
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

function retryText(down: readonly EndpointHealthParams[], now: number): string {
  const next = Math.min(...down.map((e) => e.nextProbeAt ?? Infinity));
  return Number.isFinite(next) ? `retry in ${Math.max(0, Math.ceil((next - now) / 1000))} s` : '';
}

function endpointItem(down: readonly EndpointHealthParams[], total: number, now: number): { text: string; detail: string } {
  const retry = retryText(down, now);
  if (down.length === 1) {
    const [e] = down as [EndpointHealthParams];
    const since = e.downSince !== undefined ? ` since ${clock(e.downSince)}` : '';
    return { text: `${hostOf(e.url)} down${since}`, detail: [e.lastError ? shortReason(e.lastError) : '', retry].filter(Boolean).join(', ') };
  }
  const hosts = down.map((e) => `${hostOf(e.url)}${e.lastError ? ` (${shortReason(e.lastError)})` : ''}`).join(', ');
  return { text: `${down.length} of ${total} replicas down`, detail: [hosts, retry].filter(Boolean).join('; ') };
}

export function describeEndpoints(status: Pick<StatusParams, 'endpoints' | 'waiting'>, now = Date.now()): EndpointHealthView {
  const list = status.endpoints ?? [];
  const down = list.filter((e) => !e.up);
  const allDown = list.length > 0 && down.length === list.length;
  const waiting = status.waiting && status.waiting > 0 ? `${status.waiting.toLocaleString('en-US')} record${status.waiting === 1 ? '' : 's'} waiting` : undefined;
  return {
    allDown,
    ...(down.length > 0 && !allDown ? { replicas: `${list.length - down.length} of ${list.length} up` } : {}),
    ...(waiting ? { waiting } : {}),
    ...(down.length > 0 ? { item: endpointItem(down, list.length, now) } : {}),
  };
}
