import * as vscode from 'vscode';
import { DocumentSymbolRequest, type DocumentSymbol } from 'vscode-languageclient/node';
import { SYMBOLS_REFRESH_MS } from './recordViewModel';
import { DOCUMENT_SELECTOR, type ServerConnection } from './serverConnection';

/**
 * The outline and "Go to Symbol" of a dataset: the server's textDocument/documentSymbol (records
 * named with their scores) through a provider of the client's own. VS Code keeps a document's
 * symbols until its text changes, and LSP has no message saying they changed, so as scores land in
 * a file that is on screen the provider is registered again (at most every SYMBOLS_REFRESH_MS),
 * which makes VS Code ask again. The server is told not to advertise symbols, so they are not
 * listed twice.
 */
export class RecordSymbols implements vscode.Disposable {
  private registration: vscode.Disposable | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly server: ServerConnection) {
    this.register();
  }

  /** New scores for a document: refresh its symbols soon if an editor shows it. */
  scoresChanged(uri: string): void {
    if (this.timer) return;
    if (!vscode.window.visibleTextEditors.some((editor) => this.server.protocolUri(editor.document.uri) === uri)) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.register();
    }, SYMBOLS_REFRESH_MS);
  }

  private register(): void {
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
    this.registration?.dispose();
  }
}
