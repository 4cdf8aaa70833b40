/**
 * The one page every Sift webview starts from (the reflection view, the dataset overview, the
 * record view): a strict content security policy, the bundle's style sheet and script, and a
 * placeholder the bundle replaces. No editor API: unit-tested as it is.
 */

/** A nonce for a webview's one script tag and style sheet: 128 random bits, base64. */
export function makeNonce(random: (bytes: Uint8Array) => Uint8Array = (b) => globalThis.crypto.getRandomValues(b)): string {
  return Buffer.from(random(new Uint8Array(16))).toString('base64');
}

/**
 * The content security policy of the webviews: nothing by default; scripts only with the nonce
 * (no 'unsafe-inline', no 'unsafe-eval'); styles from the bundle folder or with the nonce (Lit's
 * components use constructable style sheets, which CSP does not restrict); images and fonts
 * only from the bundle folder.
 */
export function contentSecurityPolicy(cspSource: string, nonce: string): string {
  return [
    "default-src 'none'",
    `script-src 'nonce-${nonce}'`,
    `style-src ${cspSource} 'nonce-${nonce}'`,
    `font-src ${cspSource}`,
    `img-src ${cspSource}`,
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');
}

export interface WebviewPageParts {
  cspSource: string;
  nonce: string;
  /** `asWebviewUri` of the view's bundle in dist/webview (.js and .css). */
  scriptUri: string;
  styleUri: string;
  title: string;
}

function escapeAttribute(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** The page: the CSP meta tag, the style sheet and the script bundle; `main` is shown until the bundle renders. */
export function webviewPage(parts: WebviewPageParts, main: { text: string; className?: string; live?: 'off' }): string {
  const a = escapeAttribute;
  const live = main.live ? ` aria-live="${main.live}"` : '';
  const cls = main.className ? ` class="${a(main.className)}"` : '';
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
<main id="app"${live}><p${cls}>${a(main.text)}</p></main>
<script nonce="${a(parts.nonce)}" src="${a(parts.scriptUri)}"></script>
</body>
</html>`;
}
