import * as vscode from 'vscode';
import { FilterFileCommand, type FilterOptions } from '../protocol';
import { FILTER_RULES, buildFilterOptions, defaultFilteredPath, describeFilterResult, validateAnswer, type FilterRuleId } from './filterChoices';
import type { ServerConnection } from './serverConnection';

/** Asks for the rules and the output file; undefined when the user backs out. */
async function askFilterOptions(document: vscode.TextDocument): Promise<FilterOptions | undefined> {
  const picked = await vscode.window.showQuickPick(
    FILTER_RULES.map((rule) => ({ label: rule.label, detail: rule.detail, picked: rule.picked === true, rule })),
    { title: 'Sift: Filter File', placeHolder: 'Rules to apply (in this order: self-consistency, thresholds, DS, top k%)', canPickMany: true, ignoreFocusOut: true },
  );
  if (!picked || picked.length === 0) return undefined;
  const answers = new Map<FilterRuleId, string>();
  for (const { rule } of picked) {
    if (!rule.prompt) {
      answers.set(rule.id, '');
      continue;
    }
    const answer = await vscode.window.showInputBox({
      title: `Sift: ${rule.label}`,
      prompt: rule.prompt,
      value: rule.defaultValue,
      ignoreFocusOut: true,
      validateInput: (text) => validateAnswer(rule.id, text),
    });
    if (answer === undefined) return undefined;
    answers.set(rule.id, answer);
  }
  const folder = vscode.workspace.getWorkspaceFolder(document.uri) ?? vscode.workspace.workspaceFolders?.[0];
  const sourcePath = document.uri.scheme === 'file' ? document.uri.fsPath : folder ? vscode.Uri.joinPath(folder.uri, 'dataset.jsonl').fsPath : undefined;
  const defaultUri = sourcePath ? vscode.Uri.file(defaultFilteredPath(sourcePath)) : undefined;
  const target = await vscode.window.showSaveDialog({
    title: 'Sift: Save the filtered dataset as',
    defaultUri,
    filters: { 'JSON Lines': ['jsonl', 'ndjson'] },
    saveLabel: 'Filter',
  });
  if (!target) return undefined;
  if (target.scheme !== 'file') {
    void vscode.window.showErrorMessage('Sift writes filtered datasets to local files only.');
    return undefined;
  }
  if (target.toString() === document.uri.toString()) {
    void vscode.window.showErrorMessage('Choose another file: Sift does not overwrite the dataset being filtered.');
    return undefined;
  }
  return buildFilterOptions(target.fsPath, answers);
}

/** Sift: Filter File…: rules from quick picks, the server filters (scoring what is missing), the new file opens. */
export async function filterFile(server: ServerConnection, document: vscode.TextDocument): Promise<void> {
  const options = await askFilterOptions(document);
  if (!options) return;
  const result = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: `Sift: filtering ${vscode.workspace.asRelativePath(document.uri)}`, cancellable: true },
    async (_progress, token) => {
      try {
        return await server.run(FilterFileCommand, [server.protocolUri(document.uri), options], token);
      } catch (error) {
        if (token.isCancellationRequested) return undefined;
        throw error;
      }
    },
  );
  if (!result) return;
  const opened = await vscode.workspace.openTextDocument(vscode.Uri.file(result.outPath));
  await vscode.window.showTextDocument(opened, { preview: false });
  void vscode.window.showInformationMessage(describeFilterResult(result));
}
