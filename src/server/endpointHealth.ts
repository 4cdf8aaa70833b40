/**
 * The words the server uses for the scoring endpoint's health: the warning written to the log when
 * an endpoint stops or starts answering, and the status fields the client's status item shows.
 */
import type { EndpointState, HealthChange } from '../core/net/health';
import type { EndpointHealthParams } from '../protocol';

/** The log line of a change, or undefined for a failed probe (already said when it went down). */
export function healthChangeLine(change: HealthChange, now = Date.now()): string | undefined {
  if (!change.flipped) return undefined;
  const { state, all } = change;
  const replicas = all.length > 1 ? ` (${all.filter((s) => s.up).length} of ${all.length} replicas up)` : '';
  if (state.up) return `endpoint ${state.url} answers again${replicas}`;
  const retry = state.nextProbeAt !== undefined ? `; checking again in ${seconds(state.nextProbeAt - now)}` : '';
  return `endpoint ${state.url} is unreachable: ${state.lastError ?? 'no answer'}${replicas}${retry}`;
}

/** The status notification's view of each endpoint. */
export function endpointParams(states: readonly EndpointState[]): EndpointHealthParams[] {
  return states.map((s) => ({
    url: s.url,
    up: s.up,
    ...(s.downSince !== undefined ? { downSince: s.downSince } : {}),
    ...(s.lastError !== undefined ? { lastError: s.lastError } : {}),
    ...(s.nextProbeAt !== undefined ? { nextProbeAt: s.nextProbeAt } : {}),
  }));
}

function seconds(ms: number): string {
  return `${Math.max(0, Math.ceil(ms / 1000))} s`;
}
