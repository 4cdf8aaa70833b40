import * as vscode from 'vscode';
import { DocumentSymbolRequest, type DocumentSymbol } from 'vscode-languageclient/node';
import { symbolsRefreshDelay } from './recordViewModel';
import { DOCUMENT_SELECTOR, type ServerConnection } from './serverConnection';

/**
 * The outline and "Go to Symbol" of a dataset: the server's textDocument/documentSymbol (records
 * named with their scores) through a provider of the client's own. VS Code keeps a document's
 * symbols until its text changes, and LSP has no message saying they changed, so as scores land in
 * the active file the provider is registered again (at most every symbolsRefreshDelay),
 * which makes VS Code ask again. The server is told not to advertise symbols, so they are not
 * listed twice.
 */
export class RecordSymbols implements vscode.Disposable {
  private registration: vscode.Disposable | undefined;
  private timer: NodeJS.Timeout | undefined;

  /** Documents whose scores changed while another editor was active: refreshed when they become active. */
  private readonly stale = new Set<string>();
  private readonly activeListener: vscode.Disposable;

  constructor(private readonly server: ServerConnection) {
    this.register();
    this.activeListener = vscode.window.onDidChangeActiveTextEditor((editor) => {
      if (editor && this.stale.has(this.server.protocolUri(editor.document.uri))) this.register();
    });
  }

  /** New scores for a document: refresh its symbols soon if it is the active editor's (the outline and breadcrumbs show that one). */
  scoresChanged(uri: string): void {
    const document = vscode.window.activeTextEditor?.document;
    if (!document || this.server.protocolUri(document.uri) !== uri) {
      this.stale.add(uri);
      return;
    }
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.register();
    }, symbolsRefreshDelay(document.lineCount));
  }

  /** A new registration makes VS Code ask every document's symbols again. */
  private register(): void {
    this.stale.clear();
    this.registration?.dispose();
    this.registration = vscode.languages.registerDocumentSymbolProvider(
      DOCUMENT_SELECTOR,
      {
        provideDocumentSymbols: async (document, token) => {
          const client = this.server.running;
          if (!client) return undefined;
          const symbols = (await client.sendRequest(DocumentSymbolRequest.type, { textDocument: { uri: this.server.protocolUri(document.uri) } }, token)) as DocumentSymbol[] | null;
          return symbols ? client.protocol2CodeConverter.asDocumentSymbols(symbols, token) : undefined;
        },
      },
      { label: 'Sift records' },
    );
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.activeListener.dispose();
    this.registration?.dispose();
  }
}
