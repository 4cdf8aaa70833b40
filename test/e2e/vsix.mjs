// The issue's "done when", literally: build the real package, install it into a clean VS Code and
// use it with no configuration. Run by test/e2e/run.mjs after the other checks (~35 s, of which
// ~10 s is the build). Skipped with --skip-vsix or --skip-ui; with --only TEXT it runs only when TEXT
// contains "vsix" (`--only vsix --skip-exthost`: just these steps, after an empty UI session).
//
//   1. `npm run package -- -o <temp>/sift-linux-x64.vsix`: the package script (esbuild, then
//      `vsce package --target linux-x64`), written into the run's temp dir rather than the repo so a
//      concurrent run never reads a half-written file;
//   2. `code-server --install-extension <vsix>` into a FRESH extensions dir (no symlinks into the repo);
//   3. code-server on that extensions dir, default settings (nothing for Sift), a temp workspace
//      holding only a copy of examples/tinystories-instructions.jsonl (no .sift/ score store);
//   4. coloured scores appear at the end of every record line (the bundled model scores the file),
//      the hover shows the breakdown;
//   5. the extension runs from the installed folder: "Developer: Show Running Extensions" lists it,
//      the language server process runs `<installed>/dist/server.js` and has node-llama-cpp's native
//      libraries from `<installed>/node_modules` mapped, and Sift's log (written by the extension
//      host) names the folder as the package root the server was started with.
// Screenshots: vsix-*.png in test-artifacts/e2e/; logs: vsix-package.log, vsix-install.log,
// code-server-vsix.log.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import * as h from './harness.mjs';

export const VSIX_DATASET = 'tinystories-instructions.jsonl';
const VSIX_NAME = 'sift-linux-x64.vsix';

/** Runs `command args` in `cwd`, its output into `logFile`; rejects on a non-zero exit or after `timeoutMs`. */
function run(command, args, { cwd, env = process.env, logFile, timeoutMs }) {
  return new Promise((resolve, reject) => {
    const out = fs.openSync(logFile, 'w');
    const child = spawn(command, args, { cwd, env, stdio: ['ignore', out, out], detached: true });
    fs.closeSync(out);
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }, timeoutMs);
    const tail = () => fs.readFileSync(logFile, 'utf8').split('\n').slice(-25).join('\n');
    child.on('error', error => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      const output = fs.readFileSync(logFile, 'utf8');
      if (code === 0) resolve(output);
      else reject(new Error(`${command} ${args.join(' ')} failed (${signal ?? `exit ${code}`}); ${path.relative(h.REPO_ROOT, logFile)}:\n${tail()}`));
    });
  });
}

/** `npm run package`, the .vsix written to `outFile`. Returns the file's size in bytes. */
export async function buildVsix({ extensionDir, outFile, timeoutMs = 10 * 60_000 }) {
  fs.mkdirSync(h.ARTIFACTS_DIR, { recursive: true });
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  // `-o` is given twice (the script's, then ours); vsce (commander) keeps the last.
  await run(npm, ['run', 'package', '--', '-o', outFile], { cwd: extensionDir, logFile: path.join(h.ARTIFACTS_DIR, 'vsix-package.log'), timeoutMs });
  if (!fs.existsSync(outFile)) throw new Error(`npm run package did not write ${outFile}`);
  return fs.statSync(outFile).size;
}

/**
 * `code-server --install-extension <vsix>` into `extensionsDir`, as a user would install a .vsix
 * (same HOME/TMPDIR isolation and gallery switched off as startCodeServer). Returns the installed
 * folder, after checking it is a real folder (no links into the repo) that extensions.json lists.
 */
