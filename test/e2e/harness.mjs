// Sift's end-to-end harness: a REAL VS Code (code-server = VS Code's server + web workbench) driven in
// headless Chromium by playwright-core. Plain Node ESM so it runs without a compile step.
//
// What lives where:
//   - code-server, Node 24 and a fallback mocha come from scripts/e2e-setup.sh, cached outside the repo
//     (${SIFT_E2E_CACHE:-~/.cache/sift-e2e}, described by its paths.json);
//   - every run gets a fresh short temp dir (HOME, TMPDIR, user data, extensions, workspace, browser
//     profile): VS Code's IPC socket paths must stay under 108 characters;
//   - screenshots go to test-artifacts/e2e/ in the repo (ignored by git, kept by CI as artefacts).
//
// The extension under test is loaded as an unpacked folder, never packaged: Sift needs its
// node_modules (node-llama-cpp and its native binary) at run time. See installUnpackedExtension().
import { spawn, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import util from 'node:util';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const ARTIFACTS_DIR = process.env.SIFT_E2E_ARTIFACTS || path.join(REPO_ROOT, 'test-artifacts', 'e2e');
export const CACHE_DIR = process.env.SIFT_E2E_CACHE || path.join(os.homedir(), '.cache', 'sift-e2e');

const requireFromRepo = createRequire(path.join(REPO_ROOT, 'package.json'));
const { chromium } = requireFromRepo('playwright-core');

const sleep = ms => new Promise(resolve => setTimeout(resolve, ms));

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
// Clean-up: every process group and temp dir we create is registered here and removed on exit,
// on SIGINT/SIGTERM and on an uncaught error, so a failed run leaves nothing behind.
const cleanups = new Set();
let exiting = false;
function registerCleanup(fn) {
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
function killGroup(pid, signal = 'SIGKILL') {
  try {
    process.kill(-pid, signal);
    killedAtExit = true;
  } catch {
    // already gone
  }
}

// ---------------------------------------------------------------------------------------------
// Setup and temp dirs

/** Runs scripts/e2e-setup.sh (a cached no-op after the first time) and returns its paths.json. */
export function ensureSetup({ quiet = false } = {}) {
  const script = path.join(REPO_ROOT, 'scripts', 'e2e-setup.sh');
  const result = spawnSync('bash', [script], {
    stdio: ['ignore', quiet ? 'pipe' : 'inherit', 'inherit'],
    env: { ...process.env, SIFT_E2E_CACHE: CACHE_DIR },
    timeout: 15 * 60 * 1000,
  });
  if (result.status !== 0) throw new Error(`scripts/e2e-setup.sh failed (status ${result.status}, signal ${result.signal})`);
  return readSetupPaths();
}

export function readSetupPaths() {
  const file = path.join(CACHE_DIR, 'paths.json');
  const paths = JSON.parse(fs.readFileSync(file, 'utf8'));
  for (const key of ['node', 'codeServerEntry', 'chromium']) {
    if (!fs.existsSync(paths[key])) throw new Error(`${key} from ${file} is missing: ${paths[key]} (run scripts/e2e-setup.sh)`);
  }
  return paths;
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

export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/**
 * A workspace folder for the UI: a copy of `sources` (files or folders, copied recursively into one
 * folder) under `workDir`, leaving out what a fresh clone would not have (score stores under
 * `.sift/`, node_modules). Returns its absolute path.
 */
export function makeWorkspace(workDir, sources, name = 'ws') {
  const ws = path.join(workDir, name);
  fs.mkdirSync(ws, { recursive: true });
  for (const src of sources) {
    if (!fs.existsSync(src)) continue;
    if (fs.statSync(src).isDirectory()) fs.cpSync(src, ws, { recursive: true, dereference: true, filter: from => !/(^|[\\/])(\.sift|node_modules)$/.test(from) });
    else fs.copyFileSync(src, path.join(ws, path.basename(src)));
  }
  return ws;
}

// ---------------------------------------------------------------------------------------------
// The extension under test

export function readManifest(extensionDir = REPO_ROOT) {
  const manifest = JSON.parse(fs.readFileSync(path.join(extensionDir, 'package.json'), 'utf8'));
  return { ...manifest, id: `${manifest.publisher}.${manifest.name}`.toLowerCase() };
}

/**
 * Installs an unpacked extension folder (the repo, with its dist/ and node_modules/) into a
 * code-server --extensions-dir the way a user install lays it out, without packaging it:
 *   E/<publisher>.<name>-<version>/   a real folder whose entries are symlinks to the folder's
 *                                     top-level entries (package.json, dist, node_modules, ...)
 *   E/extensions.json                 VS Code's list of user extensions, with this one in it
 * (VS Code 1.139 would also scan E and write extensions.json itself when the file is missing.)
 * Per-entry links rather than one link to the repo: if VS Code ever deletes the extension folder
 * (uninstall, clean-up of obsolete versions), only links go, never the repo's files.
 */
export function installUnpackedExtension(extensionsDir, extensionDir = REPO_ROOT) {
  const source = path.resolve(extensionDir);
  const manifest = readManifest(source);
  const relativeLocation = `${manifest.id}-${manifest.version}`;
  const target = path.join(extensionsDir, relativeLocation);
  fs.rmSync(target, { recursive: true, force: true });
  fs.mkdirSync(target, { recursive: true });
  for (const entry of fs.readdirSync(source)) {
    if (entry === '.git') continue;
    fs.symlinkSync(path.join(source, entry), path.join(target, entry));
  }
  const registryFile = path.join(extensionsDir, 'extensions.json');
  const registry = fs.existsSync(registryFile) ? JSON.parse(fs.readFileSync(registryFile, 'utf8')) : [];
  const entry = {
    identifier: { id: manifest.id },
    version: manifest.version,
    location: { $mid: 1, path: target, scheme: 'file' },
    relativeLocation,
    metadata: { installedTimestamp: Date.now(), pinned: true },
  };
  const others = registry.filter(e => e.identifier?.id?.toLowerCase() !== manifest.id);
  fs.writeFileSync(registryFile, JSON.stringify([...others, entry], null, 2));
  return { ...manifest, installedAt: target };
}

// ---------------------------------------------------------------------------------------------
// code-server

export const DEFAULT_USER_SETTINGS = {
  'telemetry.telemetryLevel': 'off',
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'workbench.enableExperiments': false,
  'workbench.welcomePage.walkthroughs.openOnInstall': false,
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'extensions.ignoreRecommendations': true,
  'update.mode': 'none',
  'security.workspace.trust.enabled': false,
  'git.enabled': false,
  'git.autoRepositoryDetection': false,
  'chat.disableAIFeatures': true,
  'files.hotExit': 'off',
  // the web workbench defaults to afterDelay; desktop VS Code (and these tests) save explicitly
  'files.autoSave': 'off',
  'workbench.secondarySideBar.defaultVisibility': 'hidden',
  'editor.hover.delay': 300,
  'editor.minimap.enabled': false,
  'editor.inlayHints.enabled': 'on',
  'window.commandCenter': false,
};

/**
 * Starts code-server on a free loopback port in its own process group, with HOME/TMPDIR/user data
 * under `workDir`, and waits for /healthz. `extraArgs` e.g. ['--vscode-option', 'enable-smoke-test-driver'].
 * Returns { port, origin, authority, pid, logFile, stop() }.
 */
export async function startCodeServer({
  paths,
  workDir,
  extensionsDir = path.join(workDir, 'ext'),
  userDataDir = path.join(workDir, 'ud'),
  settings = {},
  extraArgs = [],
  env = {},
  name = 'code-server',
  readyTimeoutMs = 90_000,
}) {
  const home = path.join(workDir, 'home');
  const tmp = path.join(workDir, 'tmp');
  for (const dir of [home, tmp, extensionsDir, path.join(userDataDir, 'User')]) fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(userDataDir, 'User', 'settings.json'), JSON.stringify({ ...DEFAULT_USER_SETTINGS, ...settings }, null, 2));
  const port = await freePort();
  const config = path.join(workDir, `${name}.yaml`);
  fs.writeFileSync(config, `bind-addr: 127.0.0.1:${port}\nauth: none\ncert: false\n`);
  fs.mkdirSync(ARTIFACTS_DIR, { recursive: true });
  const logFile = path.join(ARTIFACTS_DIR, `${name}.log`);
  const out = fs.openSync(logFile, 'w');
  const args = [
    paths.codeServerEntry,
    '--config', config,
    '--bind-addr', `127.0.0.1:${port}`,
    '--auth', 'none',
    '--disable-telemetry',
    '--disable-update-check',
    '--disable-workspace-trust',
    '--disable-getting-started-override',
    '--user-data-dir', userDataDir,
    '--extensions-dir', extensionsDir,
    ...extraArgs,
  ];
  // VS Code variables of an enclosing editor (e.g. a VS Code terminal) would redirect this server.
  const cleanEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(VSCODE_|ELECTRON_|CODE_SERVER_)/.test(k)));
  const child = spawn(paths.node, args, {
    detached: true, // own process group: stop() ends the extension host, pty host and watchers too
    stdio: ['ignore', out, out],
    // EXTENSIONS_GALLERY={} turns the extension gallery off: no look-ups of a marketplace host.
    env: { ...cleanEnv, EXTENSIONS_GALLERY: '{}', HOME: home, TMPDIR: tmp, XDG_CONFIG_HOME: path.join(home, '.config'), XDG_DATA_HOME: path.join(home, '.local', 'share'), ...env },
  });
  fs.closeSync(out);
  const pid = child.pid;
  let exited = null;
  child.on('exit', (code, signal) => {
    exited = { code, signal };
  });
  const unregister = registerCleanup(() => killGroup(pid));
  const origin = `http://127.0.0.1:${port}`;
  const stop = async () => {
    unregister();
    if (exited) return;
    killGroup(pid, 'SIGTERM');
    for (let i = 0; i < 30 && !exited; i++) await sleep(100);
    killGroup(pid, 'SIGKILL');
  };
  const deadline = Date.now() + readyTimeoutMs;
  for (;;) {
    if (exited) throw new Error(`${name} exited during start-up (${JSON.stringify(exited)}); see ${logFile}:\n${tail(logFile)}`);
    try {
      const res = await fetch(`${origin}/healthz`, { signal: AbortSignal.timeout(2000) });
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`${name} not ready after ${readyTimeoutMs / 1000} s; see ${logFile}:\n${tail(logFile)}`);
    }
    await sleep(250);
  }
  return { port, origin, authority: `127.0.0.1:${port}`, pid, logFile, extensionsDir, userDataDir, stop };
}

