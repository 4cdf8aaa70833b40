import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cliPath, examplesDir, repoRoot, tempDir } from './paths';

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the built `sift` CLI (dist/cli.js through bin/sift.js), as a user would. */
export function sift(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): CliResult {
  const result = spawnSync(process.execPath, [cliPath, ...args], {
    cwd: options.cwd ?? repoRoot,
    env: { ...process.env, ...options.env },
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/**
 * `sift` without blocking this process: for tests that hold pooled HTTP connections of their own.
 * While `spawnSync` blocks the event loop, a keep-alive socket the server closes meanwhile is not
 * seen as closed, and the next `fetch` reuses it and fails with "other side closed".
 */
export function siftAsync(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
  const child = spawn(process.execPath, [cliPath, ...args], { cwd: options.cwd ?? repoRoot, env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (status) => resolve({ status, stdout, stderr }));
  });
}

/** Starts `sift serve --port 0` and resolves with its URL once it listens. */
export async function startServe(extra: string[] = []): Promise<{ url: string; process: ChildProcess; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, [cliPath, 'serve', '--port', '0', ...extra], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`sift serve did not start: ${out}`)), 30_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /listening on (http:\/\/\S+)/.exec(out);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    child.stderr!.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.once('exit', (code) => reject(new Error(`sift serve exited with ${code}: ${out}`)));
  });
  return {
    url,
    process: child,
    stop: () => new Promise<void>((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    }),
  };
}

/**
 * A dataset of `count` distinct records (the example stories, numbered) in a temp dir of its own:
 * long enough that a run is still scoring when a test stops it.
 */
export function manyRecords(count: number): { dir: string; dataset: string } {
  const dir = tempDir();
  const dataset = join(dir, 'many.jsonl');
  const story = readFileSync(join(examplesDir, 'tinystories-instructions.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { instruction: string; output: string });
  const lines = Array.from({ length: count }, (_, i) => JSON.stringify({ instruction: `${story[i % 18].instruction} (${i})`, input: '', output: story[i % 18].output }));
  writeFileSync(dataset, lines.join('\n') + '\n');
  return { dir, dataset };
}
