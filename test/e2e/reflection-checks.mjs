// The reflection checks of the UI run (see ui-checks.mjs, which lists them after the others): a
// scripted teacher, the diff view beside the dataset, Accept/Reject/Next from the keyboard, the panel
// restored after a reload, and the themes.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import * as h from './harness.mjs';
import { startScriptedTeacher } from './scripted-teacher.mjs';

/** The frame of the reflection webview (VS Code nests it in two iframes), once it shows `hasText`. */
async function reflectionFrame(page, { hasText, timeoutMs = 60_000 } = {}) {
  return h.waitFor(
    `the reflection webview${hasText ? ` showing ${JSON.stringify(hasText)}` : ''}`,
    async () => {
      for (const frame of page.frames()) {
        const text = await frame.evaluate(() => (document.querySelector('main#app .decision') ? document.body.innerText : null)).catch(() => null);
        if (text && (!hasText || text.includes(hasText))) return frame;
      }
      return null;
    },
    { timeoutMs },
  );
}

/**
 * Opens `name`, points the user settings at `teacher`, enters its key, and waits for the scores of
 * lines 1-3: the lightbulb's list changes when a record gets its score (no "Score this record").
 */
async function openWithTeacher(page, server, name, teacher, key) {
  await h.openFile(page, name);
  await h.setUserSettings(server, { 'sift.teacher.baseUrl': teacher.url, 'sift.teacher.model': 'scripted-teacher' });
  await h.runCommandAndAnswer(page, 'Sift: Set Teacher API Key', key);
  await h.waitForLineAnnotations(page, a => [1, 2, 3].every(line => a.some(x => x.line === line && /\bIFD\b/.test(x.text))), { timeoutMs: 90_000 });
}

/** The teacher settings back to none, for the checks that follow. */
function forgetTeacher(server) {
  return h.setUserSettings(server, { 'sift.teacher.baseUrl': undefined, 'sift.teacher.model': undefined });
}