function tail(file, lines = 30) {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/** The workbench URL for `folder`, optionally with a payload ([[key, value], ...], smoke-test driver only). */
export function workbenchUrl(server, folder, payload) {
  let url = `${server.origin}/?folder=${encodeURIComponent(folder)}`;
  if (payload) url += `&payload=${encodeURIComponent(JSON.stringify(payload))}`;
  return url;
}

/** A vscode-remote URI for a path on the server machine: the authority must equal the page's host. */
export function remoteUri(server, absPath) {
  return `vscode-remote://${server.authority}${absPath}`;
}

// ---------------------------------------------------------------------------------------------
// Chromium

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

// ---------------------------------------------------------------------------------------------
// Workbench helpers (selectors verified against code-server 4.139.1 / VS Code 1.139.1)

export const SEL = {
  explorerRow: '.explorer-folders-view .monaco-list-row',
  editor: '.editor-instance .monaco-editor',
  viewLines: '.editor-instance .view-lines',
  viewLine: '.editor-instance .view-lines .view-line',
  quickInput: '.quick-input-widget input',
  quickInputRow: '.quick-input-list .monaco-list-row',
  hover: '.monaco-hover',
  squiggleError: '.editor-instance .squiggly-error',
  squiggleWarning: '.editor-instance .squiggly-warning',
  actionWidgetRow: '.action-widget .monaco-list-row.action',
  notification: '.notification-toast',
  statusItem: '.statusbar-item',
  problemsRow: '.markers-panel .monaco-list-row',
};

/** Opens the workbench on `folder` and waits until the explorer shows it. */
export async function openWorkspace(page, server, folder, { timeoutMs = 120_000 } = {}) {
  await page.goto(workbenchUrl(server, folder), { timeout: timeoutMs });
  await page.waitForSelector(SEL.explorerRow, { timeout: timeoutMs });
}

/** Opens `relPath` (relative to the workspace) through Quick Open (Ctrl+P) and waits for its editor. */
export async function openFile(page, relPath, { timeoutMs = 30_000 } = {}) {
  await focusWorkbench(page);
  await page.keyboard.press('Control+P');
  const input = page.locator(SEL.quickInput);
  await input.waitFor({ state: 'visible', timeout: timeoutMs });
  await input.fill(relPath);
  const base = path.basename(relPath);
  await page.locator(SEL.quickInputRow, { hasText: base }).first().waitFor({ timeout: timeoutMs });
  await page.keyboard.press('Enter');
  await page.locator(`.tabs-container .tab.active[data-resource-name=${JSON.stringify(base)}]`).waitFor({ timeout: timeoutMs });
  await page.locator(SEL.viewLine).first().waitFor({ timeout: timeoutMs });
}

async function focusWorkbench(page) {
  // Keyboard shortcuts need focus inside the workbench. Leave it where it is if it is there; else
  // click the editor text (or the empty editor area), which has no side effect but a cursor move.
  const focused = await page.evaluate(() => !!document.activeElement && document.activeElement !== document.body).catch(() => false);
  if (focused) return;
  const editor = page.locator(SEL.viewLines).first();
  if (await editor.isVisible().catch(() => false)) await editor.click({ position: { x: 5, y: 5 } }).catch(() => {});
  else await page.locator('.part.editor').click({ position: { x: 40, y: 200 } }).catch(() => {});
}

/** Runs a command by its palette title (F1, type, pick the row whose label is `title`). */
export async function runCommand(page, title, { timeoutMs = 20_000 } = {}) {
  await focusWorkbench(page);
  await page.keyboard.press('F1');
  const input = page.locator(SEL.quickInput);
  await input.waitFor({ state: 'visible', timeout: timeoutMs });
  await input.fill(`>${title}`);
  await page.locator(SEL.quickInputRow, { hasText: title }).first().waitFor({ timeout: timeoutMs });
  await page.keyboard.press('Enter');
  await input.waitFor({ state: 'hidden', timeout: timeoutMs }).catch(() => {});
}

// In the page: the rendered lines of the active editor as [{ line (1-based), el }]. Monaco positions
// view lines and gutter rows absolutely with the same `top`, so the gutter's line numbers name them
// (also when scrolled, and although view lines are not kept in document order).
function renderedLinesInPage() {
  const editor = document.querySelector('.editor-group-container.active .editor-instance') || document.querySelector('.editor-instance');
  if (!editor) return [];
  const numberAt = new Map();
  for (const n of editor.querySelectorAll('.margin-view-overlays .line-numbers')) {
    const row = n.parentElement;
    if (row && /^\d+$/.test(n.textContent.trim())) numberAt.set(row.style.top, Number(n.textContent.trim()));
  }
  return [...editor.querySelectorAll('.view-lines .view-line')]
    .map(el => ({ line: numberAt.get(el.style.top), el }))
    .filter(r => r.line !== undefined)
    .sort((a, b) => a.line - b.line);
}

// Runs `fn(renderedLines, arg)` in the page. Built as an expression string: Playwright evaluates it
// over the DevTools protocol, which the workbench's CSP / Trusted Types (no eval) do not restrict.
function withRenderedLines(page, fn, arg = null) {
  return page.evaluate(`(${fn.toString()})((${renderedLinesInPage.toString()})(), ${JSON.stringify(arg)})`);
}

/**
 * Texts that the extension shows inside or after the lines of the active editor, as
 * [{ line (1-based), text, color, kind }] for the rendered lines:
 *   kind 'decoration': `renderOptions.after/before.contentText` of a decoration, which Monaco
 *                      renders as CSS ::after/::before content of an empty span;
 *   kind 'inlay':      an inlay hint, which Monaco renders as injected text in a span whose class
 *                      is a generated `dyn-rule-*` rule.
 * `color` is the computed CSS colour; `textColor` the colour of the line's plain text, to tell a
 * coloured annotation from an uncoloured one.
 */
export async function readLineAnnotations(page) {
  return withRenderedLines(page, lines => {
    const unquote = content => {
      try {
        return JSON.parse(content);
      } catch {
        return content; // not a quoted string (e.g. counter()); keep it raw
      }
    };
    const result = [];
    for (const { line, el } of lines) {
      const plain = el.querySelector('span[class^="mtk"]');
      const textColor = plain ? window.getComputedStyle(plain).color : null;
      for (const span of el.querySelectorAll('span')) {
        for (const pseudo of ['::before', '::after']) {
          const style = window.getComputedStyle(span, pseudo);
          const content = style.content;
          if (!content || content === 'none' || content === 'normal' || content === '""') continue;
          result.push({ line, kind: 'decoration', text: unquote(content), color: style.color, textColor });
        }
        if (/\bdyn-rule-/.test(span.className) && span.textContent.trim()) {
          result.push({ line, kind: 'inlay', text: span.textContent.replace(/\u00a0/g, ' ').trim(), color: window.getComputedStyle(span).color, textColor });
        }
      }
    }
    return result;
  });
}

/** Only the end-of-line decorations (kind 'decoration') of readLineAnnotations(). */
export async function readLineEndDecorations(page) {
  return (await readLineAnnotations(page)).filter(a => a.kind === 'decoration');
}

/** Waits until `predicate(annotations)` is true (see readLineAnnotations); returns the annotations. */
export async function waitForLineAnnotations(page, predicate, { timeoutMs = 60_000, intervalMs = 500 } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const last = await readLineAnnotations(page);
    if (predicate(last)) return last;
    if (Date.now() > deadline) throw new Error(`line annotations not as expected after ${timeoutMs / 1000} s; last: ${JSON.stringify(last)}`);
    await sleep(intervalMs);
  }
}

