// Workbench actions, as a user does them with the keyboard and mouse: open the workspace and files,
// run commands from the palette, answer quick picks and input boxes, go to a line, code actions,
// undo/save, the Problems panel, the running extensions. Selectors verified against code-server
// 4.139.1 / VS Code 1.139.1.
import path from 'node:path';
import { sleep } from './base.mjs';
import { workbenchUrl } from './codeServer.mjs';

export const SEL = {
  explorerRow: '.explorer-folders-view .monaco-list-row',
  editor: '.editor-instance .monaco-editor',
  viewLines: '.editor-instance .view-lines',
  viewLine: '.editor-instance .view-lines .view-line',
  quickInput: '.quick-input-widget input',
  quickInputRow: '.quick-input-list .monaco-list-row',
  hover: '.monaco-hover',
  squiggleError: '.editor-instance .squiggly-error',
  squiggleWarning: '.editor-instance .squiggly-warning',
  actionWidgetRow: '.action-widget .monaco-list-row.action',
  notification: '.notification-toast',
  statusItem: '.statusbar-item',
  problemsRow: '.markers-panel .monaco-list-row',
};

/** Opens the workbench on `folder` and waits until the explorer shows it. */
export async function openWorkspace(page, server, folder, { timeoutMs = 120_000 } = {}) {
  await page.goto(workbenchUrl(server, folder), { timeout: timeoutMs });
  await page.waitForSelector(SEL.explorerRow, { timeout: timeoutMs });
}

/** Opens `relPath` (relative to the workspace) through Quick Open (Ctrl+P) and waits for its editor. */
export async function openFile(page, relPath, { timeoutMs = 30_000, onEnter = () => {} } = {}) {
  const base = path.basename(relPath);
  const tab = page.locator(`.tabs-container .tab.active[data-resource-name=${JSON.stringify(base)}]`);
  try {
    await quickOpen(page, relPath, base, tab, timeoutMs / 2, onEnter);
  } catch {
    // Once seen after a check that closed a webview panel: Enter in Quick Open opened nothing, as
    // the focus was left in the closed panel. Close whatever is open and ask again, once.
    await page.keyboard.press('Escape');
    await page.locator('.part.editor').first().click({ position: { x: 40, y: 40 } }).catch(() => {});
    await quickOpen(page, relPath, base, tab, timeoutMs, onEnter);
  }
  await page.locator(SEL.viewLine).first().waitFor({ timeout: timeoutMs });
}

// `onEnter()` is called as Enter is pressed on the file's row: the moment a user asks for the file.
async function quickOpen(page, relPath, base, tab, timeoutMs, onEnter) {
  await focusWorkbench(page);
  await page.keyboard.press('Control+P');
  const input = page.locator(SEL.quickInput);
  await input.waitFor({ state: 'visible', timeout: timeoutMs });
  await input.fill(relPath);
  await page.locator(SEL.quickInputRow, { hasText: base }).first().waitFor({ timeout: timeoutMs });
  onEnter();
  await page.keyboard.press('Enter');
  await tab.waitFor({ timeout: timeoutMs });
}

async function focusWorkbench(page) {
  // Keyboard shortcuts need focus inside the workbench. Leave it where it is if it is there; else
  // click the editor text (or the empty editor area), which has no side effect but a cursor move.
  const focused = await page.evaluate(() => !!document.activeElement && document.activeElement !== document.body).catch(() => false);
  if (focused) return;
  const editor = page.locator(SEL.viewLines).first();
  if (await editor.isVisible().catch(() => false)) await editor.click({ position: { x: 5, y: 5 } }).catch(() => {});
  else await page.locator('.part.editor').click({ position: { x: 40, y: 200 } }).catch(() => {});
}

