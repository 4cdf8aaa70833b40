// What the active editor shows, read from the rendered page: texts at line ends (decorations and
// inlay hints, with their colours), line texts, squiggles, and the hovers of lines and squiggles.
import { waitFor } from '../waitFor.cjs';
import { SEL, dismiss, goToLine } from './workbench.mjs';

// In the page: the active editor, and the (1-based) line number of each gutter row by its `top`.
// Monaco positions view lines, overlays (squiggles) and gutter rows absolutely with the same `top`,
// so the gutter's line numbers name them (also when scrolled, and although view lines are not kept
// in document order).
function activeEditorInPage() {
  const editor = document.querySelector('.editor-group-container.active .editor-instance') || document.querySelector('.editor-instance');
  const numberAt = new Map();
  for (const n of editor ? editor.querySelectorAll('.margin-view-overlays .line-numbers') : []) {
    const row = n.parentElement;
    if (row && /^\d+$/.test(n.textContent.trim())) numberAt.set(row.style.top, Number(n.textContent.trim()));
  }
  return { editor, numberAt };
}

// In the page: the rendered lines of the active editor as [{ line (1-based), el }].
function renderedLinesInPage({ editor, numberAt }) {
  if (!editor) return [];
  return [...editor.querySelectorAll('.view-lines .view-line')]
    .map(el => ({ line: numberAt.get(el.style.top), el }))
    .filter(r => r.line !== undefined)
    .sort((a, b) => a.line - b.line);
}

// In the page: the squiggles (diagnostics) of the active editor as [{ line (1-based), severity, box }].
function squigglesInPage({ editor, numberAt }) {
  if (!editor) return [];
  return [...editor.querySelectorAll('.view-overlays [class*="squiggly-"]')].map(el => {
    const r = el.getBoundingClientRect();
    return {
      line: numberAt.get(el.parentElement?.style.top),
      severity: /squiggly-(error|warning|info|hint)/.exec(el.className)?.[1] ?? 'unknown',
      box: { x: r.x, y: r.y, width: r.width, height: r.height },
    };
  });
}

// Runs `fn(activeEditorInPage(), arg)` in the page. Built as an expression string: Playwright
// evaluates it over the DevTools protocol, which the workbench's CSP / Trusted Types (no eval) do
// not restrict.
function inActiveEditor(page, fn, arg = null) {
  return page.evaluate(`(${fn.toString()})((${activeEditorInPage.toString()})(), ${JSON.stringify(arg)})`);
}

// Runs `fn(renderedLines, arg)` in the page (see renderedLinesInPage).
function withRenderedLines(page, fn, arg = null) {
  return page.evaluate(`(${fn.toString()})((${renderedLinesInPage.toString()})((${activeEditorInPage.toString()})()), ${JSON.stringify(arg)})`);
}

/**
 * Texts that the extension shows inside or after the lines of the active editor, as
 * [{ line (1-based), text, color, kind }] for the rendered lines:
 *   kind 'decoration': `renderOptions.after/before.contentText` of a decoration, which Monaco
 *                      renders as CSS ::after/::before content of an empty span;
 *   kind 'inlay':      an inlay hint, which Monaco renders as injected text in a span whose class
 *                      is a generated `dyn-rule-*` rule.
 * `color` is the computed CSS colour; `textColor` the colour of the line's plain text, to tell a
 * coloured annotation from an uncoloured one.
 */
export async function readLineAnnotations(page) {
  return withRenderedLines(page, lines => {
    const unquote = content => {
      try {
        return JSON.parse(content);
      } catch {
        return content; // not a quoted string (e.g. counter()); keep it raw
      }
    };
    const result = [];
    for (const { line, el } of lines) {
      const plain = el.querySelector('span[class^="mtk"]');
      const textColor = plain ? window.getComputedStyle(plain).color : null;
      for (const span of el.querySelectorAll('span')) {
        for (const pseudo of ['::before', '::after']) {
          const style = window.getComputedStyle(span, pseudo);
          const content = style.content;
          if (!content || content === 'none' || content === 'normal' || content === '""') continue;
          result.push({ line, kind: 'decoration', text: unquote(content), color: style.color, textColor });
        }
        if (/\bdyn-rule-/.test(span.className) && span.textContent.trim()) {
          result.push({ line, kind: 'inlay', text: span.textContent.replace(/\u00a0/g, ' ').trim(), color: window.getComputedStyle(span).color, textColor });
        }
      }
    }
    return result;
  });
}

/** Only the end-of-line decorations (kind 'decoration') of readLineAnnotations(). */
export async function readLineEndDecorations(page) {
  return (await readLineAnnotations(page)).filter(a => a.kind === 'decoration');
}

/** Waits until `predicate(annotations)` is true (see readLineAnnotations); returns the annotations. */
export async function waitForLineAnnotations(page, predicate, { timeoutMs = 60_000, intervalMs = 500 } = {}) {
  let last = [];
  return waitFor(
    'the line annotations',
    async () => {
      last = await readLineAnnotations(page);
      return predicate(last) ? last : null;
    },
    { timeoutMs, intervalMs, detail: () => `last: ${JSON.stringify(last)}` },
  );
}

