import * as vscode from 'vscode';

export const REFLECTION_SCHEME = 'sift-reflection';

/** Documents kept for diff editors that may still be open; older ones are forgotten. */
const KEEP = 64;

/**
 * Read-only virtual documents (`sift-reflection:`) holding a record before and after a rewrite, for
 * "Open in diff editor": VS Code's own diff editor then shows them side by side. Nothing is written
 * anywhere; closing the editor is all it takes.
 */
export class ReflectionDocuments implements vscode.TextDocumentContentProvider, vscode.Disposable {
  private readonly texts = new Map<string, string>();
  private readonly registration: vscode.Disposable;
  private next = 1;

  constructor() {
    this.registration = vscode.workspace.registerTextDocumentContentProvider(REFLECTION_SCHEME, this);
  }

  /** A new virtual document with `text`; `name` ends up in the tab title (e.g. `line-3.refined.json`). */
  add(name: string, text: string): vscode.Uri {
    const id = String(this.next++);
    this.texts.set(id, text);
    while (this.texts.size > KEEP) this.texts.delete(this.texts.keys().next().value!);
    return vscode.Uri.from({ scheme: REFLECTION_SCHEME, path: `/${name}`, query: id });
  }

  provideTextDocumentContent(uri: vscode.Uri): string {
    return this.texts.get(uri.query) ?? '// This reflection is no longer available: open the diff again from the Sift reflection panel.\n';
  }

  dispose(): void {
    this.registration.dispose();
    this.texts.clear();
  }
}
