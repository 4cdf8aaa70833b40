// Reflection in a real VS Code extension host: the commands, the lazy code actions (offered on a
// record without calling any teacher) and the read-only documents of "Open in diff editor". The
// diff view itself is driven through the UI in ../ui-checks.mjs.
/* eslint-disable @typescript-eslint/no-require-imports */
/* global suite, suiteSetup, test */
const assert = require('assert');
const vscode = require('vscode');
const { waitFor } = require('../waitFor.cjs');

const EXTENSION_ID = 'sift.sift';
const FIXTURE = 'e2e-scored.jsonl';

suite('Sift reflection in a real VS Code extension host', () => {
  let uri;

  suiteSetup(async () => {
    const folder = vscode.workspace.workspaceFolders && vscode.workspace.workspaceFolders[0];
    assert.ok(folder, 'the suite needs a workspace folder with the e2e fixtures');
    uri = vscode.Uri.joinPath(folder.uri, FIXTURE);
    await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(uri));
    const extension = vscode.extensions.getExtension(EXTENSION_ID);
    await waitFor(`${EXTENSION_ID} to activate`, () => extension.isActive);
  });

  test('the reflection commands are registered (sift.reflect by the language client once the server runs)', async () => {
    const ids = ['sift.editor.reflectRecord', 'sift.editor.reflectRecords', 'sift.setTeacherApiKey', 'sift.clearTeacherApiKey', 'sift.reflect'];
    const commands = await waitFor('the reflection commands', async () => {
      const all = await vscode.commands.getCommands(true);
      return ids.every(id => all.includes(id)) ? all : null;
    });
    for (const id of ids) assert.ok(commands.includes(id), `${id} is registered`);
  });

  test('a record offers the three reflection actions, which only name a command', async () => {
    const actions = await waitFor('the reflection code actions on line 1', async () => {
      const found = await vscode.commands.executeCommand('vscode.executeCodeActionProvider', uri, new vscode.Range(0, 0, 0, 0));
      const reflect = (found || []).filter(a => a.command && a.command.command === 'sift.reflect');
      return reflect.length === 3 ? reflect : null;
    });
    assert.deepStrictEqual(
      actions.map(a => [a.title, a.kind && a.kind.value, a.command.arguments[2]]),
      [
        ['Reflect instruction', 'refactor.rewrite', 'instruction'],
        ['Reflect response', 'refactor.rewrite', 'response'],
        ['Selective reflection', 'refactor.rewrite', 'selective'],
      ],
    );
    for (const action of actions) {
      assert.strictEqual(action.edit, undefined, 'no edit is computed to show the action');
      assert.strictEqual(action.command.arguments[0], uri.toString());
      assert.strictEqual(action.command.arguments[1], 0);
      assert.strictEqual(action.command.arguments.length, 4, 'VS Code shows the result in its diff view: no {apply}');
    }
  });

  test('the sift-reflection documents are read-only virtual documents', async () => {
    const doc = await vscode.workspace.openTextDocument(vscode.Uri.parse('sift-reflection:/line-1.original.json?999999'));
    assert.match(doc.getText(), /no longer available/);
    assert.strictEqual(doc.uri.scheme, 'sift-reflection');
  });
});
