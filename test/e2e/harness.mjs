// Sift's end-to-end harness: a REAL VS Code (code-server = VS Code's server + web workbench) driven in
// headless Chromium by playwright-core. Plain Node ESM so it runs without a compile step. This file
// is the one import for the checks (`import * as h from './harness.mjs'`); each part does one job:
//
//   harness/base.mjs           paths (repo, artifacts, setup cache), log, time limits, clean-up at exit
//   harness/setup.mjs          the cached setup, workspace copies, the unpacked extension, files on disk
//   harness/codeServer.mjs     code-server: start/stop on a free port, workbench URLs, user settings
//   harness/browser.mjs        headless Chromium and screenshots
//   harness/workbench.mjs      workbench actions: files, palette commands, quick picks, code actions, save
//   harness/editor.mjs         what the editor shows: line-end texts, squiggles, hovers
//   harness/extensionHost.mjs  the mocha suite inside the extension host
//   waitFor.cjs                the one polling wait (shared with the in-host suite)
//
// Where things live: code-server, Node 24 and a fallback mocha come from scripts/e2e-setup.sh,
// cached outside the repo (${SIFT_E2E_CACHE:-~/.cache/sift-e2e}, described by its paths.json);
// every run gets a fresh short temp dir (HOME, TMPDIR, user data, extensions, workspace, browser
// profile); screenshots go to test-artifacts/e2e/ in the repo (ignored by git, kept by CI).
export * from './harness/base.mjs';
export * from './harness/setup.mjs';
export * from './harness/codeServer.mjs';
export * from './harness/browser.mjs';
export * from './harness/workbench.mjs';
export * from './harness/editor.mjs';
export * from './harness/extensionHost.mjs';
export { waitFor } from './waitFor.cjs';
