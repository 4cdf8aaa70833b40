// The dataset overview checks of the UI run (listed in ui-checks.mjs): the panel opens beside
// alpaca-sample.jsonl, its counts follow the scores, a threshold moved from the keyboard changes
// them, a row of the table jumps to its line, and it is drawn in light, dark and high-contrast themes.
import assert from 'node:assert/strict';
import * as h from './harness.mjs';

/** The frame of the overview webview, once its status line says `pattern`. */
async function overviewFrame(page, pattern, { timeoutMs = 60_000 } = {}) {
  return h.waitFor(
    `the overview webview showing ${pattern}`,
    async () => {
      for (const frame of page.frames()) {
        const text = await frame.evaluate(() => (document.querySelector('fieldset.rules') ? document.querySelector('p.status')?.textContent ?? '' : null)).catch(() => null);
        if (text !== null && pattern.test(text)) return frame;
      }
      return null;
    },
    { timeoutMs },
  );
}

const statusOf = frame => frame.evaluate(() => document.querySelector('p.status')?.textContent ?? '');

export const overviewChecks = [
  {
    name: 'overview: histograms and counts of alpaca-sample.jsonl, a threshold moved from the keyboard, a row jumps to its line, light/dark/high-contrast themes',
    timeoutMs: 300_000,
    async run({ page, shot, log, options: o }) {
      const name = 'alpaca-sample.jsonl';
      try {
        await h.openFile(page, name);
        await h.runCommandInPalette(page, 'Sift: Dataset Overview');
        // Opened while the file is being scored: the first scores are enough to draw.
        let frame = await overviewFrame(page, /Kept \d+ of [1-9]\d* scored records/, { timeoutMs: o.scoreTimeoutMs + 60_000 });
        const scoredIn = text => Number(/of (\d+) scored records/.exec(text)[1]);
        const first = await statusOf(frame);
        log(`overview: ${first}`);
        // It follows the scores as they stream in (ScoresChanged), until every record has one.
        if (scoredIn(first) < 40) {
          await h.waitFor('the overview to follow new scores', async () => scoredIn(await statusOf(frame)) > scoredIn(first), { timeoutMs: o.scoreTimeoutMs });
        }
        log(`later: ${await statusOf(frame)}`);
        const charts = await frame.evaluate(() => ({
          canvases: document.querySelectorAll('.plot canvas').length,
          captions: [...document.querySelectorAll('figcaption')].map(c => c.textContent),
          summaries: [...document.querySelectorAll('figure .summary')].map(s => s.textContent),
          rows: document.querySelectorAll('.table tbody tr').length,
          command: document.querySelector('code.command')?.textContent,
        }));
        log(JSON.stringify(charts));
        assert.ok(charts.canvases >= 2, 'an IFD histogram and more are drawn');
        assert.ok(charts.captions.includes('IFD'));
        assert.ok(charts.summaries.some(s => /^IFD histogram of \d+ records/.test(s)), 'the chart has a sentence for screen readers');
        assert.ok(charts.rows > 0);
        assert.match(charts.command, /^sift filter alpaca-sample\.jsonl --ifd-max 1 --out alpaca-sample\.selected\.jsonl$/);
        await shot('overview-opened');

        // The IFD threshold: a click in its number field (which focuses the webview), then typed.
        const input = frame.locator('#rule-ifdMax ~ input.rule-number');
        await input.click({ clickCount: 3 });
        await page.keyboard.type('0.95');
        // The server's reasons now name the new maximum.
        await h.waitFor('the reasons for IFD < 0.95', async () => frame.evaluate(() => [...document.querySelectorAll('td.why')].some(td => /ifd-max: IFD [\d.]+ >= 0\.95/.test(td.textContent))), { timeoutMs: 30_000 });
        log(`after IFD < 0.95: ${await statusOf(frame)}`);
        assert.match(await frame.evaluate(() => document.querySelector('code.command').textContent), /--ifd-max 0\.95/);
        // From the keyboard alone: Tab from the number field to its slider, ArrowRight moves it one step.
        await page.keyboard.press('Tab');
        assert.equal(await frame.evaluate(() => document.activeElement?.getAttribute('aria-label')), 'IFD below, slider');
        await page.keyboard.press('ArrowRight');
        await h.waitFor('the command for IFD < 0.96', async () => /--ifd-max 0\.96\b/.test(await frame.evaluate(() => document.querySelector('code.command').textContent)), { timeoutMs: 30_000 });
        await shot('overview-threshold');

        // A row's line button: the editor beside shows that line.
        const target = await frame.evaluate(() => document.querySelector('.table tbody tr button.link')?.textContent);
        await frame.locator('.table tbody tr button.link').first().click();
        await h.waitFor(`the cursor on line ${target}`, async () => {
          const text = await page.locator('.statusbar-item', { hasText: /Ln \d+, Col \d+/ }).first().innerText().catch(() => '');
          return text.includes(`Ln ${target},`) ? text : null;
        }, { timeoutMs: 20_000 });

        const themes = [
          ['Dark High Contrast', 'vscode-high-contrast'],
          ['Light High Contrast', 'vscode-high-contrast-light'],
          ['Dark Modern', 'vscode-dark'],
          ['Light 2026', 'vscode-light'],
        ];
        const looks = [];
        for (const [theme, bodyClass] of themes) {
          await h.setColorTheme(page, theme);
          const f = await h.waitFor(`the overview in ${theme}`, async () => {
            for (const candidate of page.frames()) {
              const cls = await candidate.evaluate(() => (document.querySelector('fieldset.rules') ? document.body.className : null)).catch(() => null);
              if (cls && cls.split(/\s+/).includes(bodyClass)) return candidate;
            }
            return null;
          }, { timeoutMs: 30_000 });
          const look = await f.evaluate(() => {
            const style = window.getComputedStyle(document.body);
            return { background: style.backgroundColor, color: style.color, kept: style.getPropertyValue('--sift-kept').trim() };
          });
          looks.push(look);
          log(`${theme}: ${JSON.stringify(look)}`);
          assert.notEqual(look.background, look.color);
          await shot(`overview-theme-${bodyClass}`);
        }
        assert.equal(new Set(looks.map(l => `${l.background} ${l.color}`)).size, themes.length, 'each theme gives the overview its own colours');
      } finally {
        await h.setColorTheme(page, 'Light 2026').catch(() => {});
        await h.runCommand(page, 'View: Close All Editors').catch(() => {});
      }
    },
  },
];
