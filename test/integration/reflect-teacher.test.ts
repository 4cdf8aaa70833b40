import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { REDACTED } from '../../src/core/net/redact';
import { TeacherClient, TeacherError, teacherBaseUrl, type TeacherEvent, type TeacherSettings } from '../../src/core/reflect/teacher';
import { FakeTeacher } from '../helpers/fake-teacher';
import { waitFor } from '../helpers/waitFor';

const KEY = 'sk-test-DO-NOT-LEAK-4242';
let fake: FakeTeacher;
before(async () => {
  fake = await FakeTeacher.start(() => ({ content: 'hello', usage: { prompt_tokens: 11, completion_tokens: 3 } }));
});
after(async () => {
  await fake.close();
});

function client(settings: Partial<TeacherSettings> = {}, events: TeacherEvent[] = []): TeacherClient {
  return new TeacherClient({
    url: fake.url,
    model: 'teacher-1',
    apiKey: KEY,
    backoffBaseMs: 20,
    backoffCapMs: 40,
    timeoutMs: 2000,
    onEvent: (e) => events.push(e),
    ...settings,
  });
}

const ask = { messages: [{ role: 'user' as const, content: 'hi' }] };

test('the real openai client reaches the fake; model, key, usage and finish reason come through', async () => {
  const before = fake.requests.length;
  const teacher = client();
  const reply = await teacher.chat({ ...ask, maxTokens: 50, temperature: 0, jsonSchema: { name: 's', strict: true, schema: { type: 'object' } } });
  assert.equal(reply.content, 'hello');
  assert.equal(reply.finishReason, 'stop');
  assert.deepEqual(reply.usage, { promptTokens: 11, completionTokens: 3 });
  assert.equal(reply.attempts, 1);
  assert.deepEqual(teacher.usage, { calls: 1, failedCalls: 0, promptTokens: 11, completionTokens: 3 });
  const request = fake.requests[before];
  assert.equal(request.headers.authorization, `Bearer ${KEY}`);
  assert.equal(request.body.model, 'teacher-1');
  assert.equal(request.body.max_tokens, 50);
  assert.equal(request.body.temperature, 0);
  assert.deepEqual(request.body.response_format, { type: 'json_schema', json_schema: { name: 's', strict: true, schema: { type: 'object' } } });
});

test('without a key no Authorization header is sent, and OPENAI_* variables are not read', async () => {
  const saved = { key: process.env.OPENAI_API_KEY, org: process.env.OPENAI_ORG_ID };
  process.env.OPENAI_API_KEY = 'sk-from-env';
  process.env.OPENAI_ORG_ID = 'org-env';
  try {
    const before = fake.requests.length;
    await client({ apiKey: undefined }).chat(ask);
    assert.equal(fake.requests[before].headers.authorization, undefined);
    assert.equal(fake.requests[before].headers['openai-organization'], undefined);
  } finally {
    if (saved.key === undefined) delete process.env.OPENAI_API_KEY;
    else process.env.OPENAI_API_KEY = saved.key;
    if (saved.org === undefined) delete process.env.OPENAI_ORG_ID;
    else process.env.OPENAI_ORG_ID = saved.org;
  }
});

test('a bare host URL gets /v1; a path is kept', () => {
  assert.equal(teacherBaseUrl('http://127.0.0.1:8000'), 'http://127.0.0.1:8000/v1');
  assert.equal(teacherBaseUrl('http://127.0.0.1:8000/'), 'http://127.0.0.1:8000/v1');
  assert.equal(teacherBaseUrl('https://x.openai.azure.com/openai/deployments/d/'), 'https://x.openai.azure.com/openai/deployments/d');
  assert.throws(() => teacherBaseUrl('ftp://x'));
});

test('429 with Retry-After: waits at least that long, then succeeds', async () => {
  const events: TeacherEvent[] = [];
  fake.script({ status: 429, headers: { 'retry-after': '1' }, body: { error: { message: 'Rate limit reached', type: 'requests' } } });
  const started = Date.now();
  const reply = await client({}, events).chat(ask);
  assert.ok(Date.now() - started >= 950, `waited ${Date.now() - started} ms`);
  assert.equal(reply.attempts, 2);
  assert.equal(events.length, 1);
  assert.equal(events[0].type, 'retry');
  assert.equal((events[0] as { status?: number }).status, 429);
  assert.ok((events[0] as { delayMs: number }).delayMs >= 1000);
  assert.match((events[0] as { message: string }).message, /answered 429: Rate limit reached/);
});

test('retry-after-ms (OpenAI) is honoured too, and a huge Retry-After is capped', async () => {
  const events: TeacherEvent[] = [];
  fake.script({ status: 429, headers: { 'retry-after-ms': '300' } });
  await client({}, events).chat(ask);
  assert.ok((events[0] as { delayMs: number }).delayMs >= 300);
  fake.script({ status: 503, headers: { 'retry-after': '3600' } });
  await client({ maxRetryAfterMs: 200 }, events).chat(ask);
  assert.equal((events[1] as { delayMs: number }).delayMs, 200);
});

