import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { test } from 'node:test';
import { hostRefusal, parseHostHeader } from '../../src/core/serve/requestGuards';
import { startScoringServer, type RunningServer, type ScoringServerOptions, type ServableScorer } from '../../src/core/serve/scoringServer';
import { waitFor } from '../helpers/waitFor';

/** A scorer whose token ids are the characters' codes; `gate`, when set, holds every evaluation until opened. */
function fakeScorer(): ServableScorer & { tokenized: number; evaluating: number; gate?: Promise<void> } {
  const scorer = {
    modelId: 'fake',
    endpoint: 'fake',
    bosId: 1,
    maxContext: 64,
    tokenized: 0,
    evaluating: 0,
    gate: undefined as Promise<void> | undefined,
    async tokenize(texts: string[]) {
      scorer.tokenized += texts.length;
      return texts.map((t) => [...t].map((c) => 2 + (c.codePointAt(0)! % 200)));
    },
    async logprobs(sequences: number[][]) {
      scorer.evaluating++;
      try {
        await scorer.gate;
        return sequences.map((ids) => new Float64Array(Math.max(0, ids.length - 1)).fill(-1));
      } finally {
        scorer.evaluating--;
      }
    },
    async logprobsAndNext(sequences: number[][]) {
      const lps = await scorer.logprobs(sequences);
      return lps.map((lp) => ({ lp, next: { token: 2, logprob: -1 } }));
    },
    tokenText: (ids: number[]) => ids.map((id) => String.fromCharCode(id)),
    unknownToken: () => undefined,
    close: async () => {},
  };
  return scorer;
}

async function serve(extra: Partial<ScoringServerOptions> = {}): Promise<RunningServer & { scorer: ReturnType<typeof fakeScorer> }> {
  const scorer = fakeScorer();
  const server = await startScoringServer({ scorer, servedModel: 'fake', host: '127.0.0.1', port: 0, ...extra });
  return { ...server, scorer };
}

