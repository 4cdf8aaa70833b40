/**
 * The network layer of `src/core/net`: the response size limit (against a real loopback server
 * that sends too much), the deadline, and the FIFO semaphore.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fetchText, MAX_RESPONSE_BYTES } from '../../src/core/net/fetchText';
import { Semaphore } from '../../src/core/net/semaphore';
import { retrying } from '../../src/core/net/retry';
import { HttpEndpointPool } from '../../src/core/scoring/http/pool';
import { PermanentScorerError } from '../../src/core/scoring/types';

const MiB = 1024 * 1024;

/** Routes: `/stream?mib=N` streams N MiB (chunked, no length), `/declared` claims a huge length, `/json` a small body, `/hang` never answers. */
function startServer(): Promise<{ server: Server; url: string; streamed: () => number }> {
  let streamedBytes = 0;
  const server = createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    if (u.pathname === '/stream') {
      const total = Number(u.searchParams.get('mib')) * MiB;
      const chunk = Buffer.alloc(MiB, 0x61);
      res.writeHead(200, { 'content-type': 'application/json' });
      let sent = 0;
      const pump = (): void => {
        while (sent < total) {
          sent += chunk.length;
          streamedBytes += chunk.length;
          if (!res.write(chunk)) {
            res.once('drain', pump);
            return;
          }
        }
        res.end();
      };
      res.on('close', () => res.removeAllListeners('drain'));
      pump();
    } else if (u.pathname === '/declared') {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(MAX_RESPONSE_BYTES + 1) });
      res.write('{"a":');
    } else if (u.pathname === '/hang') {
      // never answers
    } else {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"data":[{"id":"m","max_model_len":8}]}');
    }
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({ server, url: `http://127.0.0.1:${port}`, streamed: () => streamedBytes });
    });
  });
}

describe('fetchText: the response size limit', () => {
  let server: Server;
  let url: string;
  let streamed: () => number;
  before(async () => {
    ({ server, url, streamed } = await startServer());
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });

  const get = (path: string, maxBytes?: number) =>
    fetchText(`${url}${path}`, { method: 'GET', headers: {}, timeoutMs: 10_000, signals: [], ...(maxBytes !== undefined ? { maxBytes } : {}) });

  it('is 64 MiB, defined once', () => {
    assert.equal(MAX_RESPONSE_BYTES, 64 * MiB);
  });

  it('refuses a body that streams past the default limit, without reading it all', async () => {
    const r = await get('/stream?mib=80');
    assert.equal(r.ok, false);
    assert.ok(!r.ok && r.kind === 'malformed' && !r.retryable && r.status === undefined);
    assert.ok(!r.ok && r.message === 'response body larger than 64 MiB (the limit)', !r.ok ? r.message : '');
    // The server may have buffered a little beyond the limit, but not the whole 80 MiB.
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.ok(streamed() < 80 * MiB, `${streamed()} bytes streamed`);
  });

  it('reads a body just under a limit, and refuses one declared longer than the default limit', async () => {
    const ok = await get('/stream?mib=2', 2 * MiB);
    assert.ok(ok.ok && ok.value.text.length === 2 * MiB);
    const declared = await get('/declared');
    assert.ok(!declared.ok && declared.kind === 'malformed' && /larger than 64 MiB/.test(declared.message));
  });

  it('a timeout and a refused connection are retryable failures; an abort rejects with its reason', async () => {
    const slow = await fetchText(`${url}/hang`, { method: 'GET', headers: {}, timeoutMs: 50, signals: [] });
    assert.ok(!slow.ok && slow.kind === 'timeout' && slow.retryable);
    const ctl = new AbortController();
    setTimeout(() => ctl.abort(), 20);
    await assert.rejects(fetchText(`${url}/hang`, { method: 'GET', headers: {}, timeoutMs: 10_000, signals: [undefined, ctl.signal] }), { name: 'AbortError' });
  });

  it('the scoring pool fails a call whose answer is too large at once, with a clear message', async () => {
    const pool = new HttpEndpointPool({ urls: [url], maxResponseBytes: MiB, backoffBaseMs: 1 });
    await assert.rejects(
      pool.request({ method: 'GET', path: '/stream?mib=3', parse: (b) => b, what: 'list models' }),
      (e: Error) => {
        assert.ok(e instanceof PermanentScorerError);
        assert.equal(e.message, `list models at ${url}: response body larger than 1 MiB (the limit)`);
        return true;
      },
    );
    assert.equal(pool.stats().attempts, 1, 'not retried');
    assert.deepEqual(await pool.request({ method: 'GET', path: '/json', parse: (b) => b, what: 'list models' }), { data: [{ id: 'm', max_model_len: 8 }] });
    pool.close();
  });
});

describe('Semaphore and retrying', () => {
  it('lets `limit` holders in, the rest in FIFO order, and drops an aborted waiter', async () => {
    const s = new Semaphore(1);
    const order: string[] = [];
    await s.acquire();
    const ctl = new AbortController();
    const a = s.acquire().then(() => order.push('a'));
    const b = s.acquire(ctl.signal).then(() => order.push('b'), () => order.push('b aborted'));
    const c = s.acquire().then(() => order.push('c'));
    ctl.abort();
    s.release();
    await a;
    s.release();
    await Promise.all([b, c]);
    assert.deepEqual(order, ['b aborted', 'a', 'c']);
  });

  it('retries a retryable failure, honours Retry-After as a lower bound, and stops at the limit', async () => {
    const delays: number[] = [];
    let n = 0;
    await assert.rejects(
      retrying<number>({
        policy: { retries: 2, backoffBaseMs: 1, backoffCapMs: 2, maxRetryAfterMs: 30, random: () => 0 },
        attempt: async () => {
          n++;
          return { ok: false, kind: 'status', retryable: true, status: 503, message: 'busy', retryAfterMs: 1000 };
        },
        onRetry: (_f, _a, _m, delayMs) => delays.push(delayMs),
        fail: (f, attempts, exhausted) => new Error(`${f.message} after ${attempts} (${exhausted})`),
      }),
      /busy after 3 \(true\)/,
    );
    assert.equal(n, 3);
    assert.deepEqual(delays, [30, 30]);
  });
});
