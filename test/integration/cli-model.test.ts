import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { CATALOGUE } from '../../src/core/models/catalogue';
import type { CliResult } from '../helpers/cli';
import { sift } from '../helpers/cli';
import { FileServer } from '../helpers/fileServer';
import { bundledModel, cliPath, examplesDir, repoRoot, tempDir } from '../helpers/paths';
import { waitFor } from '../helpers/waitFor';

const model = readFileSync(bundledModel);
const HF_URI = 'hf:sift-test/stories-GGUF/stories260K.gguf';
const stories = join(examplesDir, 'tinystories-instructions.jsonl');

/** `sift` without blocking this process: the loopback server below must answer while it runs. */
function siftAsync(args: string[], env: NodeJS.ProcessEnv): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliPath, ...args], { cwd: repoRoot, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('close', (status) => resolve({ status, stdout, stderr }));
  });
}

let server: FileServer;
let env: NodeJS.ProcessEnv;
let dir: string;
before(async () => {
  server = new FileServer(model);
  // node-llama-cpp resolves hf: URIs against $HF_ENDPOINT when it is set (as llama.cpp does).
  dir = tempDir();
  env = { HF_ENDPOINT: await server.start(), MODEL_ENDPOINT: '', SIFT_MODELS_DIR: dir };
});
after(() => server.stop());

test('model list: every recommended model with its size and hf: URI (JSON), none pulled in an empty folder', () => {
  const result = sift(['model', 'list', '--json'], { env });
  assert.equal(result.status, 0, result.stderr);
  const listed = JSON.parse(result.stdout) as { dir: string; recommended: { name: string; uri: string; bytes: number; path: string | null }[] };
  assert.equal(listed.dir, dir);
  assert.deepEqual(listed.recommended.map((m) => [m.name, m.uri, m.bytes, m.path]), CATALOGUE.map((m) => [m.name, m.uri, m.bytes, null]));
  const table = sift(['model', 'list'], { env });
  assert.match(table.stdout, /qwen2\.5-0\.5b-instruct\s+398 MB/);
  assert.match(table.stdout, /gpt2\s+178 MB .*Superfiltering/);
});

test('model pull hf:… then --model hf:…: the pulled file scores exactly as the same file given by path', async () => {
  const pulled = await siftAsync(['model', 'pull', HF_URI], env);
  assert.equal(pulled.status, 0, pulled.stderr);
  const path = pulled.stdout.trim();
  assert.equal(path, join(dir, 'hf_sift-test_stories260K.gguf'));
  assert.deepEqual(readFileSync(path), model);
  assert.match(pulled.stderr, /100%/);
  assert.match(pulled.stderr, /sha256 recorded/);
  assert.ok(server.requests.length > 0);

  const listed = JSON.parse(sift(['model', 'list', '--json'], { env }).stdout) as { pulled: { source: string; path: string; sha256: string }[] };
  assert.deepEqual(listed.pulled, [{ source: HF_URI, bytes: model.length, sha256: createHash('sha256').update(model).digest('hex'), path }]);

  // Three records are enough to compare the two runs, and keep the test quick on a busy machine.
  const few = join(tempDir(), 'few.jsonl');
  writeFileSync(few, readFileSync(stories, 'utf8').split('\n').slice(0, 3).join('\n') + '\n');
  const out = (name: string): string => join(tempDir(), `${name}.jsonl`);
  const byName = out('by-name');
  const byPath = out('by-path');
  const a = sift(['score', few, '--model', HF_URI, '--out', byName, '--no-cache', '-q'], { env });
  assert.equal(a.status, 0, a.stderr + a.stdout);
  const b = sift(['score', few, '--model', bundledModel, '--out', byPath, '--no-cache', '-q'], { env });
  assert.equal(b.status, 0, b.stderr + b.stdout);
  const scores = (file: string): unknown[] => readFileSync(file, 'utf8').trim().split('\n').map((line) => (JSON.parse(line) as { ifd: number; rifd: number }).ifd);
  assert.equal(scores(byName).length, 3);
  assert.ok(scores(byName).every((ifd) => typeof ifd === 'number'));
  assert.deepEqual(scores(byName), scores(byPath));

  const again = await siftAsync(['model', 'pull', HF_URI], env);
  assert.equal(again.status, 0, again.stderr);
  assert.match(again.stderr, /already pulled, checksum verified/);
});

test('--model with a catalogue name not pulled yet: exit 2, saying how to pull it; an unknown name: exit 2', () => {
  const notPulled = sift(['score', stories, '--model', 'qwen2.5-0.5b-instruct', '-q'], { env });
  assert.equal(notPulled.status, 2);
  assert.match(notPulled.stderr, /model qwen2\.5-0\.5b-instruct is not downloaded yet: run `sift model pull qwen2\.5-0\.5b-instruct` first/);
  const unknown = sift(['score', stories, '--model', 'no-such-model', '-q'], { env });
  assert.equal(unknown.status, 2);
  assert.match(unknown.stderr, /model not found: no-such-model/);
});

test('model pull URL --sha256 of other bytes: exit 3, the file deleted, nothing recorded', async () => {
  const folder = tempDir();
  const wrong = '0'.repeat(64);
  // Three path segments: node-llama-cpp reads /user/repo on the hf: endpoint itself as a hf: URI.
  const result = await siftAsync(['model', 'pull', `${env.HF_ENDPOINT}/plain/files/stories260K.gguf`, '--dir', folder, '--sha256', wrong], env);
  assert.equal(result.status, 3, result.stderr);
  assert.match(result.stderr, new RegExp(`expected ${wrong} \\(given\\); the file was deleted`));
  assert.equal(result.stdout, '');
  assert.deepEqual(readdirSync(folder), []);
});

test('model pull from an address that does not answer: Ctrl-C stops it at once (exit 130), nothing left behind', async () => {
  const folder = tempDir();
  // A port nothing listens on: the downloader retries refused connections for minutes.
  const closed = new FileServer(model);
  const address = await closed.start();
  await closed.stop();
  const child = spawn(process.execPath, [cliPath, 'model', 'pull', `${address}/a/b/x.gguf`, '--dir', folder], { cwd: repoRoot, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('close', resolve));
  await waitFor('the pull to start', () => stderr.includes('pulling '));
  child.kill('SIGINT');
  assert.equal(await exited, 130, stderr);
  assert.match(stderr, /download paused/);
  assert.deepEqual(readdirSync(folder), []);
});