/** The screen box of (1-based) `line` in the active editor (revealed with Go to Line first). */
export async function lineBox(page, line) {
  await goToLine(page, line);
  const box = await withRenderedLines(
    page,
    (lines, line) => {
      const hit = lines.find(r => r.line === line);
      if (!hit) return null;
      const r = hit.el.getBoundingClientRect();
      const text = hit.el.firstElementChild?.getBoundingClientRect();
      return { x: r.x, y: r.y, width: r.width, height: r.height, textWidth: text ? text.width : r.width };
    },
    line,
  );
  if (!box) throw new Error(`line ${line} is not rendered`);
  return box;
}

/** Moves the cursor to (1-based) line/column with Go to Line (Ctrl+G). */
export async function goToLine(page, line, column = 1) {
  await focusWorkbench(page);
  await page.keyboard.press('Control+G');
  const input = page.locator(SEL.quickInput);
  await input.waitFor({ state: 'visible' });
  await input.fill(`:${line}:${column}`);
  await page.keyboard.press('Enter');
  await input.waitFor({ state: 'hidden' }).catch(() => {});
}

/** Hovers the mouse over (1-based) `line`, `xOffset` px into its text, and returns the hover text. */
export async function hoverLine(page, line, { xOffset = 20, hasText, timeoutMs = 20_000 } = {}) {
  const box = await lineBox(page, line);
  await page.mouse.move(box.x + 2, box.y - 40);
  await page.mouse.move(box.x + Math.min(xOffset, Math.max(2, box.textWidth - 2)), box.y + box.height / 2, { steps: 4 });
  const hover = page.locator(SEL.hover, hasText ? { hasText } : {}).filter({ visible: true }).first();
  await hover.waitFor({ state: 'visible', timeout: timeoutMs });
  return (await hover.innerText()).trim();
}

