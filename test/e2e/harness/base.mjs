// What every part of the e2e harness uses: where things are, a log line, time limits, and clean-up:
// every process group and temp dir a run creates is registered here and removed on exit, on
// SIGINT/SIGTERM and on an uncaught error, so a failed run leaves nothing behind.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const ARTIFACTS_DIR = process.env.SIFT_E2E_ARTIFACTS || path.join(REPO_ROOT, 'test-artifacts', 'e2e');
export const CACHE_DIR = process.env.SIFT_E2E_CACHE || path.join(os.homedir(), '.cache', 'sift-e2e');

export const sleep = ms => new Promise(resolve => setTimeout(resolve, ms));

export function log(...args) {
  console.log(`[e2e ${new Date().toISOString().slice(11, 19)}]`, ...args);
}

/** Rejects with `what timed out after N s` unless `promise` settles within `ms`. */
export async function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${Math.round(ms / 1000)} s`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

// ---------------------------------------------------------------------------------------------
// Clean-up at exit

const cleanups = new Set();
let exiting = false;
export function registerCleanup(fn) {
  cleanups.add(fn);
  return () => cleanups.delete(fn);
}
function runCleanupsSync() {
  // Process groups are killed first (registered last), then temp dirs go; a short pause between
  // lets the killed processes finish dying so they do not write into a dir being removed.
  for (const fn of [...cleanups].reverse()) {
    try {
      fn();
    } catch {
      // best effort: keep cleaning the rest
    }
  }
  cleanups.clear();
}
function sleepSync(ms) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
process.on('exit', runCleanupsSync);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    if (exiting) return;
    exiting = true;
    log(`${signal}: cleaning up`);
    runCleanupsSync();
    process.exit(130);
  });
}

let killedAtExit = false;
export function killGroup(pid, signal = 'SIGKILL') {
  try {
    process.kill(-pid, signal);
    killedAtExit = true;
  } catch {
    // already gone
  }
}

/** A fresh, short temp dir (removed at exit unless SIFT_E2E_KEEP=1). */
export function makeWorkDir(prefix = 'sift-e2e-') {
  const base = os.tmpdir().length <= 40 ? os.tmpdir() : '/tmp';
  const dir = fs.mkdtempSync(path.join(base, prefix));
  if (process.env.SIFT_E2E_KEEP !== '1') {
    registerCleanup(() => {
      if (killedAtExit) sleepSync(500);
      fs.rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
    });
  }
  return dir;
}
