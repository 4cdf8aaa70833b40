// Smoke test run inside a real VS Code extension host (code-server via test/e2e/run.mjs, or desktop
// VS Code via scripts/test-electron.mjs). The workspace folder holds the fixtures of test/e2e/fixtures.
/* eslint-disable @typescript-eslint/no-require-imports */
/* global suite, suiteSetup, test */
const assert = require('assert');
const vscode = require('vscode');
const { waitFor } = require('../waitFor.cjs');

const EXTENSION_ID = 'sift.sift';
const MALFORMED_FIXTURE = 'e2e-malformed.jsonl';
const MALFORMED_LINE = 2; // 0-based: the third line of the fixture is not valid JSON

suite('Sift in a real VS Code extension host', () => {
  let uri;

  suiteSetup(() => {
    const folder = vscode.workspace.workspaceFolders && vscode.workspace.workspaceFolders[0];
    assert.ok(folder, 'the suite needs a workspace folder with the e2e fixtures');
    uri = vscode.Uri.joinPath(folder.uri, MALFORMED_FIXTURE);
    console.log(`[sift-suite] VS Code ${vscode.version}, ${vscode.env.appHost}, node ${process.version}`);
  });

  test('the extension is installed', () => {
    assert.ok(vscode.extensions.getExtension(EXTENSION_ID), `${EXTENSION_ID} not found`);
  });

  test('it activates when a .jsonl file is opened', async () => {
    const doc = await vscode.workspace.openTextDocument(uri);
    await vscode.window.showTextDocument(doc);
    assert.strictEqual(doc.languageId, 'jsonl');
    const extension = vscode.extensions.getExtension(EXTENSION_ID);
    await waitFor(`${EXTENSION_ID} to activate`, () => extension.isActive);
  });

  test('the malformed line gets an error diagnostic', async () => {
    const diagnostics = await waitFor(`a diagnostic on line ${MALFORMED_LINE + 1} of ${MALFORMED_FIXTURE}`, () => {
      const found = vscode.languages.getDiagnostics(uri).filter(d => d.range.start.line === MALFORMED_LINE);
      return found.length ? found : null;
    });
    assert.strictEqual(diagnostics[0].severity, vscode.DiagnosticSeverity.Error);
    const others = vscode.languages.getDiagnostics(uri).filter(d => d.range.start.line !== MALFORMED_LINE && d.severity === vscode.DiagnosticSeverity.Error);
    assert.deepStrictEqual(others.map(d => `${d.range.start.line + 1}: ${d.message}`), [], 'only the malformed line is an error');
  });
});