/**
 * Hovers the mouse over the squiggle (diagnostic) on (1-based) `line` and returns the hover text:
 * the diagnostic's message, plus whatever hover providers add. A diagnostic's range may be a single
 * character (e.g. where the JSON parser stopped), so aim at the squiggle itself, not the line.
 */
export async function hoverSquiggle(page, line, { severity = 'error', hasText, timeoutMs = 20_000, attempts = 3 } = {}) {
  // The squiggle's box is read after the editor scrolled; if the workbench was still laying out (a
  // slow CI machine), the mouse can land beside it and no hover opens: aim again, up to `attempts`.
  for (let attempt = 1; ; attempt++) {
    try {
      return await hoverSquiggleOnce(page, line, { severity, hasText, timeoutMs: timeoutMs / attempts });
    } catch (error) {
      if (attempt >= attempts) throw error;
      await dismiss(page);
    }
  }
}

async function hoverSquiggleOnce(page, line, { severity, hasText, timeoutMs }) {
  await goToLine(page, line);
  const box = await page.evaluate(
    ({ line, severity }) => {
      const editor = document.querySelector('.editor-group-container.active .editor-instance') || document.querySelector('.editor-instance');
      const numberAt = new Map();
      for (const n of editor.querySelectorAll('.margin-view-overlays .line-numbers')) numberAt.set(n.parentElement.style.top, Number(n.textContent.trim()));
      const el = [...editor.querySelectorAll(`.view-overlays .squiggly-${severity}`)].find(e => numberAt.get(e.parentElement?.style.top) === line);
      if (!el) return null;
      const r = el.getBoundingClientRect();
      return { x: r.x, y: r.y, width: r.width, height: r.height };
    },
    { line, severity },
  );
  if (!box) throw new Error(`no ${severity} squiggle rendered on line ${line}`);
  await page.mouse.move(box.x, box.y - 40);
  await page.mouse.move(box.x + Math.max(1, box.width / 2), box.y + box.height / 2, { steps: 4 });
  const hover = page.locator(SEL.hover, hasText ? { hasText } : {}).filter({ visible: true }).first();
  await hover.waitFor({ state: 'visible', timeout: timeoutMs });
  return (await hover.innerText()).trim();
}

