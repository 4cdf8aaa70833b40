import type { EndpointHealthParams } from '../protocol';

/** What the status item says about the endpoint URLs' health (editor-free, so it can be tested). */
export interface EndpointHealthView {
  /** Every configured endpoint is down. */
  allDown: boolean;
  /** `1 of 2 replicas up` when some (not all) replicas are down; else undefined. */
  replicas?: string;
  /** One line per endpoint that is down, and how many records wait for it. */
  detail: string[];
}

/** `08:01:12`: when an endpoint stopped answering, in the user's local time. */
function clock(ms: number): string {
  const d = new Date(ms);
  return [d.getHours(), d.getMinutes(), d.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
}

/** `http://gpu:8000 unreachable since 08:01:12 (connect ECONNREFUSED); retrying in 4 s` */
export function downLine(endpoint: EndpointHealthParams, now: number): string {
  const since = endpoint.downSince !== undefined ? ` since ${clock(endpoint.downSince)}` : '';
  const why = endpoint.lastError ? ` (${endpoint.lastError})` : '';
  const retry = endpoint.nextProbeAt !== undefined ? `; retrying in ${Math.max(0, Math.ceil((endpoint.nextProbeAt - now) / 1000))} s` : '';
  return `${endpoint.url} unreachable${since}${why}${retry}`;
}

export function describeEndpoints(endpoints: readonly EndpointHealthParams[] | undefined, waiting: number | undefined, now = Date.now()): EndpointHealthView {
  const list = endpoints ?? [];
  const down = list.filter((e) => !e.up);
  const detail = down.map((e) => downLine(e, now));
  if (waiting && waiting > 0) detail.push(`${waiting.toLocaleString('en-US')} record${waiting === 1 ? '' : 's'} waiting for the endpoint: scored as soon as it answers`);
  const allDown = list.length > 0 && down.length === list.length;
  const replicas = down.length > 0 && !allDown ? `${list.length - down.length} of ${list.length} replicas up` : undefined;
  return { allDown, ...(replicas ? { replicas } : {}), detail };
}
