/**
 * Endpoints a scorer could not connect to at all (every replica down when it started): probed with
 * back-off like the replicas of a connected scorer, so a caller can connect again by itself as
 * soon as one answers, instead of waiting for the user to ask.
 */
import type { EndpointHealth } from '../../net/health';
import { HttpEndpointPool } from './pool';

export interface EndpointWatch {
  readonly health: EndpointHealth;
  close(): void;
}

/** Starts probing every URL (all unreachable for `reason`); `close` stops it. */
export function watchUnreachable(urls: string[], apiKey: string | undefined, reason: string): EndpointWatch {
  const pool = new HttpEndpointPool({ urls, ...(apiKey !== undefined ? { apiKey } : {}) });
  const message = pool.redact(reason);
  pool.bases.forEach((_, i) => pool.health.reportFailure(i, message));
  return { health: pool.health, close: () => pool.close() };
}
