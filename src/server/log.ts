import type { Connection } from 'vscode-languageserver';
import { redactUrls } from '../core/net/redact';

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * The server's log (the client's output channel) and its one-time warnings. Every line leaves
 * without URL credentials or query strings (settings and errors name endpoints, and a key may hide
 * in either); VS Code's channel redacts too, other editors do not.
 */
export class ServerLog {
  private readonly shown = new Set<string>();

  constructor(private readonly connection: Connection) {}

  info(text: string): void {
    this.connection.console.info(redactUrls(text));
  }

  log(text: string): void {
    this.connection.console.log(redactUrls(text));
  }

  warn(text: string): void {
    this.connection.console.warn(redactUrls(text));
  }

  error(text: string): void {
    this.connection.console.error(redactUrls(text));
  }

  /** A warning the user sees once per `key` in a session (a modal per scoring batch would be unbearable). */
  warnOnce(key: string, text: string): void {
    if (this.shown.has(key)) return;
    this.shown.add(key);
    void this.connection.window.showWarningMessage(text);
  }

  /** Runs a handler so that a bug or bad input is logged, never fatal. */
  guard<T>(what: string, run: () => T, fallback?: T): T {
    try {
      return run();
    } catch (error) {
      this.error(`${what} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      return fallback as T;
    }
  }
}
