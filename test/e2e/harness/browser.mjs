// Headless Chromium (Debian's, from the setup) driven by playwright-core, and screenshots of it.
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import { ARTIFACTS_DIR, REPO_ROOT, killGroup, log, registerCleanup, withTimeout } from './base.mjs';

const requireFromRepo = createRequire(path.join(REPO_ROOT, 'package.json'));
const { chromium } = requireFromRepo('playwright-core');

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Headless Debian Chromium with a fresh profile. Returns { context, page, close() }. */
export async function launchBrowser({ paths, workDir, viewport = { width: 1400, height: 900 } }) {
  const profile = fs.mkdtempSync(path.join(workDir, 'chrome-'));
  const home = path.join(workDir, 'home'); // Chromium keeps crash-report state under $HOME
  fs.mkdirSync(home, { recursive: true });
  const context = await withTimeout(
    chromium.launchPersistentContext(profile, {
      executablePath: paths.chromium,
      headless: true,
      viewport,
      args: CHROMIUM_ARGS,
      env: { ...process.env, HOME: home },
      timeout: 60_000,
    }),
    90_000,
    'launching Chromium',
  );
  const unregister = registerCleanup(() => {
    const pid = context.browser()?.process?.()?.pid;
    if (pid) killGroup(pid);
  });
  context.setDefaultTimeout(30_000);
  const page = context.pages()[0] ?? (await context.newPage());
  const close = async () => {
    unregister();
    await withTimeout(context.close(), 20_000, 'closing Chromium').catch(e => log(String(e)));
  };
  return { context, page, close };
}

/** Screenshot into test-artifacts/e2e/<name>.png; never throws. */
export async function screenshot(page, name) {
  fs.mkdirSync(ARTIFACTS_DIR, { recursive: true });
  const file = path.join(ARTIFACTS_DIR, `${name.replace(/[^\w.-]+/g, '-')}.png`);
  await page.screenshot({ path: file, timeout: 15_000 }).catch(e => log(`screenshot ${name} failed: ${e.message}`));
  return file;
}

