/** The overview panel's pieces that need no editor: its page, its default rules and export path, and the pacing of refreshes. */
import type { OverviewRules } from '../protocol/overview';
import { contentSecurityPolicy } from './reflectionPanelModel';

export const OVERVIEW_VIEW_TYPE = 'sift.overview';

/** Cherry LLM's and Superfiltering's first cut: drop IFD >= 1. */
export const DEFAULT_OVERVIEW_RULES: OverviewRules = { ifdMax: 1 };

function escapeAttribute(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** The page: the same policy as the reflection view (scripts only with the nonce, nothing from the network). */
export function overviewHtml(parts: { cspSource: string; nonce: string; scriptUri: string; styleUri: string; title: string }): string {
  const a = escapeAttribute;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${a(contentSecurityPolicy(parts.cspSource, parts.nonce))}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${a(parts.styleUri)}" nonce="${a(parts.nonce)}">
<title>${a(parts.title)}</title>
</head>
<body>
<main id="app"><p>Loading the overview…</p></main>
<script nonce="${a(parts.nonce)}" src="${a(parts.scriptUri)}"></script>
</body>
</html>`;
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
