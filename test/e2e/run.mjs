// Sift's end-to-end run (`npm run test:e2e`): a real VS Code (code-server) in headless Chromium.
//   1. setup:   scripts/e2e-setup.sh (cached; a no-op after the first run)
//   2. UI:      the extension installed unpacked into code-server; the checks of ui-checks.mjs
//   3. in-host: the mocha suite of test/e2e/suite inside code-server's extension host
// Prints one line per check and a closing `e2e: N passed, N failed`; exits 1 on any failure.
//
//   node test/e2e/run.mjs [--only TEXT] [--skip-ui] [--skip-exthost] [--skip-vsix] [--extension DIR] [--workspace DIR]...
//     --only TEXT      run only the UI checks whose name contains TEXT (the .vsix checks: TEXT contains "vsix")
//     --skip-vsix      no .vsix build-install-run checks (vsix.mjs; --skip-ui skips them too)
//     --extension DIR  test another unpacked extension folder instead of this repo (must be built)
//     --workspace DIR  folder(s) copied into the workspace (default: examples/); the fixtures of
//                      test/e2e/fixtures are always added
// Environment: SIFT_E2E_CACHE (setup cache), SIFT_E2E_TIMEOUT_MS (the run after the setup, default 9 min),
// SIFT_E2E_KEEP=1 (keep the temp dir), SIFT_E2E_* expectations (see ui-checks.mjs).
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import * as h from './harness.mjs';
import { checks, options as checkOptions } from './ui-checks.mjs';
import { runVsixChecks } from './vsix.mjs';

const { values: args } = parseArgs({
  options: {
    only: { type: 'string' },
    'skip-ui': { type: 'boolean', default: false },
    'skip-exthost': { type: 'boolean', default: false },
    'skip-vsix': { type: 'boolean', default: false },
    extension: { type: 'string', default: h.REPO_ROOT },
    workspace: { type: 'string', multiple: true },
  },
});

const RUN_TIMEOUT_MS = Number(process.env.SIFT_E2E_TIMEOUT_MS || 9 * 60_000);
const extensionDir = path.resolve(args.extension);
const fixturesDir = path.join(h.REPO_ROOT, 'test', 'e2e', 'fixtures');
const workspaceSources = [...(args.workspace ?? [path.join(h.REPO_ROOT, 'examples')]), fixturesDir];
const results = [];
const t0 = Date.now();
const seconds = since => `${((Date.now() - since) / 1000).toFixed(1)} s`;

function report(name, ok, since, detail) {
  results.push({ name, ok });
  console.log(`${ok ? 'ok' : 'not ok'} ${results.length} - ${name}${since ? ` (${seconds(since)})` : ''}`);
  if (detail) console.log(detail.replace(/^/gm, '  # '));
}

// A hang must not eat CI's time: end everything (the harness kills its processes on exit). Started
// after the setup, whose first run on a new machine (apt, Node 24, code-server's native builds) takes
// minutes and has its own time limit.
function startWatchdog() {
  const watchdog = setTimeout(() => {
    console.log(`not ok - the e2e run exceeded ${RUN_TIMEOUT_MS / 1000} s after the setup; stopping`);
    console.log(`e2e: ${results.filter(r => r.ok).length} passed, ${results.filter(r => !r.ok).length + 1} failed`);
    process.exit(1);
  }, RUN_TIMEOUT_MS);
  watchdog.unref();
}

