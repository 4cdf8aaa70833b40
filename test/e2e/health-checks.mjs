// The scoring endpoint stops and comes back while a dataset is open (issue 16): `sift serve` on
// loopback as a vLLM endpoint, stopped while a record is edited, then started again on the same
// port. The language status item says the endpoint is unreachable (with since when, why and when it
// is tried again), the record waits, and its score arrives without any command once the endpoint
// answers.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import * as h from './harness.mjs';

/** `sift serve` (the built CLI) on `port` (0: a free one); resolves once it listens. */
async function startServe(port) {
  const child = spawn(process.execPath, [path.join(h.REPO_ROOT, 'bin', 'sift.js'), 'serve', '--port', String(port)], {
    cwd: h.REPO_ROOT,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const unregister = h.registerCleanup(() => h.killGroup(child.pid));
  let out = '';
  child.stdout.on('data', chunk => (out += chunk));
  child.stderr.on('data', chunk => (out += chunk));
  const url = await h.waitFor('sift serve to listen', () => /listening on (http:\/\/\S+)/.exec(out)?.[1] ?? (child.exitCode !== null ? Promise.reject(new Error(`sift serve exited: ${out}`)) : null), { timeoutMs: 60_000 });
  const stop = async () => {
    h.killGroup(child.pid, 'SIGTERM');
    await h.waitFor('sift serve to exit', () => child.exitCode !== null || child.signalCode !== null, { timeoutMs: 20_000 });
    unregister();
  };
  return { url, stop };
}

/**
 * Hovers the language status item (`{}` in the status bar) until its popup's text matches, then
 * opens it once more so that it is laid out for that text (an open hover follows changes in place),
 * and returns the text.
 */
async function languageStatusHover(page, pattern, { timeoutMs = 90_000 } = {}) {
  const popup = () => page.locator('.context-view .hover-language-status, .monaco-hover').filter({ visible: true }).first();
  const open = async () => {
    await page.mouse.move(10, 10);
    await h.waitFor('the language status hover to close', async () => (await popup().count()) === 0, { timeoutMs: 10_000 });
    await page.locator('[id="status.languageStatus"]').hover({ timeout: 5_000 });
    return popup().innerText({ timeout: 5_000 }).catch(() => '');
  };
  await h.waitFor(`the language status to show ${pattern}`, async () => pattern.test(await open()), { timeoutMs, intervalMs: 1_000 });
  const text = await open();
  // Nothing in it runs past its right edge (a row too wide is scrolled, and its end hidden).
  const overflow = await popup().evaluate(el => {
    const right = el.getBoundingClientRect().right;
    return [...el.querySelectorAll('*')].filter(e => e.getBoundingClientRect().width > 0 && e.getBoundingClientRect().right > right + 1).map(e => e.textContent.trim()).filter(Boolean);
  });
  assert.deepEqual(overflow.slice(0, 3), [], 'the status hover is too narrow for its rows');
  return text;
}

export const healthChecks = [
  {
    name: 'endpoint health: the endpoint stops, the status item says so and the record waits; it restarts and the record is scored by itself',
    timeoutMs: 240_000,
    async run({ page, server, workspace, shot, log }) {
      const name = 'health-e2e.jsonl';
      const file = path.join(workspace, name);
      let serve = await startServe(0);
      const port = Number(new URL(serve.url).port);
      try {
        await h.setUserSettings(server, { 'sift.backend': 'vllm', 'sift.endpointUrls': [serve.url], 'sift.template': 'plain' });
        await h.openFile(page, name);
        const scored = line => a => a.some(x => x.line === line && /\bIFD\b/.test(x.text));
        await h.waitForLineAnnotations(page, a => [1, 2, 3].every(line => scored(line)(a)), { timeoutMs: 120_000 });
        await serve.stop();
        // An edit while the endpoint is down (the file changes on disk; the open editor follows it).
        const lines = fs.readFileSync(file, 'utf8').split('\n');
        lines[1] = JSON.stringify({ instruction: 'Name a fruit that is green.', input: '', output: 'A lime is green.' });
        fs.writeFileSync(file, lines.join('\n'));
        await h.waitForLineAnnotations(page, a => a.some(x => x.line === 2 && /waiting for endpoint/.test(x.text)), { timeoutMs: 90_000 });
        const down = await languageStatusHover(page, /endpoint unreachable/);
        log(`status while down: ${down.replace(/\s+/g, ' ')}`);
        assert.match(down, /Sift: endpoint unreachable\W+1 record waiting/);
        assert.match(down, new RegExp(`${new URL(serve.url).host.replace(/[.]/g, '\\.')} down since \\d\\d:\\d\\d:\\d\\d\\W+ECONNREFUSED, retry in \\d+ s`));
        await shot('endpoint-down-status');
        await h.dismiss(page);
        serve = await startServe(port);
        await h.waitForLineAnnotations(page, a => [1, 2, 3].every(line => scored(line)(a)), { timeoutMs: 90_000 });
        const back = await languageStatusHover(page, /3 \/ 3 scored/);
        assert.doesNotMatch(back, /unreachable/);
        await shot('endpoint-back-status');
        await h.dismiss(page);
      } finally {
        await serve.stop().catch(() => {});
        await h.setUserSettings(server, { 'sift.backend': undefined, 'sift.endpointUrls': undefined, 'sift.template': undefined });
      }
    },
  },
];
