import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { CATALOGUE } from '../../src/core/models/catalogue';
import type { PulledModel } from '../../src/core/models/store';
import { downloadMessage, endpointUrlProblem, studentLabel, studentPickItems, type StudentSettings } from '../../src/client/studentModelModel';

const dir = join('/storage', 'models');
const qwen = CATALOGUE[0];
const pulledQwen: PulledModel = { source: qwen.uri, file: 'hf_bartowski_Qwen2.5-0.5B-Instruct-Q4_K_M.gguf', bytes: qwen.bytes, sha256: qwen.sha256!, checksum: 'catalogue' };
const local = (modelPath = ''): StudentSettings => ({ backend: 'local', modelPath, endpointUrls: [], servedModel: '' });

test('pick items: bundled first, every recommended model with its size, then a file and an endpoint; the one in use is marked', () => {
  const items = studentPickItems(local(), dir, [], () => true);
  const choices = items.filter((item) => !item.separator);
  assert.deepEqual(choices.map((item) => item.choice?.kind), ['bundled', ...CATALOGUE.map(() => 'download'), 'file', 'endpoint']);
  assert.match(choices[0].description!, /bundled demo \(in use\)/);
  assert.equal(choices[1].description, '398 MB');
  assert.match(choices[1].label, /cloud-download.*Qwen2\.5 0\.5B Instruct/);
  assert.match(choices.find((item) => item.label.includes('GPT-2'))!.detail!, /Superfiltering's weak scorer/);
});

test('pick items: a downloaded model says so, and is in use when sift.modelPath is its file; a missing file counts as not downloaded', () => {
  const path = join(dir, pulledQwen.file);
  const items = studentPickItems(local(path), dir, [pulledQwen], () => true).filter((item) => !item.separator);
  assert.equal(items[1].description, '398 MB, downloaded (in use)');
  assert.deepEqual(items[1].choice, { kind: 'download', model: qwen, pulledPath: path });
  assert.doesNotMatch(items[0].description!, /in use/);
  const gone = studentPickItems(local(path), dir, [pulledQwen], () => false).filter((item) => !item.separator);
  assert.equal(gone[1].description, '398 MB');
});

test('pick items: another file or an endpoint in use is shown on its own entry', () => {
  const file = studentPickItems(local('/data/my-student.gguf'), dir, [], () => true).filter((item) => !item.separator);
  assert.equal(file.at(-2)!.description, 'my-student.gguf (in use)');
  const endpoint = studentPickItems({ backend: 'vllm', modelPath: '', endpointUrls: ['http://gpu:8000'], servedModel: '' }, dir, [], () => true).filter((item) => !item.separator);
  assert.equal(endpoint.at(-1)!.description, 'vllm http://gpu:8000 (in use)');
  assert.doesNotMatch(endpoint[0].description!, /in use/);
});

test('status label: the catalogue title of a pulled file, a file name, the demo, or the endpoint', () => {
  assert.equal(studentLabel(local(join(dir, pulledQwen.file)), dir, [pulledQwen]).text, 'Qwen2.5 0.5B Instruct (Q4_K_M)');
  assert.equal(studentLabel(local('/data/my-student.gguf'), dir, []).text, 'my-student.gguf');
  assert.equal(studentLabel(local(), dir, []).text, 'TinyStories 260K (demo)');
  assert.deepEqual(studentLabel({ backend: 'sglang', modelPath: '', endpointUrls: ['http://a:1', 'http://b:1'], servedModel: 'Qwen2.5-7B' }, dir, []), {
    text: 'Qwen2.5-7B',
    detail: 'sglang at http://a:1 +1',
  });
});

test('download message and endpoint URL check', () => {
  assert.deepEqual(downloadMessage(199_000_000, 398_000_000), { message: '199 MB / 398 MB', percent: 50 });
  assert.equal(downloadMessage(0, 0).percent, 0);
  assert.equal(endpointUrlProblem('http://gpu-box:8000'), undefined);
  assert.match(endpointUrlProblem('gpu-box:8000')!, /http\(s\) URL/);
  assert.match(endpointUrlProblem('not a url')!, /http\(s\) URL/);
});