export async function installVsix({ paths, workDir, vsix, extensionsDir, userDataDir, manifest }) {
  const home = path.join(workDir, 'home');
  const tmp = path.join(workDir, 'tmp');
  for (const dir of [home, tmp, extensionsDir, userDataDir]) fs.mkdirSync(dir, { recursive: true });
  const cleanEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(VSCODE_|ELECTRON_|CODE_SERVER_)/.test(k)));
  const config = path.join(workDir, 'install.yaml');
  fs.writeFileSync(config, 'auth: none\ncert: false\n');
  const output = await run(
    paths.node,
    [paths.codeServerEntry, '--config', config, '--user-data-dir', userDataDir, '--extensions-dir', extensionsDir, '--install-extension', vsix],
    {
      cwd: workDir,
      env: { ...cleanEnv, EXTENSIONS_GALLERY: '{}', HOME: home, TMPDIR: tmp, XDG_CONFIG_HOME: path.join(home, '.config'), XDG_DATA_HOME: path.join(home, '.local', 'share') },
      logFile: path.join(h.ARTIFACTS_DIR, 'vsix-install.log'),
      timeoutMs: 3 * 60_000,
    },
  );
  assert.match(output, /successfully installed/i, `code-server --install-extension said:\n${output}`);
  const registry = JSON.parse(fs.readFileSync(path.join(extensionsDir, 'extensions.json'), 'utf8'));
  const entry = registry.find(e => e.identifier?.id?.toLowerCase() === manifest.id);
  assert.ok(entry, `${manifest.id} is not in extensions.json: ${JSON.stringify(registry)}`);
  assert.equal(entry.version, manifest.version);
  const installedAt = entry.location?.path ?? path.join(extensionsDir, entry.relativeLocation);
  assert.ok(fs.lstatSync(installedAt).isDirectory(), `${installedAt} is not a folder`);
  const links = fs.readdirSync(installedAt).filter(name => fs.lstatSync(path.join(installedAt, name)).isSymbolicLink());
  assert.deepEqual(links, [], `the installed folder holds symlinks: ${links.join(', ')}`);
  for (const needed of [manifest.main, 'dist/server.js', 'models', 'node_modules/node-llama-cpp/package.json']) {
    const file = path.join(installedAt, needed.replace(/^\.\//, ''));
    assert.ok(fs.existsSync(file) || fs.existsSync(`${file}.js`), `the installed extension has no ${needed}`);
  }
  return { installedAt, metadata: entry.metadata };
}

/** Processes (any user's) whose command line contains `text`: [{ pid, cmdline }]. Linux /proc. */
function processesWith(text) {
  const found = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const cmdline = fs.readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').filter(Boolean);
      if (cmdline.some(arg => arg.includes(text))) found.push({ pid: Number(name), cmdline });
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return found;
}

/** Files of `/proc/<pid>/maps` under `dir` (shared libraries the process has loaded from there). */
function mappedFilesUnder(pid, dir) {
  try {
    const files = fs
      .readFileSync(`/proc/${pid}/maps`, 'utf8')
      .split('\n')
      .map(line => line.split(/\s+/).slice(5).join(' '))
      .filter(file => file.startsWith(dir + path.sep));
    return [...new Set(files)];
  } catch {
    return [];
  }
}

/** Every file under `dir` whose name matches `pattern`, recursively. */
function findFiles(dir, pattern) {
  const found = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && pattern.test(entry.name)) found.push(path.join(entry.parentPath ?? entry.path, entry.name));
  }
  return found;
}

/**
 * The steps, each reported through `report(name, ok, since, detail)` (run.mjs's). When the build,
 * the install or the start fails, the steps after it are not run (the failure is reported once);
 * the checks in the workbench each run whatever happened to the one before. `options` are
 * ui-checks.mjs's expectations (scorePattern, scoreTimeoutMs, hoverPatterns).
 */
