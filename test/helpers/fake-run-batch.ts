/**
 * A batch runner shaped like vLLM's `run-batch` (vllm/entrypoints/openai/run_batch.py): reads an
 * OpenAI batch file, checks each line as its BatchRequestInput does (custom_id, method, url, body),
 * runs each request and writes one BatchRequestOutput per line ({id, custom_id, response:
 * {status_code, request_id, body}, error}). Its engine is a running `sift serve` (the local engine
 * behind the vLLM response code of src/core/serve), asked over HTTP as the runner's serving code
 * would be called in-process. Unlike vLLM's runner (see src/core/scoring/batchFile.ts) it also
 * dispatches /v1/completions: the runner Sift's batch files are for.
 */
import { readFileSync, writeFileSync } from 'node:fs';

const DISPATCHED = ['/v1/completions', '/v1/chat/completions'];

export async function fakeRunBatch(inputPath: string, outputPath: string, engineUrl: string, options: { reverse?: boolean } = {}): Promise<void> {
  const lines = readFileSync(inputPath, 'utf8').split('\n').filter((l) => l.trim() !== '');
  const outputs: string[] = [];
  for (const [n, line] of lines.entries()) {
    const request = JSON.parse(line) as { custom_id?: unknown; method?: unknown; url?: unknown; body?: unknown };
    if (typeof request.custom_id !== 'string' || typeof request.method !== 'string' || typeof request.url !== 'string' || request.body === undefined) {
      throw new Error(`line ${n + 1}: not a BatchRequestInput`);
    }
    const id = `vllm-${n}`;
    if (request.method !== 'POST' || !DISPATCHED.includes(request.url)) {
      outputs.push(JSON.stringify({ id, custom_id: request.custom_id, response: { status_code: 400, request_id: `vllm-batch-${n}` }, error: `URL ${request.url} was used. Supported endpoints: ${DISPATCHED.join(', ')}.` }));
      continue;
    }
    const response = await fetch(`${engineUrl}${request.url}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(request.body) });
    const body = (await response.json()) as unknown;
    outputs.push(
      JSON.stringify(
        response.ok
          ? { id, custom_id: request.custom_id, response: { status_code: 200, request_id: `vllm-batch-${n}`, body }, error: null }
          : { id, custom_id: request.custom_id, response: { status_code: response.status, request_id: `vllm-batch-${n}` }, error: body },
      ),
    );
  }
  if (options.reverse) outputs.reverse();
  writeFileSync(outputPath, outputs.join('\n') + '\n');
}
