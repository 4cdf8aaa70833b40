import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { FileTeacherBatchJobs, lineRanges, linesOf, type TeacherBatchJob } from '../../src/core/reflect/batch/jobs';
import { customId, lineHash, parseOutputFile, requestKey } from '../../src/core/reflect/batch/wire';
import { BUILT_IN_PRICES, PriceFileError, estimateCost, formatMoney, loadPriceFile, parsePriceTable, priceOf } from '../../src/core/reflect/prices';
import { tempDir } from '../helpers/paths';

test('prices: a model by its own name, a dated snapshot by its longest listed prefix, nothing for an unlisted model', () => {
  assert.equal(priceOf(BUILT_IN_PRICES, 'gpt-4o')?.priced, 'gpt-4o');
  assert.equal(priceOf(BUILT_IN_PRICES, 'gpt-4o-mini-2024-07-18')?.priced, 'gpt-4o-mini', 'not gpt-4o');
  assert.equal(priceOf(BUILT_IN_PRICES, 'gpt-4o-2024-08-06')?.priced, 'gpt-4o');
  assert.equal(priceOf(BUILT_IN_PRICES, 'o3-mini')?.priced, 'o3-mini');
  assert.equal(priceOf(BUILT_IN_PRICES, 'gpt-4omni'), undefined, 'a prefix counts only before a dash');
  assert.equal(priceOf(BUILT_IN_PRICES, 'llama-3-70b'), undefined);
});

test('cost: tokens times the price per 1M, and the batch discount, by hand', () => {
  // gpt-4o-mini: $0.15 in, $0.60 out per 1M tokens; 2M prompt + 0.5M completion = 0.30 + 0.30.
  const cost = estimateCost(BUILT_IN_PRICES, 'gpt-4o-mini', { promptTokens: 2_000_000, completionTokens: 500_000 })!;
  assert.ok(Math.abs(cost.sync - 0.6) < 1e-12);
  assert.ok(Math.abs(cost.batch - 0.3) < 1e-12);
  const table = parsePriceTable({ currency: 'EUR', batchDiscount: 0.25, models: { a: { input: 4, output: 8 }, b: { input: 1, output: 1, batchDiscount: 0 } } }, 'mine.json');
  const a = estimateCost(table, 'a', { promptTokens: 1000, completionTokens: 1000 })!;
  assert.ok(Math.abs(a.sync - 0.012) < 1e-12);
  assert.ok(Math.abs(a.batch - 0.009) < 1e-12, 'the table-wide discount');
  assert.equal(estimateCost(table, 'b', { promptTokens: 1000, completionTokens: 0 })!.batch, 0.001, "the model's own discount");
  assert.equal(formatMoney(0.3, 'USD'), '$0.30');
  assert.equal(formatMoney(0.00123, 'USD'), '$0.0012');
  assert.equal(formatMoney(12.5, 'EUR'), '12.50 EUR');
});

test('price files: models added to the built-in table, prices replaced, mistakes named by field', async () => {
  const dir = tempDir();
  const file = join(dir, 'prices.json');
  writeFileSync(file, JSON.stringify({ asOf: '2030-02', models: { 'gpt-4o-mini': { input: 1, output: 2 }, local: { input: 0, output: 0 } } }));
  const table = await loadPriceFile(file);
  assert.deepEqual(table.models['gpt-4o-mini'], { input: 1, output: 2, batchDiscount: 0.5 });
  assert.deepEqual(table.models.local, { input: 0, output: 0, batchDiscount: 0.5 });
  assert.deepEqual(table.models['gpt-4o'], BUILT_IN_PRICES.models['gpt-4o'], 'the others stay');
  assert.equal(table.asOf, '2030-02');
  assert.equal(table.source, file);
  const cases: [unknown, RegExp][] = [
    [[], /expected a JSON object with "models"/],
    [{ models: [] }, /"models" must be an object of model names/],
    [{ models: { m: { input: -1, output: 1 } } }, /models\["m"\]\.input must be a price per 1M tokens \(a number ≥ 0\), got -1/],
    [{ models: { m: { input: 1 } } }, /models\["m"\]\.output must be a price/],
    [{ models: { m: { input: 1, output: 1, batchDiscount: 1 } } }, /models\["m"\]\.batchDiscount must be a fraction from 0 to below 1/],
    [{ currency: 5, models: {} }, /"currency" must be a string/],
  ];
  for (const [value, message] of cases) {
    writeFileSync(file, JSON.stringify(value));
    await assert.rejects(loadPriceFile(file), (error: Error) => error instanceof PriceFileError && message.test(error.message) && error.message.includes(file));
  }
  writeFileSync(file, '{ "models": ');
  await assert.rejects(loadPriceFile(file), /prices\.json: not JSON/);
});

test('custom ids name the line, its text and the request; content addresses change with the content', () => {
  const hash = lineHash('{"instruction": "a"}');
  assert.match(hash, /^[0-9a-f]{16}$/);
  assert.notEqual(lineHash('{"instruction": "b"}'), hash);
  const key = requestKey({ model: 'm', messages: [{ role: 'user', content: 'x' }] });
  assert.notEqual(requestKey({ model: 'm', messages: [{ role: 'user', content: 'y' }] }), key);
  assert.equal(customId({ line: 17, lineHash: hash, kind: 'response', key, n: 2 }), `line-17-${hash}-response-${key.slice(0, 12)}-2`);
});