export async function runVsixChecks({ paths, extensionDir = h.REPO_ROOT, manifest = h.readManifest(extensionDir), options, report, log = (...m) => console.log('  #', ...m) }) {
  const scriptOf = JSON.parse(fs.readFileSync(path.join(extensionDir, 'package.json'), 'utf8')).scripts ?? {};
  if (!scriptOf.package) {
    console.log(`# vsix: skipped, ${path.join(extensionDir, 'package.json')} has no "package" script`);
    return;
  }
  const workDir = h.makeWorkDir('sift-vsix-');
  const vsix = path.join(workDir, VSIX_NAME);
  const extensionsDir = path.join(workDir, 'ext');
  const userDataDir = path.join(workDir, 'ud');
  let since = Date.now();
  const step = async (name, fn) => {
    since = Date.now();
    try {
      const value = await fn();
      report(name, true, since);
      return { ok: true, value };
    } catch (error) {
      report(name, false, since, error.stack || String(error));
      return { ok: false };
    }
  };

  const built = await step(`vsix: \`npm run package\` builds ${VSIX_NAME}`, async () => {
    const bytes = await buildVsix({ extensionDir, outFile: vsix });
    log(`${VSIX_NAME}: ${(bytes / 1e6).toFixed(1)} MB`);
  });
  if (!built.ok) return;

  const installed = await step('vsix: `code-server --install-extension` installs it into a fresh extensions dir', () =>
    installVsix({ paths, workDir, vsix, extensionsDir, userDataDir, manifest }),
  );
  if (!installed.ok) return;
  const { installedAt } = installed.value;
  log(`installed at ${path.relative(workDir, installedAt)} of the run's temp dir`);

  const workspace = path.join(workDir, 'ws');
  fs.mkdirSync(workspace, { recursive: true });
  fs.copyFileSync(path.join(h.REPO_ROOT, 'examples', VSIX_DATASET), path.join(workspace, VSIX_DATASET));
  const records = fs.readFileSync(path.join(workspace, VSIX_DATASET), 'utf8').split('\n').filter(l => l.trim()).length;

  let server;
  let browser;
  const opened = await step('vsix: code-server starts on that extensions dir and opens a copy of examples/' + VSIX_DATASET, async () => {
    server = await h.startCodeServer({ paths, workDir, extensionsDir, userDataDir, name: 'code-server-vsix' });
    browser = await h.launchBrowser({ paths, workDir });
    await h.openWorkspace(browser.page, server, workspace);
    await h.openFile(browser.page, VSIX_DATASET);
    await h.screenshot(browser.page, 'vsix-opened');
  });
  if (!opened.ok) {
    if (browser) await h.screenshot(browser.page, 'vsix-failed-open');
    await browser?.close();
    await server?.stop();
    return;
  }
  const { page } = browser;
  const guarded = async (name, timeoutMs, fn) => {
    const result = await step(name, () => h.withTimeout(fn(), timeoutMs, name));
    if (!result.ok) {
      await h.screenshot(page, `vsix-failed-${name.replace(/^vsix: /, '').slice(0, 40)}`);
      await page.keyboard.press('Escape').catch(() => {});
      await page.keyboard.press('Escape').catch(() => {});
    }
    return result;
  };

  try {
    await guarded('vsix: with no configuration, coloured scores appear at the end of every record line', options.scoreTimeoutMs + 30_000, async () => {
      const scoredLines = annotations => new Set(annotations.filter(a => options.scorePattern.test(a.text) && a.color && a.color !== a.textColor).map(a => a.line));
      const started = Date.now();
      const annotations = await h.waitForLineAnnotations(page, a => scoredLines(a).size >= records, { timeoutMs: options.scoreTimeoutMs });
      log(`coloured scores on all ${records} lines after ${((Date.now() - started) / 1000).toFixed(1)} s, e.g. ${annotations.filter(a => a.line <= 2).map(a => `${a.line}: ${a.text} (${a.color})`).join(' | ')}`);
      await h.screenshot(page, 'vsix-scores');
      // The records are long: wrap them for a screenshot that shows the line ends (a view toggle,
      // not a setting), then unwrap again.
      // (readLineAnnotations cannot name wrapped rows: the gutter numbers only a line's first row.)
      await h.runCommand(page, 'View: Toggle Word Wrap');
      await new Promise(resolve => setTimeout(resolve, 1000));
      await h.screenshot(page, 'vsix-scores-wrapped');
      await h.runCommand(page, 'View: Toggle Word Wrap');
    });

    await guarded('vsix: hovering a record shows the score breakdown', 45_000, async () => {
      const hover = await h.hoverLine(page, 2, { hasText: options.hoverPatterns[0] });
      for (const pattern of options.hoverPatterns) assert.match(hover, pattern);
      await h.screenshot(page, 'vsix-hover');
      await h.dismiss(page);
    });

    await guarded('vsix: the extension runs from the installed folder', 90_000, async () => {
      const label = manifest.displayName || manifest.name;
      const rows = await h.runningExtensions(page, { hasText: label, timeoutMs: 40_000 });
      assert.ok(rows.some(r => r.includes(label)), `${label} not among the running extensions: ${JSON.stringify(rows)}`);

      // The language server: forked by the extension host from the installed folder.
      const serverJs = path.join(installedAt, 'dist', 'server.js');
      const servers = processesWith(serverJs);
      assert.ok(servers.length > 0, `no process runs ${serverJs}`);
      const fromRepo = processesWith(path.join(h.REPO_ROOT, 'dist', 'server.js'));
      assert.deepEqual(fromRepo.map(p => p.pid), [], 'a language server runs from the repo instead');
      // node-llama-cpp's native binary, shipped in the .vsix, loaded from there (scores exist, so
      // the model was loaded).
      const native = servers.flatMap(p => mappedFilesUnder(p.pid, path.join(installedAt, 'node_modules')));
      assert.ok(
        native.some(f => /\.(node|so)$/.test(f)),
        `the language server (pid ${servers.map(p => p.pid).join(', ')}) has no native library from the installed node_modules mapped`,
      );
      log(`language server pid ${servers[0].pid}: ${servers[0].cmdline.slice(1).map(a => a.replace(workDir, '<tmp>')).join(' ')}`);
      log(`native libraries from the .vsix: ${native.map(f => path.relative(installedAt, f)).join(', ')}`);

      // The extension's own log (a LogOutputChannel, written by the extension host) names the
      // package folder the language server was started with.
      const logs = findFiles(path.join(userDataDir, 'logs'), /\.log$/).filter(f => f.includes(`${path.sep}exthost`));
      const siftLog = logs.find(f => path.basename(path.dirname(f)) === manifest.id);
      for (const file of [siftLog, logs.find(f => path.basename(f) === 'remoteexthost.log')]) {
        if (file) fs.copyFileSync(file, path.join(h.ARTIFACTS_DIR, `vsix-${path.basename(file)}`));
      }
      assert.ok(siftLog, `no log of ${manifest.id} among the extension host's logs: ${logs.map(f => path.relative(userDataDir, f)).join(', ')}`);
      const named = fs.readFileSync(siftLog, 'utf8').split('\n').filter(line => line.includes(installedAt));
      assert.ok(named.length > 0, `${path.relative(userDataDir, siftLog)} does not name ${installedAt}`);
      log(`${path.relative(userDataDir, siftLog)}: ${named[0].replaceAll(workDir, '<tmp>').trim()}`);
    });
  } finally {
    await browser.close();
    await server.stop();
  }
}
