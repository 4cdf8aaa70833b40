/**
 * The Batch API client (`TeacherBatchApi`) on the wire: the real `openai` package against the
 * scripted teacher's `/v1/files` and `/v1/batches`.
 */
import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { after, before, test } from 'node:test';
import { SUBMISSION_METADATA_KEY, TeacherBatchApi } from '../../src/core/reflect/batch/api';
import { TeacherClient, TeacherError } from '../../src/core/reflect/teacher';
import { FakeTeacher } from '../helpers/fake-teacher';

const KEY = 'sk-batch-api-secret-3131-never-print';
let fake: FakeTeacher;
before(async () => {
  fake = await FakeTeacher.start(() => ({ content: 'hello', usage: { prompt_tokens: 7, completion_tokens: 2 } }), { apiKey: KEY });
});
after(async () => {
  await fake.close();
});

const api = (settings: Partial<ConstructorParameters<typeof TeacherBatchApi>[0]> = {}): TeacherBatchApi =>
  new TeacherBatchApi({ url: fake.url, apiKey: KEY, retries: 2, backoffBaseMs: 5, backoffCapMs: 10, ...settings });

const line = (id: string): string => JSON.stringify({ custom_id: id, method: 'POST', url: '/v1/chat/completions', body: { model: 'm', messages: [{ role: 'user', content: id }] } });

test('upload, create, poll, download: the file reaches the server byte for byte with purpose batch, the batch is created on chat completions with the submission id, and the output maps to the custom ids', async () => {
  const client = api();
  const jsonl = `${line('a')}\n${line('b')}\n`;
  const file = await client.upload(jsonl, 'sift-test.jsonl');
  assert.equal(file.purpose, 'batch');
  assert.equal(file.bytes, Buffer.byteLength(jsonl));
  assert.equal(fake.batches.files.get(file.id)!.bytes.toString('utf8'), jsonl);
  assert.equal(fake.batches.files.get(file.id)!.filename, 'sift-test.jsonl');
  const created = await client.create(file.id, 'sift-submission-1', { dataset: 'data.jsonl' });
  assert.equal(created.status, 'validating');
  assert.equal(created.endpoint, '/v1/chat/completions');
  assert.deepEqual(created.metadata, { dataset: 'data.jsonl', [SUBMISSION_METADATA_KEY]: 'sift-submission-1' });
  let batch = created;
  while (batch.status !== 'completed') batch = await client.retrieve(created.id);
  assert.deepEqual(batch.request_counts, { total: 2, completed: 2, failed: 0 });
  const output = (await client.content(batch.output_file_id!)).trim().split('\n').map((l) => JSON.parse(l) as { custom_id: string; response: { status_code: number; body: { choices: { message: { content: string } }[] } } });
  assert.deepEqual(output.map((o) => [o.custom_id, o.response.status_code, o.response.body.choices[0].message.content]), [['a', 200, 'hello'], ['b', 200, 'hello']]);
  assert.equal((await client.findSubmission('sift-submission-1'))?.id, created.id);
  assert.equal(await client.findSubmission('sift-submission-2'), undefined);
});

test('a create whose answer never came (timeout) is not sent again blindly: the batch it created is found by its submission id', async () => {
  const client = api({ timeoutMs: 400 });
  const file = await client.upload(`${line('x')}\n`, 'sift-x.jsonl');
  const creations = fake.batches.creations;
  fake.batches.dropNextCreateReply = true;
  const batch = await client.create(file.id, 'sift-submission-timeout', {});
  assert.equal(fake.batches.creations - creations, 1, 'one batch, not two');
  assert.equal(batch.id, [...fake.batches.batches.keys()].at(-1));
  assert.equal(batch.metadata?.[SUBMISSION_METADATA_KEY], 'sift-submission-timeout');
});

test('a wrong key: a TeacherError with the status and the server message, never the key', async () => {
  const wrong = 'sk-wrong-batch-key-98765';
  await assert.rejects(api({ apiKey: wrong }).retrieve('batch_1'), (error: unknown) => {
    assert.ok(error instanceof TeacherError);
    assert.equal(error.status, 401);
    assert.equal(error.fatal, true);
    assert.match(error.message, /could not read batch batch_1: http:\/\/127\.0\.0\.1:\d+\/v1 answered 401: Incorrect API key provided\./);
    assert.doesNotMatch(error.message, new RegExp(wrong));
    return true;
  });
});

test('a long run keeps no abort listener per call on its signal (the openai package adds one to every request and never removes it)', async () => {
  const abort = new AbortController();
  const client = api();
  const file = await client.upload(`${line('y')}\n`, 'sift-y.jsonl');
  const batch = await client.create(file.id, 'sift-submission-listeners', {}, abort.signal);
  for (let i = 0; i < 15; i++) await client.retrieve(batch.id, abort.signal);
  assert.equal(getEventListeners(abort.signal, 'abort').length, 0);
  const teacher = new TeacherClient({ url: fake.url, model: 'm', apiKey: KEY });
  for (let i = 0; i < 15; i++) await teacher.chat({ messages: [{ role: 'user', content: `hi ${i}` }] }, abort.signal);
  assert.equal(getEventListeners(abort.signal, 'abort').length, 0);
});