/** A raw request, so the target and the headers are exactly what the test says (fetch would normalize them). */
function raw(url: string, method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<{ status: number; text: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ hostname, port, method, path, headers, setHost: !('host' in headers) }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const completion = (prompt: unknown): string => JSON.stringify({ prompt, echo: true, max_tokens: 0, logprobs: 0 });

test('a malformed request target is answered with 400 and the server keeps serving', async () => {
  const server = await serve();
  try {
    const bad = await raw(server.url, 'GET', 'http://[');
    assert.equal(bad.status, 400);
    const after = await fetch(`${server.url}/health`);
    assert.equal(after.status, 200);
  } finally {
    await server.close();
  }
});

test('Host must name the server: a rebound name is refused with 403, loopback forms are accepted', async () => {
  const server = await serve();
  const port = new URL(server.url).port;
  try {
    const rebound = await raw(server.url, 'GET', '/v1/models', { host: `attacker.example:${port}` });
    assert.equal(rebound.status, 403);
    assert.match(rebound.text, /--allow-host/);
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`]) {
      assert.equal((await raw(server.url, 'GET', '/v1/models', { host })).status, 200, host);
    }
    assert.equal((await raw(server.url, 'GET', '/v1/models', { host: '127.0.0.1:1' })).status, 403, 'another port');
    // Sift's own clients send the URL's host.
    assert.equal((await fetch(`${server.url}/v1/models`)).status, 200);
  } finally {
    await server.close();
  }
});

test('a POST from a web page (another Origin) is refused; --allow-host extends the accepted names', async () => {
  const server = await serve({ allowHosts: ['sift.internal'] });
  const port = new URL(server.url).port;
  try {
    const fromPage = await raw(server.url, 'POST', '/v1/completions', { origin: 'https://evil.example', 'content-type': 'text/plain' }, completion('hi'));
    assert.equal(fromPage.status, 403);
    assert.equal(server.scorer.tokenized, 0, 'nothing was evaluated for the page');
    assert.equal((await raw(server.url, 'GET', '/v1/models', { host: 'sift.internal' })).status, 200);
    assert.equal((await raw(server.url, 'GET', '/v1/models', { origin: `http://127.0.0.1:${port}` })).status, 200);
  } finally {
    await server.close();
  }
});

test('--api-key: every route but /health needs Authorization: Bearer <key>; a refusal is vLLM\'s 401 body', async () => {
  const server = await serve({ apiKeys: ['secret-1', 'secret-2'] });
  try {
    const none = await raw(server.url, 'GET', '/v1/models');
    assert.equal(none.status, 401);
    assert.deepEqual(JSON.parse(none.text), { error: 'Unauthorized' });
    assert.equal((await raw(server.url, 'POST', '/tokenize', { authorization: 'Bearer wrong' }, '{"prompt":"a"}')).status, 401);
    assert.equal((await raw(server.url, 'GET', '/v1/models', { authorization: 'Basic secret-1' })).status, 401);
    assert.equal((await raw(server.url, 'GET', '/health')).status, 200);
    assert.equal((await raw(server.url, 'GET', '/v1/models', { authorization: 'Bearer secret-2' })).status, 200);
    assert.equal((await raw(server.url, 'POST', '/tokenize', { authorization: 'bearer secret-1' }, '{"prompt":"a"}')).status, 200);
  } finally {
    await server.close();
  }
});

test('work is bounded: requests beyond the active and queued limits get 503, the queued ones finish', async () => {
  const server = await serve({ maxActiveRequests: 1, maxQueuedRequests: 1 });
  let open!: () => void;
  server.scorer.gate = new Promise<void>((resolve) => (open = resolve));
  try {
    const first = raw(server.url, 'POST', '/v1/completions', {}, completion([[1, 5, 6]]));
    await waitFor('the first request to be evaluated', () => server.scorer.evaluating > 0, { intervalMs: 1 });
    // Of two more, one waits in the queue and the other finds it full.
    const more = [0, 1].map(() => raw(server.url, 'POST', '/v1/completions', {}, completion([[1, 5, 6]])));
    assert.equal((await Promise.race(more)).status, 503);
    // Cheap routes answer while the engine is busy.
    assert.equal((await raw(server.url, 'GET', '/v1/models')).status, 200);
    assert.equal(server.scorer.evaluating, 1, 'one evaluation at a time');
    open();
    assert.equal((await first).status, 200);
    assert.deepEqual((await Promise.all(more)).map((r) => r.status).sort(), [200, 503]);
  } finally {
    open();
    await server.close();
  }
});

test('a text prompt list over the character cap is refused before anything is tokenized', async () => {
  const server = await serve({ maxPromptChars: 100 });
  try {
    const big = await raw(server.url, 'POST', '/v1/completions', {}, completion(Array.from({ length: 20 }, () => 'abcdefghij')));
    assert.equal(big.status, 400);
    assert.match(big.text, /200 characters/);
    assert.equal(server.scorer.tokenized, 0);
    assert.equal((await raw(server.url, 'POST', '/v1/completions', {}, completion(['abc', 'de']))).status, 200);
  } finally {
    await server.close();
  }
});

test('a long list stops at its first prompt over the context: the rest is not tokenized', async () => {
  const server = await serve();
  try {
    const prompts = ['x'.repeat(200), ...Array.from({ length: 50 }, () => 'short')];
    const refused = await raw(server.url, 'POST', '/v1/completions', {}, completion(prompts));
    assert.equal(refused.status, 400);
    assert.equal(server.scorer.tokenized, 1);
  } finally {
    await server.close();
  }
});

test('Host headers parse with and without ports, IPv6 in brackets; malformed ones do not', () => {
  assert.deepEqual(parseHostHeader('Example.com:8000'), { name: 'example.com', port: 8000 });
  assert.deepEqual(parseHostHeader('[::1]'), { name: '[::1]', port: 80 });
  assert.equal(parseHostHeader('a@b:1'), undefined);
  assert.equal(parseHostHeader('a:99999'), undefined);
  const wildcard = { requested: '0.0.0.0', address: '0.0.0.0', port: 8000 };
  assert.equal(hostRefusal('192.168.1.5:8000', undefined, wildcard, { extraHosts: [] }), undefined, 'an IP literal cannot be rebound');
  assert.match(hostRefusal('myhost.lan:8000', undefined, wildcard, { extraHosts: [] }) ?? '', /allow-host/);
  assert.equal(hostRefusal('myhost.lan:8000', undefined, wildcard, { extraHosts: ['myhost.lan'] }), undefined);
  assert.equal(hostRefusal('anything', 'null', wildcard, { extraHosts: ['*'] }), undefined);
  assert.match(hostRefusal('127.0.0.1:8000', 'null', wildcard, { extraHosts: [] }) ?? '', /web page/);
});
