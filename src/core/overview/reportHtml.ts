import { createHash } from 'node:crypto';
import type { OverviewReportData } from '../../protocol/overviewView';

/** JSON that can sit inside a <script> element: `<` escaped, so no text in it can close the element. */
function scriptSafeJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

function escapeText(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function sha256(text: string): string {
  return `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;
}

/**
 * `sift report`'s page: the overview webview's own script and style inlined, the overview as a JSON
 * data block, nothing loaded from anywhere (the policy allows only these inline pieces, by hash).
 */
export function reportHtml(parts: { script: string; style: string; data: OverviewReportData }): string {
  // A stray `</script` in the bundle would end the element early; the bundle has none, but check.
  if (/<\/script/i.test(parts.script) || /<\/style/i.test(parts.style)) throw new Error('the overview bundle cannot be inlined: it contains a closing tag');
  const csp = ["default-src 'none'", `script-src ${sha256(parts.script)}`, `style-src ${sha256(parts.style)}`, "img-src data:", "base-uri 'none'", "form-action 'none'"].join('; ');
  const title = `Sift report: ${parts.data.file}`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>${escapeText(title)}</title>
<style>${parts.style}</style>
</head>
<body class="report">
<main id="app"><p>This report needs JavaScript to draw its charts.</p></main>
<script type="application/json" id="sift-report-data">${scriptSafeJson(parts.data)}</script>
<script>${parts.script}</script>
</body>
</html>
`;
}