export const reflectionChecks = [
  {
    name: 'reflection: the diff view opens beside the dataset, renders a record with HTML inert, Accept edits one line (CRLF kept) and undo restores the file',
    timeoutMs: 150_000,
    async run({ page, server, workspace, shot, log }) {
      const key = 'sk-e2e-teacher-2b7c4d';
      const rewrite = answer => `${answer} Then <b>Tim</b> and Sue went home and had a nap.`;
      const teacher = await startScriptedTeacher({ key, rewrite });
      const dialogs = [];
      const onDialog = dialog => {
        dialogs.push(dialog.message());
        dialog.dismiss().catch(() => {});
      };
      page.on('dialog', onDialog);
      const name = 'reflect-e2e.jsonl';
      const file = path.join(workspace, name);
      const html = { instruction: 'Write a story with <script>alert(1)</script> in it.', input: '', output: 'Tim saw <img src=x onerror=alert(1)> on the wall. He was happy.' };
      const lines = [
        '{"instruction": "Lily finds a red ball.", "input": "", "output": "Lily saw a red ball in the park. She played with it all day."}',
        // Written with ", " and ": " as Alpaca ships its records: Accept must keep that spacing.
        `{"instruction": ${JSON.stringify(html.instruction)}, "input": "", "output": ${JSON.stringify(html.output)}}`,
        '{"instruction": "A cat naps in the sun.", "input": "", "output": "The cat lay in the sun. It was warm and it slept."}',
      ];
      const original = Buffer.from(lines.join('\r\n') + '\r\n');
      // The same bytes are in test/e2e/fixtures, so the file is in the workspace before the workbench
      // indexes it (Quick Open may not list a file created while it runs); rewrite it to be sure.
      assert.deepEqual(fs.readFileSync(file), original, 'test/e2e/fixtures/reflect-e2e.jsonl matches this check');
      fs.writeFileSync(file, original);
      // Only the output's value changes: every other byte of the line stays.
      const expectedLine = `{"instruction": ${JSON.stringify(html.instruction)}, "input": "", "output": ${JSON.stringify(rewrite(html.output))}}`;
      const accepted = Buffer.from([lines[0], expectedLine, lines[2]].join('\r\n') + '\r\n');
      try {
        await openWithTeacher(page, server, name, teacher, key);
        const offered = await h.applyCodeAction(page, 2, /Reflect response/);
        log(`code actions on the record: ${offered.join(' | ')}`);
        assert.ok(offered.some(a => /Selective reflection/.test(a)) && offered.some(a => /Reflect instruction/.test(a)));
        const frame = await reflectionFrame(page, { hasText: 'Response rewrite', timeoutMs: 90_000 });
        assert.equal(teacher.requests.length, 1, 'one teacher call for a response reflection');
        await page.locator('.editor-group-container').nth(1).waitFor({ state: 'visible' });
        await shot('reflection-panel');
        // The highlighted button follows the student's decision: Accept for a rewrite it chose, Reject when it kept the original.
        const decision = await frame.evaluate(() => ({
          headline: document.querySelector('.decision .headline')?.textContent ?? '',
          acceptSecondary: document.querySelector('vscode-button[data-key="accept"]')?.hasAttribute('secondary'),
          rejectSecondary: document.querySelector('vscode-button[data-key="reject"]')?.hasAttribute('secondary'),
        }));
        log(`decision: ${JSON.stringify(decision)}`);
        const keptOriginal = /kept the original/.test(decision.headline);
        assert.equal(decision.acceptSecondary, keptOriginal, 'Accept is highlighted only when the student chose the rewrite');
        assert.equal(decision.rejectSecondary, !keptOriginal, 'Reject is highlighted when the student kept the original');

        // Dataset text is text: the markup is on screen as characters, and nothing in it ran.
        const dom = await frame.evaluate(() => ({
          text: document.body.innerText,
          images: document.querySelectorAll('img').length,
          scripts: [...document.querySelectorAll('script')].map(s => s.getAttribute('src') || `inline: ${s.textContent.slice(0, 2000)}`),
          bold: document.querySelectorAll('#app b').length,
        }));
        assert.ok(dom.text.includes('<script>alert(1)</script>'), 'the instruction shows <script> as text');
        assert.ok(dom.text.includes('<img src=x onerror=alert(1)>'), 'the response shows <img onerror> as text');
        assert.ok(dom.text.includes('<b>Tim</b>'), 'the rewrite shows <b> as text');
        assert.equal(dom.images, 0, 'no <img> element was created');
        assert.equal(dom.bold, 0, 'no <b> element was created');
        // The page's own scripts: the bundle, and the API bootstrap VS Code itself puts in every webview.
        const bundle = dom.scripts.filter(src => !src.startsWith('inline: '));
        const inline = dom.scripts.filter(src => src.startsWith('inline: '));
        assert.equal(bundle.length, 1, `one bundle script: ${JSON.stringify(bundle)}`);
        assert.match(bundle[0], /\/dist\/webview\/reflection\.js$/);
        assert.ok(inline.every(text => text.includes('acquireVsCodeApi') && !text.includes('alert')), `only VS Code's bootstrap is inline: ${inline.map(t => t.slice(0, 80)).join(' | ')}`);
        const critiques = await frame.evaluate(() => [...document.querySelectorAll('vscode-collapsible')].map(c => c.getAttribute('heading')));
        assert.ok(critiques.some(c => /^Teacher's critique/.test(c)), `a collapsible critique: ${JSON.stringify(critiques)}`);
        assert.match(dom.text, /Alt\+A/, 'the shortcuts are documented in the panel');

        // The CSP: scripts only with the nonce; an injected inline script or handler does not run.
        const csp = await frame.evaluate(() => document.querySelector('meta[http-equiv="Content-Security-Policy"]')?.getAttribute('content') ?? '');
        log(`CSP: ${csp}`);
        const scriptSrc = /(?:^|;)\s*script-src ([^;]*)/.exec(csp)?.[1] ?? '';
        assert.match(csp, /default-src 'none'/);
        assert.match(scriptSrc, /'nonce-[A-Za-z0-9+/=]+'/);
        assert.doesNotMatch(scriptSrc, /unsafe-inline|unsafe-eval/);
        const injected = await frame.evaluate(async () => {
          const violations = [];
          document.addEventListener('securitypolicyviolation', e => violations.push(e.violatedDirective));
          const script = document.createElement('script');
          script.textContent = 'window.__siftInjected = true;';
          document.body.appendChild(script);
          const holder = document.createElement('div');
          holder.innerHTML = '<img src="data:," onerror="window.__siftHandler = true">';
          document.body.appendChild(holder);
          await new Promise(resolve => setTimeout(resolve, 500));
          return { script: window.__siftInjected === true, handler: window.__siftHandler === true, violations };
        });
        log(`injection attempt: ${JSON.stringify(injected)}`);
        assert.equal(injected.script, false, 'an inline script without the nonce did not run');
        assert.equal(injected.handler, false, 'an inline event handler did not run');
        assert.ok(injected.violations.some(v => v.startsWith('script-src')), 'the CSP reported the blocked script');
        assert.deepEqual(dialogs, [], 'no alert() was ever shown');

        // Open in VS Code's diff editor (Alt+D from the keyboard).
        await frame.locator('vscode-button[data-key="openDiff"]').focus();
        await page.keyboard.press('Alt+D');
        const diffTab = page.locator('.tabs-container .tab', { hasText: 'original ↔ response rewrite' }).first();
        await diffTab.waitFor({ timeout: 20_000 });
        await shot('reflection-diff-editor');
        await diffTab.hover();
        await diffTab.locator('.tab-actions .action-label').first().click();
        await diffTab.waitFor({ state: 'detached', timeout: 20_000 });

        // Accept from the keyboard: focus the button, press Enter.
        const frame2 = await reflectionFrame(page, { hasText: 'Response rewrite' });
        await frame2.locator('vscode-button[data-key="accept"]').focus();
        await page.keyboard.press('Enter');
        await h.waitFor('the accepted status', async () => /Accepted the response rewrite: line 2 replaced/.test(await frame2.evaluate(() => document.body.innerText)));
        await shot('reflection-accepted');

        // The dataset: exactly line 2 changed, CRLF kept; undo restores every byte.
        await h.runCommand(page, 'View: Focus First Editor Group');
        await h.save(page);
        await h.waitForFileBytes(file, accepted);
        await h.undo(page);
        await h.save(page);
        await h.waitForFileBytes(file, original);

        // Accept again: the record's line is back to its original text, so it is accepted again;
        // after an edit of that line, Accept refuses and says why.
        await h.goToLine(page, 2, 1);
        await page.keyboard.type('X');
        const frame3 = await reflectionFrame(page, { hasText: 'Response rewrite' });
        await frame3.locator('vscode-button[data-key="accept"]').click();
        await h.waitFor('the refusal', async () => /Not accepted: line 2 was edited since the reflection started/.test(await frame3.evaluate(() => document.body.innerText)));
        await shot('reflection-refused');
        await h.runCommand(page, 'View: Focus First Editor Group');
        await h.undo(page);
        await h.save(page);
        await h.waitForFileBytes(file, original);
        assert.deepEqual(dialogs, []);
      } catch (error) {
        await shot('reflection-failure');
        const toasts = await page.locator(h.SEL.notification).allInnerTexts().catch(() => []);
        if (toasts.length) log(`notifications: ${toasts.join(' | ')}`);
        throw error;
      } finally {
        page.off('dialog', onDialog);
        try {
          await forgetTeacher(server);
        } catch (error) {
          log(`could not reset the user settings: ${error.message}`);
        }
        await h.runCommand(page, 'View: Close All Editors').catch(() => {});
        await teacher.close();
      }
    },
  },
  {
    name: 'reflection: a batch after its estimate, Next/Previous and Reject from the keyboard, the panel restored after a reload, light/dark/high-contrast themes',
    timeoutMs: 180_000,
    async run({ page, server, workspace, shot, log }) {
      const key = 'sk-e2e-teacher-batch-91c3';
      const teacher = await startScriptedTeacher({ key, rewrite: answer => `${answer} The end.` });
      const name = 'reflect-batch-e2e.jsonl';
      const lines = [
        '{"instruction": "Lily finds a red ball.", "input": "", "output": "Lily saw a red ball in the park. She played with it all day."}',
        '{"instruction": "A cat naps in the sun.", "input": "", "output": "The cat lay in the sun. It was warm and it slept."}',
        '{"instruction": "Tom has a new kite.", "input": "", "output": "Tom ran with his kite. The wind took it up high."}',
      ];
      // Also in test/e2e/fixtures, so Quick Open lists it from the start (see the check above).
      assert.equal(fs.readFileSync(path.join(workspace, name), 'utf8'), lines.join('\n') + '\n', 'test/e2e/fixtures/reflect-batch-e2e.jsonl matches this check');
      const frameText = async frame => frame.evaluate(() => document.body.innerText);
      try {
        await openWithTeacher(page, server, name, teacher, key);

        // The whole file is selected; the command asks which records and which mode, then shows the cost.
        await h.goToLine(page, 1);
        await page.keyboard.press('Control+A');
        await h.runCommandInPalette(page, 'Sift: Reflect Records…');
        await h.pickInQuickPick(page, 'Selected lines');
        await h.pickInQuickPick(page, 'Reflect response');
        const dialog = page.locator('.monaco-dialog-box');
        await dialog.waitFor({ state: 'visible', timeout: 30_000 });
        const estimate = (await dialog.innerText()).replace(/\s+/g, ' ');
        log(`estimate: ${estimate}`);
        assert.match(estimate, /Reflect response of 3 records: up to 3 teacher calls, about [\d,]+ tokens\./);
        assert.match(estimate, /scripted-teacher at http:\/\/127\.0\.0\.1:\d+\/v1/);
        assert.equal(teacher.requests.length, 0, 'nothing is called before the user confirms');
        await shot('reflection-estimate');
        await dialog.getByRole('button', { name: 'Reflect', exact: true }).click();

        let frame = await reflectionFrame(page, { hasText: 'Record 1 of 3', timeoutMs: 90_000 });
        assert.equal(teacher.requests.length, 3);
        await frame.locator('h1').click();
        await page.keyboard.press('Alt+N');
        await h.waitFor('Alt+N to show record 2', async () => (await frameText(frame)).includes('Record 2 of 3'));
        assert.match(await frameText(frame), /reflect-batch-e2e\.jsonl · line 2/);
        await page.keyboard.press('Alt+P');
        await h.waitFor('Alt+P to show record 1', async () => (await frameText(frame)).includes('Record 1 of 3'));
        // Tab reaches the Next button; Space presses it.
        await frame.locator('vscode-button[data-key="previous"]').focus().catch(() => {});
        await frame.locator('h1').click();
        let reachedNext = false;
        for (let i = 0; i < 6 && !reachedNext; i++) {
          await page.keyboard.press('Tab');
          reachedNext = await frame.evaluate(() => document.activeElement?.getAttribute('data-key') === 'next');
        }
        assert.ok(reachedNext, 'Tab reaches the Next button');
        await page.keyboard.press('Space');
        await h.waitFor('Space on Next', async () => (await frameText(frame)).includes('Record 2 of 3'));
        await page.keyboard.press('Alt+R');
        await h.waitFor('Alt+R to reject', async () => /Rejected: the record was left as it is\./.test(await frameText(frame)));
        await shot('reflection-batch');

        // A reload: the panel comes back through its serializer, on the same record, with its status.
        await h.runCommand(page, 'Developer: Reload Window');
        await page.waitForSelector(h.SEL.explorerRow, { timeout: 120_000 });
        frame = await reflectionFrame(page, { hasText: 'Record 2 of 3', timeoutMs: 60_000 });
        assert.match(await frameText(frame), /Rejected: the record was left as it is\./);
        await shot('reflection-restored');

        // Themes: the view follows the workbench theme through VS Code's CSS variables.
        // (Labels of VS Code 1.139's theme picker; "Light 2026", its default, last so the workbench ends as it began.)
        const themes = [
          ['Dark High Contrast', 'vscode-high-contrast'],
          ['Light High Contrast', 'vscode-high-contrast-light'],
          ['Dark Modern', 'vscode-dark'],
          ['Light 2026', 'vscode-light'],
        ];
        const looks = [];
        for (const [theme, bodyClass] of themes) {
          await h.setColorTheme(page, theme);
          await h.waitFor(
            `the view in ${theme}`,
            async () => {
              for (const f of page.frames()) {
                const cls = await f.evaluate(() => (document.querySelector('main#app .decision') ? document.body.className : null)).catch(() => null);
                if (cls && cls.split(/\s+/).includes(bodyClass)) return (frame = f);
              }
              return null;
            },
            { timeoutMs: 30_000 },
          );
          const look = await frame.evaluate(() => {
            const style = window.getComputedStyle(document.body);
            return { background: style.backgroundColor, color: style.color, ins: window.getComputedStyle(document.querySelector('ins.seg.added') ?? document.body).backgroundColor };
          });
          looks.push(look);
          log(`${theme}: ${JSON.stringify(look)}`);
          assert.notEqual(look.background, look.color, `${theme}: text and background differ`);
          await shot(`reflection-theme-${bodyClass}`);
        }
        assert.equal(new Set(looks.map(l => `${l.background} ${l.color}`)).size, themes.length, 'each theme gives the view its own colours');
      } finally {
        try {
          await h.setColorTheme(page, 'Light 2026');
          await forgetTeacher(server);
        } catch (error) {
          log(`could not reset the settings: ${error.message}`);
        }
        await h.runCommand(page, 'View: Close All Editors').catch(() => {});
        await teacher.close();
      }
    },
  },
];
