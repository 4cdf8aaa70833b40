// The machine and the folders a run works in: the cached setup (scripts/e2e-setup.sh), a copy of
// the workspace, the extension under test installed unpacked, and files on disk compared byte for byte.
//
// The extension is loaded as an unpacked folder, never packaged: Sift needs its node_modules
// (node-llama-cpp and its native binary) at run time. See installUnpackedExtension().
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { waitFor } from '../waitFor.cjs';
import { CACHE_DIR, REPO_ROOT } from './base.mjs';

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

/** Waits until `file` holds exactly `expected` (a Buffer); explains the first difference if not. */
export async function waitForFileBytes(file, expected, { timeoutMs = 20_000 } = {}) {
  let actual;
  try {
    await waitFor(`${path.basename(file)} content`, () => (actual = fs.readFileSync(file)).equals(expected), { timeoutMs });
  } catch {
    let at = 0;
    while (at < Math.min(actual.length, expected.length) && actual[at] === expected[at]) at++;
    throw new Error(
      `${path.basename(file)} differs from what was expected at byte ${at} (${actual.length} bytes, expected ${expected.length}): ` +
        `got ${JSON.stringify(actual.subarray(at, at + 60).toString())}, expected ${JSON.stringify(expected.subarray(at, at + 60).toString())}`,
    );
  }
}