test('5xx, a reset connection and a timeout are retried with back-off', async () => {
  const events: TeacherEvent[] = [];
  fake.script({ status: 500 }, { reset: true }, { hang: true }, { status: 502 });
  const reply = await client({ timeoutMs: 300 }, events).chat(ask);
  assert.equal(reply.content, 'hello');
  assert.equal(reply.attempts, 5);
  assert.deepEqual(events.map((e) => (e as { kind: string }).kind), ['status', 'connection', 'timeout', 'status']);
});

test('other 4xx are not retried; 401/403/404 are fatal; the key never appears in a message', async () => {
  const events: TeacherEvent[] = [];
  fake.script({ status: 400, body: { error: { message: `context too long for key ${KEY}`, type: 'invalid_request_error' } } });
  const before = fake.requests.length;
  const error = await client({}, events).chat(ask).catch((e: unknown) => e);
  assert.ok(error instanceof TeacherError);
  assert.equal(error.status, 400);
  assert.equal(error.fatal, false);
  assert.equal(fake.requests.length, before + 1);
  assert.equal(events.length, 0);
  assert.doesNotMatch(error.message, new RegExp(KEY));
  assert.ok(error.message.includes(`context too long for key ${REDACTED}`), error.message);
  fake.script({ status: 401, body: { error: { message: 'Incorrect API key provided: sk-test-DO-NOT-LEAK-4242.' } } });
  const auth = await client().chat(ask).catch((e: unknown) => e);
  assert.ok(auth instanceof TeacherError && auth.fatal);
  assert.doesNotMatch(auth.message, /DO-NOT-LEAK/);
});

test('gives up after the configured retries with a clear message', async () => {
  const events: TeacherEvent[] = [];
  fake.script({ status: 500 }, { status: 500 }, { status: 500 });
  const teacher = client({ retries: 2 }, events);
  const error = await teacher.chat(ask).catch((e: unknown) => e);
  assert.ok(error instanceof TeacherError);
  assert.equal(error.exhausted, true);
  assert.match(error.message, /answered 500.*gave up after 3 attempts/);
  assert.deepEqual(events.map((e) => e.type), ['retry', 'retry', 'gave-up']);
  assert.equal(teacher.usage.failedCalls, 1);
});

test('a reply without choices is malformed and retried', async () => {
  fake.setHandler(() => ({ content: 'hello', usage: { prompt_tokens: 11, completion_tokens: 3 } }));
  const events: TeacherEvent[] = [];
  fake.script({ status: 200, body: { id: 'x', object: 'chat.completion', choices: [] } });
  const reply = await client({}, events).chat(ask);
  assert.equal(reply.content, 'hello');
  assert.equal((events[0] as { kind: string }).kind, 'malformed');
});

test('the concurrency limit holds, and every call completes', async () => {
  const slow = await FakeTeacher.start(() => ({ content: 'ok' }), { latencyMs: 60 });
  try {
    const teacher = new TeacherClient({ url: slow.url, model: 'm', concurrency: 2 });
    const replies = await Promise.all(Array.from({ length: 7 }, () => teacher.chat(ask)));
    assert.equal(replies.length, 7);
    assert.equal(slow.maxInFlight, 2);
    assert.equal(teacher.usage.calls, 7);
  } finally {
    await slow.close();
  }
});

test('abort: a call on the wire, a back-off sleep and a queued call all stop at once with the abort reason', async () => {
  const teacher = client({ concurrency: 1, timeoutMs: 60_000 });
  fake.script({ hang: true }, { status: 429, headers: { 'retry-after': '30' } });
  const controller = new AbortController();
  const sent = fake.requests.length;
  const onWire = teacher.chat(ask, controller.signal);
  const queued = teacher.chat(ask, controller.signal);
  await waitFor('the first call on the wire', () => fake.requests.length > sent);
  const started = Date.now();
  controller.abort();
  for (const call of [onWire, queued]) {
    const error = await call.catch((e: unknown) => e);
    assert.equal((error as Error).name, 'AbortError');
  }
  const sleeping = new AbortController();
  const events: TeacherEvent[] = [];
  const inBackoff = client({}, events).chat(ask, sleeping.signal);
  await waitFor('the 429 answered and its 30 s back-off begun', () => events.some((e) => e.type === 'retry'));
  sleeping.abort();
  assert.equal(((await inBackoff.catch((e: unknown) => e)) as Error).name, 'AbortError');
  assert.ok(Date.now() - started < 2000);
});

test('a reply larger than the response limit fails at once, without a retry', async () => {
  const events: TeacherEvent[] = [];
  fake.script({ content: 'x'.repeat(4096) });
  const before = fake.requests.length;
  const error = await client({ maxResponseBytes: 1024 }, events).chat(ask).catch((e: unknown) => e);
  assert.ok(error instanceof TeacherError);
  assert.equal(error.kind, 'malformed');
  assert.equal(error.exhausted, false);
  assert.match(error.message, /response body larger than 1 KiB \(the limit\)/);
  assert.equal(fake.requests.length, before + 1);
  assert.equal(events.length, 0);
});
