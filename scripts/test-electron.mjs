// `npm run test:electron`: Sift's extension-host suite (test/e2e/suite) in desktop VS Code, through
// @vscode/test-electron, for machines that can download VS Code (this project's own machines cannot:
// there, `npm run test:e2e` runs the same suite in code-server).
//   SIFT_VSCODE_VERSION  VS Code to download (default: stable; e.g. 1.103.0, the oldest in engines)
// Needs a built extension (`npm run build`) and, on a headless Linux box, a display (xvfb-run).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runTests } from '@vscode/test-electron';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const manifest = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
if (!fs.existsSync(path.join(root, manifest.main))) {
  console.error(`${manifest.main} is missing: run \`npm run build\` first`);
  process.exit(1);
}

// The suite expects a workspace folder holding the e2e fixtures; work on a copy.
const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'sift-electron-'));
fs.cpSync(path.join(root, 'examples'), workspace, { recursive: true, dereference: true });
fs.cpSync(path.join(root, 'test', 'e2e', 'fixtures'), workspace, { recursive: true, dereference: true });
const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sift-ud-'));

let exitCode = 0;
try {
  await runTests({
    version: process.env.SIFT_VSCODE_VERSION || 'stable',
    extensionDevelopmentPath: root,
    extensionTestsPath: path.join(root, 'test', 'e2e', 'suite', 'index.js'),
    launchArgs: [
      workspace,
      '--disable-extensions', // other installed extensions; the one under development still loads
      '--disable-workspace-trust',
      '--skip-welcome',
      '--skip-release-notes',
      `--user-data-dir=${userDataDir}`,
    ],
  });
} catch (error) {
  console.error(`extension-host suite failed: ${error instanceof Error ? error.message : error}`);
  exitCode = 1;
} finally {
  fs.rmSync(workspace, { recursive: true, force: true });
  fs.rmSync(userDataDir, { recursive: true, force: true, maxRetries: 3 });
}
process.exit(exitCode);