// F1 and `>title` in the command palette, until the command's row is listed.
async function findCommand(page, title, timeoutMs) {
  await page.keyboard.press('F1');
  const input = page.locator(SEL.quickInput);
  await input.waitFor({ state: 'visible', timeout: timeoutMs });
  await input.fill(`>${title}`);
  const row = page.locator(SEL.quickInputRow, { hasText: title }).first();
  await row.waitFor({ timeout: timeoutMs });
  return { input, row };
}

/** Runs a command by its palette title (F1, type, pick the row whose label is `title`). */
export async function runCommand(page, title, { timeoutMs = 20_000 } = {}) {
  await focusWorkbench(page);
  const { input } = await findCommand(page, title, timeoutMs);
  await page.keyboard.press('Enter');
  await input.waitFor({ state: 'hidden', timeout: timeoutMs }).catch(() => {});
}

/** Runs a palette command that goes on to ask with quick picks (which reuse the palette's widget). */
export async function runCommandInPalette(page, title, { timeoutMs = 20_000 } = {}) {
  // Click the row itself: the top row may be another command that matches the text too.
  const { row } = await findCommand(page, title, timeoutMs);
  await row.click();
}

/** Picks the row of the open quick pick whose text contains `label`. */
export async function pickInQuickPick(page, label, { timeoutMs = 20_000 } = {}) {
  const row = page.locator(SEL.quickInputRow, { hasText: label }).first();
  await row.waitFor({ timeout: timeoutMs });
  await row.click();
}

/**
 * Runs a palette command that asks for a value in an input box (which reuses the palette's own
 * widget), and enters `text` there.
 */
export async function runCommandAndAnswer(page, title, text, { timeoutMs = 20_000 } = {}) {
  const { input } = await findCommand(page, title, timeoutMs);
  await page.keyboard.press('Enter');
  await page.locator('.quick-input-widget .quick-input-title', { hasText: title }).waitFor({ state: 'visible', timeout: timeoutMs });
  await input.fill(text);
  await page.keyboard.press('Enter');
  await input.waitFor({ state: 'hidden', timeout: timeoutMs });
}

/** Preferences: Color Theme, as a user picks one. */
export async function setColorTheme(page, theme, { timeoutMs = 20_000 } = {}) {
  await runCommandInPalette(page, 'Preferences: Color Theme', { timeoutMs });
  const input = page.locator(SEL.quickInput);
  await page.locator(SEL.quickInputRow).first().waitFor({ timeout: timeoutMs });
  await page.keyboard.type(theme);
  await page.locator(SEL.quickInputRow, { hasText: theme }).first().waitFor({ timeout: timeoutMs });
  await page.keyboard.press('Enter');
  await input.waitFor({ state: 'hidden', timeout: timeoutMs });
}

/** Moves the cursor to (1-based) line/column with Go to Line (Ctrl+G). */
export async function goToLine(page, line, column = 1) {
  await focusWorkbench(page);
  await page.keyboard.press('Control+G');
  const input = page.locator(SEL.quickInput);
  await input.waitFor({ state: 'visible' });
  await input.fill(`:${line}:${column}`);
  await page.keyboard.press('Enter');
  await input.waitFor({ state: 'hidden' }).catch(() => {});
}

/** Moves the mouse away and closes any hover/widget. */
export async function dismiss(page) {
  await page.mouse.move(2, 2);
  await page.keyboard.press('Escape');
}

/** Opens the Problems panel (Ctrl+Shift+M) and returns the texts of its rows. */
export async function readProblemsPanel(page, { hasText, timeoutMs = 30_000 } = {}) {
  await focusWorkbench(page);
  await page.keyboard.press('Control+Shift+M');
  const row = page.locator(SEL.problemsRow, hasText ? { hasText } : {}).first();
  await row.waitFor({ state: 'visible', timeout: timeoutMs });
  return page.locator(SEL.problemsRow).allInnerTexts();
}

/**
 * Puts the cursor on (1-based) `line`, opens Quick Fix (Ctrl+.), and picks the action whose label
 * matches `label` (string or RegExp). Returns the labels that were offered.
 */
