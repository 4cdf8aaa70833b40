// Starts `sift serve` (the built CLI) on a free port for a benchmark, and stops it.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const cli = join(fileURLToPath(new URL('..', import.meta.url)), 'bin', 'sift.js');

/** `extra`: more `sift serve` arguments, e.g. ['--model', path]. */
export async function startServe(extra = []) {
  const child = spawn(process.execPath, [cli, 'serve', '--port', '0', ...extra], { stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk) => {
      out += chunk;
      const match = /listening on (http:\/\/\S+)/.exec(out);
      if (match) resolve(match[1]);
    });
    child.once('exit', (code) => reject(new Error(`sift serve exited ${code}`)));
  });
  return { url, stop: () => new Promise((resolve) => { child.once('exit', resolve); child.kill('SIGTERM'); }) };
}