/** Moves the mouse away and closes any hover/widget. */
export async function dismiss(page) {
  await page.mouse.move(2, 2);
  await page.keyboard.press('Escape');
}

/** Squiggles (diagnostics) rendered in the active editor: [{ line (1-based), severity }]. */
export async function readSquiggles(page) {
  return page.evaluate(() => {
    const editor = document.querySelector('.editor-group-container.active .editor-instance') || document.querySelector('.editor-instance');
    if (!editor) return [];
    const numberAt = new Map();
    for (const n of editor.querySelectorAll('.margin-view-overlays .line-numbers')) numberAt.set(n.parentElement.style.top, Number(n.textContent.trim()));
    return [...editor.querySelectorAll('.view-overlays [class*="squiggly-"]')].map(el => ({
      line: numberAt.get(el.parentElement?.style.top),
      severity: /squiggly-(error|warning|info|hint)/.exec(el.className)?.[1] ?? 'unknown',
    }));
  });
}

/** Opens the Problems panel (Ctrl+Shift+M) and returns the texts of its rows. */
export async function readProblemsPanel(page, { hasText, timeoutMs = 30_000 } = {}) {
  await focusWorkbench(page);
  await page.keyboard.press('Control+Shift+M');
  const row = page.locator(SEL.problemsRow, hasText ? { hasText } : {}).first();
  await row.waitFor({ state: 'visible', timeout: timeoutMs });
  return page.locator(SEL.problemsRow).allInnerTexts();
}

