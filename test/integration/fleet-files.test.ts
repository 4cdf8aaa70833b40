/**
 * Past one machine: `--export-batch` writes requests in the batch-file format vLLM's runner reads,
 * a runner answers them with the real engine (`sift serve`), `--import-batch` gives exactly the
 * scores of a direct run; `--shard i/n` splits a file into disjoint parts that cover it, the same
 * parts whatever the order of its lines.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { siftAsync, startServe } from '../helpers/cli';
import { fakeRunBatch } from '../helpers/fake-run-batch';
import { FakeVllm } from '../helpers/fake-vllm';
import { examplesDir, tempDir } from '../helpers/paths';
import { seededRandom } from '../helpers/random';

/** The fields of vLLM's BatchRequestInput and of its CompletionRequest that Sift sends. */
const BATCH_REQUEST_INPUT = ['custom_id', 'method', 'url', 'body'];
const COMPLETION_FIELDS = ['model', 'prompt', 'max_tokens', 'prompt_logprobs'];

function lines(path: string): string[] {
  return readFileSync(path, 'utf8').split('\n').filter((l) => l !== '');
}

describe('batch files', () => {
  let serve: Awaited<ReturnType<typeof startServe>>;
  const dir = tempDir();
  const dataset = join(dir, 'data.jsonl');
  before(async () => {
    serve = await startServe();
    writeFileSync(dataset, lines(join(examplesDir, 'tinystories-instructions.jsonl')).join('\n') + '\n');
  });
  after(() => serve.stop());

  it('export → a run-batch runner → import gives exactly the scores of a direct run', async () => {
    const common = ['--metrics', 'ifd,rifd', '--template', 'plain', '--no-cache', '-q'];
    const direct = await siftAsync(['score', dataset, '--url', serve.url, ...common, '--out', join(dir, 'direct.jsonl'), '--stats', join(dir, 'direct-stats.json')]);
    assert.equal(direct.status, 0, direct.stderr);
    // --stats names each replica's in-flight limit at the end: adapted (2..64) by default, fixed by --concurrency.
    const directStats = JSON.parse(readFileSync(join(dir, 'direct-stats.json'), 'utf8')) as { inFlightLimits: { url: string; limit: number }[]; tokenizeRoute: string };
    const limits = directStats.inFlightLimits;
    assert.equal(directStats.tokenizeRoute, '/v1/completions/render', 'sift serve tokenizes lists of texts, and the run says it used that');
    assert.equal(limits.length, 1);
    assert.ok(limits[0]!.limit >= 2 && limits[0]!.limit <= 64, `limit ${limits[0]!.limit}`);
    const fixed = await siftAsync(['score', dataset, '--url', serve.url, ...common, '--concurrency', '3', '--stats', join(dir, 'fixed-stats.json')]);
    assert.equal(fixed.status, 0, fixed.stderr);
    assert.deepEqual(
      (JSON.parse(readFileSync(join(dir, 'fixed-stats.json'), 'utf8')) as { inFlightLimits: { limit: number }[] }).inFlightLimits.map((l) => l.limit),
      [3],
    );

    const requests = join(dir, 'requests.jsonl');
    const exported = await siftAsync(['score', dataset, '--url', serve.url, ...common, '--export-batch', requests]);
    assert.equal(exported.status, 0, exported.stderr);
    const ids = new Set<string>();
    for (const line of lines(requests)) {
      const request = JSON.parse(line) as Record<string, unknown>;
      assert.deepEqual(Object.keys(request), BATCH_REQUEST_INPUT);
      assert.equal(request['method'], 'POST');
      assert.equal(request['url'], '/v1/completions');
      assert.deepEqual(Object.keys(request['body'] as object).sort(), [...COMPLETION_FIELDS].sort());
      const body = request['body'] as { prompt: unknown; max_tokens: unknown; prompt_logprobs: unknown };
      assert.ok(Array.isArray(body.prompt) && body.prompt.every((p) => Array.isArray(p) && p.every(Number.isInteger)));
      assert.equal(body.max_tokens, 1);
      assert.equal(body.prompt_logprobs, 0);
      assert.ok(!ids.has(request['custom_id'] as string), 'custom_id must be unique');
      ids.add(request['custom_id'] as string);
    }
    assert.ok(ids.size > 0);

    const results = join(dir, 'results.jsonl');
    await fakeRunBatch(requests, results, serve.url, { reverse: true });
    const imported = await siftAsync(['score', dataset, ...common, '--import-batch', results, '--out', join(dir, 'imported.jsonl')]);
    assert.equal(imported.status, 0, imported.stderr);
    assert.deepEqual(lines(join(dir, 'imported.jsonl')).map((l) => JSON.parse(l) as unknown), lines(join(dir, 'direct.jsonl')).map((l) => JSON.parse(l) as unknown));
  });

  it('import names a line that is not a result of Sift requests, and the records whose results are missing', async () => {
    const bad = join(dir, 'bad.jsonl');
    writeFileSync(bad, JSON.stringify({ id: 'x', custom_id: 'someone-else', response: null, error: null }) + '\n');
    const r = await siftAsync(['score', dataset, '--no-cache', '-q', '--import-batch', bad]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /bad\.jsonl: line 1: custom_id is missing or is not one Sift wrote/);
    const requests = join(dir, 'requests-2.jsonl');
    assert.equal((await siftAsync(['score', dataset, '--url', serve.url, '--no-cache', '-q', '--export-batch', requests])).status, 0);
    const results = join(dir, 'results-2.jsonl');
    await fakeRunBatch(requests, results, serve.url);
    // The runner could not run the first request (as vLLM's runner writes such a line).
    const [first, ...rest] = lines(results).map((l) => JSON.parse(l) as Record<string, unknown>);
    const failed = { ...first, response: { status_code: 400, request_id: 'vllm-batch-0' }, error: 'URL /v1/completions was used. Supported endpoints: /v1/chat/completions.' };
    writeFileSync(results, [failed, ...rest].map((o) => JSON.stringify(o)).join('\n') + '\n');
    const partial = await siftAsync(['score', dataset, '--no-cache', '--import-batch', results, '--out', join(dir, 'partial.jsonl')]);
    assert.equal(partial.status, 1, partial.stderr);
    assert.match(partial.stderr, /1 request\(s\) failed in the batch run \(first: line 1: HTTP 400: URL \/v1\/completions was used/);
    assert.match(partial.stderr, /its requests are not among the batch results/);
  });
});

describe('--shard i/n', () => {
  it('splits the records into disjoint parts that cover the file, the same parts for the lines in any order', async () => {
    const fake = await FakeVllm.start();
    const dir = tempDir();
    const random = seededRandom(5);
    const records = Array.from({ length: 60 }, (_, i) => JSON.stringify({ instruction: `Question ${i}?`, input: '', output: `Answer ${i} ${random().toFixed(6)}.` }));
    const shuffled = [...records].sort(() => random() - 0.5);
    const partsOf = async (name: string, texts: string[]): Promise<Set<string>[]> => {
      const path = join(dir, name);
      writeFileSync(path, texts.join('\n') + '\n');
      const parts: Set<string>[] = [];
      for (let i = 0; i < 4; i++) {
        const out = join(dir, `${name}.${i}.out`);
        const r = await siftAsync(['score', path, '--url', fake.url, '--template', 'plain', '--no-cache', '-q', '--shard', `${i}/4`, '--out', out]);
        assert.equal(r.status, 0, r.stderr);
        parts.push(new Set(lines(out).map((row) => texts[(JSON.parse(row) as { line: number }).line - 1] as string)));
      }
      return parts;
    };
    const parts = await partsOf('data.jsonl', records);
    const all = parts.flatMap((p) => [...p]);
    assert.equal(all.length, records.length, 'every record in exactly one part');
    assert.deepEqual(new Set(all), new Set(records));
    assert.ok(parts.every((p) => p.size > 0 && p.size < records.length), `parts of ${parts.map((p) => p.size).join(', ')}`);
    const again = await partsOf('shuffled.jsonl', shuffled);
    assert.deepEqual(again, parts);
    const r = await siftAsync(['score', join(dir, 'data.jsonl'), '--url', fake.url, '--shard', '4/4']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--shard expects i\/n with n >= 1 and 0 <= i < n/);
    await fake.close();
  });
});