test('output and error files: each line by custom_id, in any order; HTTP errors, expired requests and unreadable lines said as such', () => {
  const completion = (content: string) => ({ choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }], usage: { prompt_tokens: 10, completion_tokens: 4 } });
  const text = [
    JSON.stringify({ id: 'r2', custom_id: 'b', response: { status_code: 200, request_id: 'q2', body: completion('second') }, error: null }),
    JSON.stringify({ id: 'r1', custom_id: 'a', response: { status_code: 200, request_id: 'q1', body: completion('first') }, error: null }),
    JSON.stringify({ id: 'r3', custom_id: 'c', response: { status_code: 429, request_id: 'q3', body: { error: { message: 'Rate limit reached', code: 'rate_limit_exceeded' } } }, error: null }),
    JSON.stringify({ id: 'r4', custom_id: 'd', response: { status_code: 400, request_id: 'q4', body: { error: { message: 'Invalid schema' } } }, error: null }),
    JSON.stringify({ id: 'r5', custom_id: 'e', response: null, error: { code: 'batch_expired', message: 'This request could not be executed before the completion window expired.' } }),
    JSON.stringify({ id: 'r6', custom_id: 'f', response: { status_code: 200, request_id: 'q6', body: { choices: [] } }, error: null }),
    '{"id": "r7", "custom_id": ',
    JSON.stringify({ id: 'r8', custom_id: 'a', response: { status_code: 200, request_id: 'q8', body: completion('again') }, error: null }),
    '',
  ].join('\n');
  const parsed = parseOutputFile(text, 'the output file of batch batch_1');
  assert.deepEqual(parsed.answers.get('a'), { ok: true, reply: { content: 'first', finishReason: 'stop', refusal: undefined, usage: { promptTokens: 10, completionTokens: 4 } } });
  assert.deepEqual(parsed.answers.get('b'), { ok: true, reply: { content: 'second', finishReason: 'stop', refusal: undefined, usage: { promptTokens: 10, completionTokens: 4 } } });
  assert.deepEqual(parsed.answers.get('c'), { ok: false, status: 429, code: 'rate_limit_exceeded', message: 'answered 429: Rate limit reached', retryable: true });
  assert.deepEqual(parsed.answers.get('d'), { ok: false, status: 400, message: 'answered 400: Invalid schema', retryable: false });
  assert.deepEqual(parsed.answers.get('e'), { ok: false, code: 'batch_expired', message: 'batch_expired: This request could not be executed before the completion window expired.', retryable: true });
  assert.deepEqual(parsed.answers.get('f'), { ok: false, message: 'malformed answer: the reply has no choices[0].message', retryable: true });
  assert.equal(parsed.problems.length, 2);
  assert.match(parsed.problems[0], /^the output file of batch batch_1 line 7: not JSON/);
  assert.equal(parsed.problems[1], 'the output file of batch batch_1 line 8: custom_id a was already answered; this line is ignored');
});

test('the job file: jobs and their answers saved atomically, listed, removed; a broken file is named', async () => {
  const dir = tempDir();
  const dataset = join(dir, 'data.jsonl');
  const jobs = FileTeacherBatchJobs.forDataset(dataset);
  assert.deepEqual(await jobs.list(), []);
  const job: TeacherBatchJob = {
    id: 'sift-1',
    batchId: 'batch_1',
    dataset: 'data.jsonl',
    teacher: { endpoint: 'https://api.openai.com/v1', model: 'gpt-4o-mini' },
    mode: 'response',
    lines: lineRanges([3, 1, 2, 7]),
    submittedAt: 1,
    status: 'in_progress',
    requests: { 'line-1-x-response-y-1': { line: 1, lineHash: 'x', kind: 'response', key: 'y', n: 1 } },
    downloaded: false,
  };
  assert.deepEqual(job.lines, [[1, 3], [7, 7]]);
  assert.deepEqual(linesOf(job.lines), [1, 2, 3, 7]);
  await Promise.all([jobs.put(job), jobs.put({ ...job, id: 'sift-2', batchId: 'batch_2' })]);
  assert.deepEqual((await jobs.list()).map((j) => j.id).sort(), ['sift-1', 'sift-2'], 'two changes at once: both kept');
  await jobs.put({ ...job, status: 'completed' });
  assert.equal((await jobs.list()).find((j) => j.id === 'sift-1')?.status, 'completed');
  await jobs.saveAnswers('sift-1', { 'line-1-x-response-y-1': { ok: false, message: 'm', retryable: true } });
  assert.deepEqual(await jobs.answers('sift-1'), { 'line-1-x-response-y-1': { ok: false, message: 'm', retryable: true } });
  await jobs.remove('sift-1');
  assert.deepEqual((await jobs.list()).map((j) => j.id), ['sift-2']);
  assert.equal(await jobs.answers('sift-1'), undefined);
  assert.match(readFileSync(join(dir, '.sift', 'teacher-batches.json'), 'utf8'), /"batch_2"/);
  writeFileSync(join(dir, '.sift', 'teacher-batches.json'), '{ torn');
  await assert.rejects(jobs.list(), /teacher-batches\.json: not JSON .*fix or delete it/);
});