/**
 * Puts the cursor on (1-based) `line`, opens Quick Fix (Ctrl+.), and picks the action whose label
 * matches `label` (string or RegExp). Returns the labels that were offered.
 */
export async function applyCodeAction(page, line, label, { column = 2, timeoutMs = 20_000 } = {}) {
  await goToLine(page, line, column);
  const rows = page.locator(SEL.actionWidgetRow);
  // The keypress can land while the editor is still settling (or the list is momentarily empty):
  // ask again a few times within the time allowed rather than fail on the first miss.
  const attempts = 3;
  for (let attempt = 1; ; attempt++) {
    await page.keyboard.press('Control+.');
    try {
      await rows.first().waitFor({ state: 'visible', timeout: Math.ceil(timeoutMs / attempts) });
      break;
    } catch (error) {
      if (attempt === attempts) throw error;
      await page.keyboard.press('Escape');
      await goToLine(page, line, column);
    }
  }
  const offered = (await rows.allInnerTexts()).map(t => t.trim());
  const row = rows.filter({ hasText: label }).first();
  if ((await row.count()) === 0) {
    await page.keyboard.press('Escape');
    throw new Error(`no code action matching ${label} on line ${line}; offered: ${JSON.stringify(offered)}`);
  }
  await row.click();
  await rows.first().waitFor({ state: 'hidden', timeout: timeoutMs }).catch(() => {});
  return offered;
}