async function runUiChecks(paths, manifest) {
  const selected = checks.filter(c => !args.only || c.name.includes(args.only));
  const workDir = h.makeWorkDir('sift-ui-');
  const workspace = h.makeWorkspace(workDir, workspaceSources);
  const extensionsDir = path.join(workDir, 'ext');
  h.installUnpackedExtension(extensionsDir, extensionDir);
  let since = Date.now();
  let server;
  let browser;
  try {
    server = await h.startCodeServer({ paths, workDir, extensionsDir });
    browser = await h.launchBrowser({ paths, workDir });
    await h.openWorkspace(browser.page, server, workspace);
    await h.screenshot(browser.page, 'workbench');
    report(`code-server ${paths.codeServerVersion} workbench opens the workspace`, true, since);
  } catch (error) {
    if (browser) await h.screenshot(browser.page, 'workbench-failure');
    report('code-server workbench opens the workspace', false, since, error.stack || String(error));
    await browser?.close();
    await server?.stop();
    return;
  }
  const { page } = browser;
  const ctx = {
    page,
    server,
    workspace,
    manifest,
    options: checkOptions,
    shot: name => h.screenshot(page, name),
    log: (...m) => console.log('  #', ...m),
  };
  for (const check of selected) {
    since = Date.now();
    try {
      await h.withTimeout(check.run(ctx), check.timeoutMs ?? 60_000, check.name);
      report(check.name, true, since);
    } catch (error) {
      await h.screenshot(page, `failed-${results.length + 1}`);
      report(check.name, false, since, error.stack || String(error));
      await page.keyboard.press('Escape').catch(() => {});
      await page.keyboard.press('Escape').catch(() => {});
    }
  }
  await browser.close();
  await server.stop();
}

async function runExtensionHost(paths) {
  const since = Date.now();
  const workDir = h.makeWorkDir('sift-eh-');
  const workspace = h.makeWorkspace(workDir, workspaceSources);
  try {
    const { exitCode, output } = await h.runExtensionHostSuite({
      paths,
      workDir,
      workspace,
      extensionDevelopmentPath: extensionDir,
      extensionTestsPath: path.join(h.REPO_ROOT, 'test', 'e2e', 'suite', 'index.js'),
    });
    // One result per mocha test, from the spec reporter's listing (before its "N passing" line).
    const listing = output.slice(0, Math.max(0, output.findIndex(l => /^\s*\d+ passing/.test(l))));
    for (const line of listing) {
      const passed = /^\s*✔ (.*?)(?: \(\d+ms\))?$/.exec(line);
      const failed = /^\s*\d+\) (.*)$/.exec(line);
      if (passed || failed) report(`extension host: ${(passed || failed)[1]}`, !!passed, null);
    }
    const summary = output.map(l => /extension host: (\d+) passed, (\d+) failed/.exec(l)).find(Boolean);
    const ok = exitCode === 0 && !!summary && Number(summary[2]) === 0;
    console.log(`# extension-host suite: exit code ${exitCode} (${seconds(since)})`);
    if (!summary) report('extension-host suite reported its results', false, since, output.slice(-20).join('\n'));
    else if (!ok && Number(summary[2]) === 0) report('extension-host suite exited cleanly', false, since, `exit code ${exitCode}`);
  } catch (error) {
    report('extension-host suite', false, since, error.stack || String(error));
  }
}

async function main() {
  let since = Date.now();
  let paths;
  try {
    paths = h.ensureSetup();
    report('e2e setup (chromium, Node 24, code-server)', true, since);
  } catch (error) {
    report('e2e setup (chromium, Node 24, code-server)', false, since, String(error));
    return;
  }
  startWatchdog();
  since = Date.now();
  const manifest = h.readManifest(extensionDir);
  const main = manifest.main && path.join(extensionDir, manifest.main);
  if (main && !fs.existsSync(main) && !fs.existsSync(`${main}.js`)) {
    report(`${manifest.id} is built`, false, since, `${manifest.main} is missing: run \`npm run build\` first`);
    return;
  }
  console.log(`# testing ${manifest.id} ${manifest.version} from ${path.relative(process.cwd(), extensionDir) || '.'}`);
  if (!args['skip-ui']) await runUiChecks(paths, manifest);
  if (!args['skip-exthost']) await runExtensionHost(paths);
  if (!args['skip-ui'] && !args['skip-vsix'] && (!args.only || /vsix/i.test(args.only))) await runVsixChecks({ paths, extensionDir, manifest, options: checkOptions, report });
}

try {
  await main();
} catch (error) {
  report('e2e harness', false, t0, error.stack || String(error));
}
const failed = results.filter(r => !r.ok).length;
console.log(`# e2e took ${seconds(t0)}; screenshots and logs in ${path.relative(process.cwd(), h.ARTIFACTS_DIR) || '.'}`);
console.log(`e2e: ${results.length - failed} passed, ${failed} failed`);
process.exit(failed || results.length === 0 ? 1 : 0);
