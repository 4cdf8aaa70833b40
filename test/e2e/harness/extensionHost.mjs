// The extension-host suite: mocha inside code-server's Node extension host, like @vscode/test-electron.
import fs from 'node:fs';
import path from 'node:path';
import util from 'node:util';
import { ARTIFACTS_DIR, REPO_ROOT, withTimeout, log } from './base.mjs';
import { launchBrowser, screenshot } from './browser.mjs';
import { remoteUri, startCodeServer, workbenchUrl } from './codeServer.mjs';

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