/** Undo (Ctrl+Z) in the active editor. */
export async function undo(page) {
  await page.locator(SEL.viewLines).first().click({ position: { x: 5, y: 5 } });
  await page.keyboard.press('Control+Z');
}

/** Saves the active editor (Ctrl+S) and waits until its tab is no longer dirty. */
export async function save(page, { timeoutMs = 20_000 } = {}) {
  await page.keyboard.press('Control+S');
  await page.locator('.tabs-container .tab.active.dirty').waitFor({ state: 'detached', timeout: timeoutMs });
}

/** Text of the rendered lines of the active editor, as [{ line, text }] (Monaco shows spaces as U+00A0). */
export async function readRenderedLines(page) {
  return withRenderedLines(page, lines => lines.map(({ line, el }) => ({ line, text: el.textContent.replace(/\u00a0/g, ' ') })));
}

/** Waits until `file` holds exactly `expected` (a Buffer); explains the first difference if not. */
export async function waitForFileBytes(file, expected, { timeoutMs = 20_000 } = {}) {
  let actual;
  try {
    await waitFor(() => (actual = fs.readFileSync(file)).equals(expected), { timeoutMs, what: `${path.basename(file)} content` });
  } catch {
    let at = 0;
    while (at < Math.min(actual.length, expected.length) && actual[at] === expected[at]) at++;
    throw new Error(
      `${path.basename(file)} differs from what was expected at byte ${at} (${actual.length} bytes, expected ${expected.length}): ` +
        `got ${JSON.stringify(actual.subarray(at, at + 60).toString())}, expected ${JSON.stringify(expected.subarray(at, at + 60).toString())}`,
    );
  }
}

/**
 * Opens "Developer: Show Running Extensions" (a modal editor in VS Code 1.139) and returns the
 * texts of its rows, scrolling its virtualized list until a row contains `hasText` (e.g. an
 * extension's displayName) or `timeoutMs` passes; closes it again.
 */
export async function runningExtensions(page, { hasText, timeoutMs = 60_000 } = {}) {
  await runCommand(page, 'Developer: Show Running Extensions');
  const list = page.locator('.runtime-extensions-editor .monaco-list').first();
  const rows = page.locator('.runtime-extensions-editor .monaco-list-row');
  const seen = new Set();
  try {
    await rows.first().waitFor({ state: 'visible', timeout: 30_000 });
    const box = await list.boundingBox();
    const deadline = Date.now() + timeoutMs;
    let scrolled = 0;
    for (;;) {
      for (const text of await rows.allInnerTexts()) seen.add(text.replace(/\s+/g, ' ').trim());
      if (!hasText || [...seen].some(t => t.includes(hasText))) return [...seen];
      if (Date.now() > deadline) return [...seen];
      if (box && scrolled < 40) {
        await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
        await page.mouse.wheel(0, box.height / 2);
        scrolled++;
      } else {
        scrolled = 0; // at the end: start over from the top (an activation may be pending)
        await page.mouse.wheel(0, -100_000);
      }
      await sleep(300);
    }
  } finally {
    await page.keyboard.press('Escape');
    await page.locator('.runtime-extensions-editor').first().waitFor({ state: 'hidden', timeout: 5_000 }).catch(() => closeActiveEditor(page));
  }
}

/** Closes the active editor (through the palette: Ctrl+W is the browser's in a web workbench). */
export async function closeActiveEditor(page) {
  await runCommand(page, 'View: Close Editor');
}

/** Hides the bottom panel (Problems, Output, ...) if it is open. */
export async function hidePanel(page) {
  if (await page.locator('.part.panel').isVisible().catch(() => false)) await runCommand(page, 'View: Hide Panel').catch(() => {});
}