export async function applyCodeAction(page, line, label, { column = 2, timeoutMs = 20_000 } = {}) {
  const rows = page.locator(SEL.actionWidgetRow);
  // The keypress can land while the editor is still settling (or the list is momentarily empty),
  // and the list is drawn again when the actions change under it (scores landing while the file is
  // scored), detaching the row being clicked: open it and click again a few times within the time.
  const attempts = 3;
  let offered;
  for (let attempt = 1; ; attempt++) {
    await goToLine(page, line, column);
    await page.keyboard.press('Control+.');
    try {
      await rows.first().waitFor({ state: 'visible', timeout: Math.ceil(timeoutMs / attempts) });
      offered = (await rows.allInnerTexts()).map(t => t.trim());
      const row = rows.filter({ hasText: label }).first();
      if ((await row.count()) === 0) {
        await page.keyboard.press('Escape');
        throw new Error(`no code action matching ${label} on line ${line}; offered: ${JSON.stringify(offered)}`);
      }
      await row.click({ timeout: Math.ceil(timeoutMs / attempts) });
      break;
    } catch (error) {
      if (attempt === attempts) throw error;
      await page.keyboard.press('Escape');
    }
  }
  await rows.first().waitFor({ state: 'hidden', timeout: timeoutMs }).catch(() => {});
  return offered;
}

/** Undo (Ctrl+Z) in the active editor. */
export async function undo(page) {
  await page.locator(SEL.viewLines).first().click({ position: { x: 5, y: 5 } });
  await page.keyboard.press('Control+Z');
}

/** Saves the active editor (Ctrl+S) and waits until its tab is no longer dirty. */
export async function save(page, { timeoutMs = 20_000 } = {}) {
  await page.keyboard.press('Control+S');
  await page.locator('.tabs-container .tab.active.dirty').waitFor({ state: 'detached', timeout: timeoutMs });
}

/**
 * Opens "Developer: Show Running Extensions" (a modal editor in VS Code 1.139) and returns the
 * texts of its rows, scrolling its virtualized list until a row contains `hasText` (e.g. an
 * extension's displayName) or `timeoutMs` passes; closes it again.
 */
export async function runningExtensions(page, { hasText, timeoutMs = 60_000 } = {}) {
  await runCommand(page, 'Developer: Show Running Extensions');
  const list = page.locator('.runtime-extensions-editor .monaco-list').first();
  const rows = page.locator('.runtime-extensions-editor .monaco-list-row');
  const seen = new Set();
  try {
    await rows.first().waitFor({ state: 'visible', timeout: 30_000 });
    const box = await list.boundingBox();
    const deadline = Date.now() + timeoutMs;
    let scrolled = 0;
    for (;;) {
      for (const text of await rows.allInnerTexts()) seen.add(text.replace(/\s+/g, ' ').trim());
      if (!hasText || [...seen].some(t => t.includes(hasText))) return [...seen];
      if (Date.now() > deadline) return [...seen];
      if (box && scrolled < 40) {
        await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
        await page.mouse.wheel(0, box.height / 2);
        scrolled++;
      } else {
        scrolled = 0; // at the end: start over from the top (an activation may be pending)
        await page.mouse.wheel(0, -100_000);
      }
      await sleep(300);
    }
  } finally {
    await page.keyboard.press('Escape');
    await page.locator('.runtime-extensions-editor').first().waitFor({ state: 'hidden', timeout: 5_000 }).catch(() => closeActiveEditor(page));
  }
}

/** Closes the active editor (through the palette: Ctrl+W is the browser's in a web workbench). */
export async function closeActiveEditor(page) {
  await runCommand(page, 'View: Close Editor');
}

/** Hides the bottom panel (Problems, Output, ...) if it is open. */
export async function hidePanel(page) {
  if (await page.locator('.part.panel').isVisible().catch(() => false)) await runCommand(page, 'View: Hide Panel').catch(() => {});
}