/** The screen box of (1-based) `line` in the active editor (revealed with Go to Line first). */
export async function lineBox(page, line) {
  await goToLine(page, line);
  return renderedLineBox(page, line);
}

/** The screen box of (1-based) `line` where it is rendered now. */
async function renderedLineBox(page, line) {
  const box = await withRenderedLines(
    page,
    (lines, line) => {
      const hit = lines.find(r => r.line === line);
      if (!hit) return null;
      const r = hit.el.getBoundingClientRect();
      const text = hit.el.firstElementChild?.getBoundingClientRect();
      return { x: r.x, y: r.y, width: r.width, height: r.height, textWidth: text ? text.width : r.width };
    },
    line,
  );
  if (!box) throw new Error(`line ${line} is not rendered`);
  return box;
}

/**
 * Hovers the mouse over (1-based) `line`, `xOffset` px into its text, and returns the hover text.
 * The line's box is read once the editor stopped moving (Go to Line may scroll, a theme change or a
 * word-wrap toggle lays the lines out again): a box read mid-scroll put the mouse beside the line and
 * no hover opened. Aims again, up to `attempts`, when no hover (with `hasText`) shows.
 */
export async function hoverLine(page, line, { xOffset = 20, hasText, timeoutMs = 20_000, attempts = 3 } = {}) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await hoverLineOnce(page, line, { xOffset, hasText, timeoutMs: timeoutMs / attempts });
    } catch (error) {
      if (attempt >= attempts) {
        const shown = await page.locator(SEL.hover).filter({ visible: true }).allInnerTexts().catch(() => []);
        error.message += `\nhovers shown: ${JSON.stringify(shown.map(t => t.slice(0, 200)))}`;
        throw error;
      }
      await dismiss(page);
    }
  }
}

async function hoverLineOnce(page, line, { xOffset, hasText, timeoutMs }) {
  let box = await lineBox(page, line);
  box = await waitFor(
    `line ${line} to stay in place`,
    async () => {
      const again = await renderedLineBox(page, line);
      const same = again.x === box.x && again.y === box.y && again.height === box.height;
      box = again;
      return same ? again : null;
    },
    { timeoutMs: 5_000, intervalMs: 100 },
  );
  await page.mouse.move(box.x + 2, box.y - 40);
  await page.mouse.move(box.x + Math.min(xOffset, Math.max(2, box.textWidth - 2)), box.y + box.height / 2, { steps: 4 });
  const hover = page.locator(SEL.hover, hasText ? { hasText } : {}).filter({ visible: true }).first();
  await hover.waitFor({ state: 'visible', timeout: timeoutMs });
  return (await hover.innerText()).trim();
}

/**
 * Hovers the mouse over the squiggle (diagnostic) on (1-based) `line` and returns the hover text:
 * the diagnostic's message, plus whatever hover providers add. A diagnostic's range may be a single
 * character (e.g. where the JSON parser stopped), so aim at the squiggle itself, not the line.
 */
export async function hoverSquiggle(page, line, { severity = 'error', hasText, timeoutMs = 20_000, attempts = 3 } = {}) {
  // The squiggle's box is read after the editor scrolled; if the workbench was still laying out (a
  // slow CI machine), the mouse can land beside it and no hover opens: aim again, up to `attempts`.
  for (let attempt = 1; ; attempt++) {
    try {
      return await hoverSquiggleOnce(page, line, { severity, hasText, timeoutMs: timeoutMs / attempts });
    } catch (error) {
      if (attempt >= attempts) throw error;
      await dismiss(page);
    }
  }
}

async function hoverSquiggleOnce(page, line, { severity, hasText, timeoutMs }) {
  await goToLine(page, line);
  const box = (await inActiveEditor(page, squigglesInPage)).find(s => s.line === line && s.severity === severity)?.box;
  if (!box) throw new Error(`no ${severity} squiggle rendered on line ${line}`);
  await page.mouse.move(box.x, box.y - 40);
  await page.mouse.move(box.x + Math.max(1, box.width / 2), box.y + box.height / 2, { steps: 4 });
  const hover = page.locator(SEL.hover, hasText ? { hasText } : {}).filter({ visible: true }).first();
  await hover.waitFor({ state: 'visible', timeout: timeoutMs });
  return (await hover.innerText()).trim();
}

/** Squiggles (diagnostics) rendered in the active editor: [{ line (1-based), severity }]. */
export async function readSquiggles(page) {
  return (await inActiveEditor(page, squigglesInPage)).map(({ line, severity }) => ({ line, severity }));
}

/** Text of the rendered lines of the active editor, as [{ line, text }] (Monaco shows spaces as U+00A0). */
export async function readRenderedLines(page) {
  return withRenderedLines(page, lines => lines.map(({ line, el }) => ({ line, text: el.textContent.replace(/\u00a0/g, ' ') })));
}