/** Screenshot into test-artifacts/e2e/<name>.png; never throws. */
export async function screenshot(page, name) {
  fs.mkdirSync(ARTIFACTS_DIR, { recursive: true });
  const file = path.join(ARTIFACTS_DIR, `${name.replace(/[^\w.-]+/g, '-')}.png`);
  await page.screenshot({ path: file, timeout: 15_000 }).catch(e => log(`screenshot ${name} failed: ${e.message}`));
  return file;
}

/** Waits until `fn()` returns a truthy value (polling); returns it. */
export async function waitFor(fn, { timeoutMs = 30_000, intervalMs = 250, what = 'condition' } = {}) {
  const deadline = Date.now() + timeoutMs;
  let lastError;
  for (;;) {
    try {
      const value = await fn();
      if (value) return value;
    } catch (e) {
      lastError = e;
    }
    if (Date.now() > deadline) throw new Error(`${what} not met after ${timeoutMs / 1000} s${lastError ? `: ${lastError.message}` : ''}`);
    await sleep(intervalMs);
  }
}

// ---------------------------------------------------------------------------------------------
// Extension-host suite (mocha inside code-server's Node extension host, like @vscode/test-electron)

/**
 * Runs `testsPath` (a module exporting run(): Promise<void>) in the extension host with
 * `extensionDevelopmentPath`, on a server started with --vscode-option enable-smoke-test-driver
 * (without it a built workbench ignores the payload). Returns { exitCode, output }.
 * `onPage(page, server)`, if given, is called (not awaited) once the workbench is loading, e.g. for a
 * benchmark that watches the rendered editor while the suite runs; its errors are only logged.
 * The workbench reports the end through window.codeAutomationExit(code).
 */
export async function runExtensionHostSuite({
  paths,
  workDir,
  workspace,
  extensionDevelopmentPath = REPO_ROOT,
  extensionTestsPath,
  timeoutMs = 180_000,
  env = {},
  echo = true,
  onPage,
}) {
  const server = await startCodeServer({
    paths,
    workDir,
    name: 'code-server-exthost',
    extensionsDir: path.join(workDir, 'ext-exthost'),
    userDataDir: path.join(workDir, 'ud-exthost'),
    extraArgs: ['--vscode-option', 'enable-smoke-test-driver'],
    env: { SIFT_E2E_MOCHA: paths.mochaDir ?? '', ...env },
  });
  const browser = await launchBrowser({ paths, workDir });
  const output = [];
  try {
    const { page } = browser;
    let resolveExit;
    const exited = new Promise(resolve => {
      resolveExit = resolve;
    });
    await page.exposeFunction('codeAutomationExit', code => resolveExit(code));
    const consoleLog = fs.createWriteStream(path.join(ARTIFACTS_DIR, 'exthost-console.log'));
    page.on('console', async message => {
      // Extension-host console output reaches the page console (as workbench log lines); the
      // suite marks its own lines with [sift-suite].
      const args = await Promise.all(message.args().map(a => a.jsonValue().catch(() => '?')));
      const text = args.map(a => (typeof a === 'string' ? a : util.inspect(a))).join(' ');
      if (consoleLog.writable) consoleLog.write(`${text}\n`);
      const at = text.indexOf('[sift-suite]');
      if (at < 0) return;
      const clean = text.slice(at + '[sift-suite]'.length + 1);
      output.push(clean);
      if (echo) console.log(`  | ${clean}`);
    });
    browser.context.on('close', () => consoleLog.end());
    const payload = [
      ['extensionDevelopmentPath', remoteUri(server, path.resolve(extensionDevelopmentPath))],
      ['extensionTestsPath', remoteUri(server, path.resolve(extensionTestsPath))],
    ];
    await page.goto(workbenchUrl(server, workspace, payload), { timeout: 120_000 });
    if (onPage) Promise.resolve().then(() => onPage(page, server)).catch(error => log(`onPage: ${error.stack || error}`));
    const exitCode = await withTimeout(exited, timeoutMs, 'extension-host suite');
    return { exitCode, output };
  } catch (e) {
    await screenshot(browser.page, 'exthost-failure');
    throw e;
  } finally {
    await browser.close();
    await server.stop();
  }
}
