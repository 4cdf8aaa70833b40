import { createHash, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';

/**
 * Who may talk to `sift serve`. A server on 127.0.0.1 is reachable by every web page the user opens:
 * a page can POST to it (a "simple" cross-origin request needs no preflight), and through DNS
 * rebinding (a name of the attacker's that first resolves to their server, then to 127.0.0.1) it can
 * even read the replies. Browsers cannot forge the `Host` header, and they send `Origin` on every
 * cross-origin POST, so a server that accepts only its own names in both is out of a page's reach.
 */
export interface HostPolicy {
  /** Host names (no port) accepted in `Host` and `Origin` besides the server's own; `*` accepts any. */
  extraHosts: readonly string[];
}

export interface BoundAddress {
  /** The address as the user gave it (`--host`), e.g. `127.0.0.1`, `localhost`, `0.0.0.0`. */
  requested: string;
  /** The address the socket is bound to (server.address().address). */
  address: string;
  port: number;
}

const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '[::1]'];

/** `example.com:8000` → { name: 'example.com', port: 8000 }; `[::1]` → { name: '[::1]', port: 80 }; undefined when malformed. */
export function parseHostHeader(value: string): { name: string; port: number } | undefined {
  const text = value.trim().toLowerCase();
  const match = /^(\[[0-9a-f:.]+\]|[^:[\]\s/@]+)(?::(\d{1,5}))?$/.exec(text);
  if (!match) return undefined;
  const port = match[2] === undefined ? 80 : Number(match[2]);
  return port > 65535 ? undefined : { name: match[1], port };
}

function bracketed(address: string): string {
  return isIP(address) === 6 ? `[${address}]` : address.toLowerCase();
}

function isLoopback(address: string): boolean {
  return address === '::1' || address.startsWith('127.') || address.toLowerCase() === 'localhost';
}

function isWildcard(address: string): boolean {
  return address === '0.0.0.0' || address === '::';
}

/**
 * Why a request's `Host` (and `Origin`, when a browser sent one) is refused, or undefined when it is
 * accepted. Accepted: the bound address and the name it was given by, on the bound port; the loopback
 * forms (`localhost`, `127.0.0.1`, `[::1]`) when bound to loopback; when bound to every interface
 * (`0.0.0.0`, `::`), any IP literal on the bound port plus `localhost` (an IP literal cannot be
 * rebound; a name can, so names must be listed); and the names in `policy.extraHosts` on any port
 * (a reverse proxy may present its own).
 */
export function hostRefusal(host: string | undefined, origin: string | undefined, bound: BoundAddress, policy: HostPolicy): string | undefined {
  if (policy.extraHosts.includes('*')) return undefined;
  const accepts = (name: string, port: number): boolean => {
    if (policy.extraHosts.some((extra) => extra.toLowerCase() === name)) return true;
    if (port !== bound.port) return false;
    if (name === bracketed(bound.address) || name === bracketed(bound.requested)) return true;
    if ((isLoopback(bound.address) || isWildcard(bound.address)) && LOOPBACK_NAMES.includes(name)) return true;
    return isWildcard(bound.address) && isIP(name.replace(/^\[|\]$/g, '')) !== 0;
  };
  const hint = 'start sift serve with --allow-host NAME to accept another name';
  if (host === undefined) return 'the request has no Host header';
  const parsed = parseHostHeader(host);
  if (!parsed || !accepts(parsed.name, parsed.port)) return `Host ${JSON.stringify(host)} is not this server's address (${hint})`;
  if (origin !== undefined) {
    let url: URL | undefined;
    try {
      url = new URL(origin);
    } catch {
      url = undefined;
    }
    const port = url && (url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : Number(url.port));
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || !accepts(url.hostname.toLowerCase(), port!)) {
      return `requests from the web page at ${JSON.stringify(origin)} are not accepted (${hint})`;
    }
  }
  return undefined;
}

/**
 * `--api-key`, as vLLM checks it (vllm/entrypoints/openai/server_utils.py, AuthenticationMiddleware):
 * "authenticates each request by checking if the Authorization Bearer token exists and equals anyof
 * {api_key}" — the scheme compared case-insensitively (`scheme.lower() != "bearer"`), each token
 * compared as a SHA-256 digest with `secrets.compare_digest`, and a refusal answered with status 401
 * and the body `{"error": "Unauthorized"}`. vLLM skips OPTIONS and every path outside /v1 (so its
 * /tokenize is open); sift serve guards every route but /health, since the clients that hold a key
 * (Sift's among them) send it on every request, and tokenizing on a stranger's behalf is still work.
 */
export class ApiKeyCheck {
  private readonly digests: Buffer[];

  constructor(keys: readonly string[]) {
    this.digests = keys.filter((key) => key !== '').map(digest);
  }

  get enabled(): boolean {
    return this.digests.length > 0;
  }

  accepts(authorization: string | undefined): boolean {
    if (!this.enabled) return true;
    if (!authorization) return false;
    const space = authorization.indexOf(' ');
    const scheme = space < 0 ? authorization : authorization.slice(0, space);
    if (scheme.toLowerCase() !== 'bearer') return false;
    const given = digest(space < 0 ? '' : authorization.slice(space + 1));
    let match = false;
    for (const expected of this.digests) match = timingSafeEqual(given, expected) || match;
    return match;
  }
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/**
 * Bounds the work a server takes on: at most `active` requests evaluated at once, at most `queued`
 * more waiting; beyond that `tryEnter` refuses (the server answers 503, which clients retry later).
 */
export class WorkLimiter {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly active: number, private readonly queued: number) {}

  /** A promise for a release function, or undefined when the queue is full. */
  tryEnter(signal: AbortSignal): Promise<() => void> | undefined {
    if (this.running < this.active) {
      this.running++;
      return Promise.resolve(this.releaser());
    }
    if (this.waiting.length >= this.queued) return undefined;
    return new Promise((resolve, reject) => {
      const start = (): void => {
        signal.removeEventListener('abort', cancel);
        this.running++;
        resolve(this.releaser());
      };
      const cancel = (): void => {
        const i = this.waiting.indexOf(start);
        if (i >= 0) this.waiting.splice(i, 1);
        reject(signal.reason);
      };
      signal.addEventListener('abort', cancel, { once: true });
      this.waiting.push(start);
    });
  }

  private releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.running--;
      this.waiting.shift()?.();
    };
  }
}
