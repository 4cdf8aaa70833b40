/** The overview panel's pieces that need no editor: its page, its default rules and export path, and the pacing of refreshes. */
import type { OverviewRules } from '../protocol/overview';
import { webviewPage, type WebviewPageParts } from './webviewPage';

export const OVERVIEW_VIEW_TYPE = 'sift.overview';

/** Cherry LLM's and Superfiltering's first cut: drop IFD >= 1. */
export const DEFAULT_OVERVIEW_RULES: OverviewRules = { ifdMax: 1 };

/** The overview's page: the same policy as the other views (see webviewPage.ts). */
export function overviewHtml(parts: WebviewPageParts): string {
  return webviewPage(parts, { text: 'Loading the overview…' });
}

/** `data.jsonl` -> `data.selected.jsonl` beside it. */
export function defaultExportPath(path: string): string {
  const slash = Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\'));
  const name = path.slice(slash + 1);
  const match = /^(.*?)(\.(?:jsonl|ndjson))?$/i.exec(name)!;
  return `${path.slice(0, slash + 1)}${match[1] || 'dataset'}.selected${match[2] ?? '.jsonl'}`;
}

/**
 * When the next refresh may start: a rule change goes at once; a refresh for streaming scores waits
 * at least `minGap` ms after the last one, and at least as long again as the last one took, so a
 * big file's overview never takes more than about half of the server's time while scores stream in.
 */
export function nextRefreshDelay(now: number, last: { startedAt: number; took: number } | undefined, urgent: boolean, minGap = 400): number {
  if (urgent || !last) return 0;
  const gap = Math.max(minGap, 2 * last.took);
  return Math.max(0, last.startedAt + gap - now);
}
