// code-server: VS Code's server and web workbench, started on a free loopback port in its own
// process group with HOME, TMPDIR and user data under the run's work dir (VS Code's IPC socket paths
// must stay under 108 characters), and the user settings it reads.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { waitFor } from '../waitFor.cjs';
import { ARTIFACTS_DIR, killGroup, registerCleanup, sleep } from './base.mjs';

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
    await waitFor(`${name} to exit`, () => exited, { timeoutMs: 3_000, intervalMs: 100 }).catch(() => {});
    killGroup(pid, 'SIGKILL');
  };
  try {
    await waitFor(`${name} to answer /healthz`, async () => (await fetch(`${origin}/healthz`, { signal: AbortSignal.timeout(2000) })).ok, {
      timeoutMs: readyTimeoutMs,
      gone: () => exited && `it exited during start-up (${JSON.stringify(exited)})`,
    });
  } catch (error) {
    await stop();
    throw new Error(`${error.message}; see ${logFile}:\n${tail(logFile)}`, { cause: error });
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

/**
 * Merges `values` into user-level settings (never workspace settings) and writes them again until
 * they stay: VS Code rewrites its settings files itself once after start-up (migrating old values),
 * which can drop a change made at the same moment. code-server is a remote window, so settings of
 * `machine-overridable` scope (the teacher URL and model) are read from its remote user settings,
 * `Machine/settings.json` on the server, not from the browser's `User/settings.json`.
 */
export async function setUserSettings(server, values, level = 'Machine') {
  const file = path.join(server.userDataDir, level, 'settings.json');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  if (!fs.existsSync(file)) fs.writeFileSync(file, '{}');
  const applied = settings => Object.entries(values).every(([key, value]) => JSON.stringify(settings[key]) === JSON.stringify(value));
  for (let attempt = 0; attempt < 10; attempt++) {
    let settings;
    try {
      settings = JSON.parse(fs.readFileSync(file, 'utf8'));
    } catch {
      await sleep(200); // being replaced right now
      continue;
    }
    if (!applied(settings)) {
      for (const [key, value] of Object.entries(values)) {
        if (value === undefined) delete settings[key];
        else settings[key] = value;
      }
      fs.writeFileSync(file, JSON.stringify(settings, null, 2));
    }
    await sleep(1500);
    try {
      if (applied(JSON.parse(fs.readFileSync(file, 'utf8')))) return;
    } catch {
      // being replaced: look again
    }
  }
  throw new Error(`the user settings did not keep ${Object.keys(values).join(', ')}`);
}

