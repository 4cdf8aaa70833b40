// The CANDIDATES checks of the UI run (listed in ui-checks.mjs): candidates-e2e.jsonl (three
// grade-school-math questions, four model solutions each, with the gold solution) opens with each
// line's place in the vote in its label, coloured correct / majority / minority, the hover says the
// vote and the colours in words, the overview shows the agreement distribution, and all of it is
// looked at in light, dark and high-contrast themes.
import assert from 'node:assert/strict';
import * as h from './harness.mjs';

const FILE = 'candidates-e2e.jsonl';
/**
 * The classes of the 12 lines, read by hand from the file's final `A: N` lines: q1 answers 26, 224,
 * 4, 18 (a tie: 26 seen first is the majority; gold 18); q2 answers 3, 3, 250, 3 (gold 3); q3 answers
 * 90000, 115000, -129025, 65000 (a tie, 90000 first; gold 70000).
 */
const CLASSES = ['majority', 'minority', 'minority', 'correct', 'correct', 'correct', 'minority', 'correct', 'majority', 'minority', 'minority', 'minority'];

/** The vote label of each line (1-based) with its colour, once all 12 have one. */
async function voteLabels(page) {
  const annotations = await h.waitForLineAnnotations(page, a => new Set(a.filter(x => /majority|minority/.test(x.text)).map(x => x.line)).size >= 12, { timeoutMs: 60_000 });
  const byLine = new Map();
  for (const a of annotations) if (/majority|minority/.test(a.text)) byLine.set(a.line, a);
  return byLine;
}

function checkColours(byLine, theme, log) {
  const colourOf = {};
  CLASSES.forEach((cls, i) => {
    const a = byLine.get(i + 1);
    assert.ok(a, `${theme}: line ${i + 1} has a vote label`);
    assert.ok(a.color && a.color !== a.textColor, `${theme}: line ${i + 1} is coloured: ${JSON.stringify(a)}`);
    if (cls === 'correct') assert.match(a.text, / · correct$/, `line ${i + 1}`);
    else assert.match(a.text, new RegExp(`${cls}.* · wrong$`), `line ${i + 1}: ${a.text}`);
    colourOf[cls] ??= a.color;
    assert.equal(a.color, colourOf[cls], `${theme}: line ${i + 1} (${cls}) has its class's colour`);
  });
  log(`${theme}: ${JSON.stringify(colourOf)}`);
  assert.equal(new Set(Object.values(colourOf)).size, 3, `${theme}: three classes, three colours: ${JSON.stringify(colourOf)}`);
  return colourOf;
}

export const candidateChecks = [
  {
    name: 'candidates: a CANDIDATES file is coloured correct / majority / minority, the hover says the vote and the colours, the overview shows agreement, light/dark/high-contrast themes',
    timeoutMs: 300_000,
    async run({ page, shot, log }) {
      try {
        await h.openFile(page, FILE);
        const light = checkColours(await voteLabels(page), 'Light 2026', log);
        await shot('candidates-light');

        // Line 9: q3's first answer, the majority of a four-way tie, wrong against the gold 70000.
        const hover = await h.hoverLine(page, 9, { hasText: /Vote/ });
        log(`hover: ${hover}`);
        assert.match(hover, /Majority\s+90000: 1 of 4, agreement 25%/);
        assert.match(hover, /a tie with\s+115000,\s+-129025,\s+65000: the first seen wins/);
        assert.match(hover, /Colours · a candidate is coloured by the vote.*green = correct.*yellow = .*majority.*red = neither/s);
        await shot('candidates-hover');
        await h.dismiss(page);

        const themes = [
          ['Dark Modern', 'dark'],
          ['Dark High Contrast', 'hc-dark'],
          ['Light High Contrast', 'hc-light'],
        ];
        const tripleOf = colours => JSON.stringify([colours.majority, colours.minority, colours.correct]);
        const seen = [tripleOf(light)];
        for (const [theme, tag] of themes) {
          await h.setColorTheme(page, theme);
          const colours = await h.waitFor(
            `the vote colours in ${theme}`,
            async () => {
              // The theme has applied once the three colours are not the previous theme's (dark and
              // high-contrast dark share the green, so the triple is compared).
              const byLine = await voteLabels(page);
              const triple = JSON.stringify([1, 2, 4].map(l => byLine.get(l)?.color));
              return byLine.size >= 12 && triple !== seen[seen.length - 1] ? byLine : null;
            },
            { timeoutMs: 30_000 },
          );
          seen.push(tripleOf(checkColours(colours, theme, log)));
          // The pointer away from the lines and the breadcrumbs, so no tooltip covers them.
          await page.mouse.move(700, 800);
          await shot(`candidates-${tag}`);
        }
        await h.setColorTheme(page, 'Light 2026');

        await h.runCommandInPalette(page, 'Sift: Dataset Overview');
        const frame = await h.waitFor(
          'the overview with the candidates section',
          async () => {
            for (const f of page.frames()) {
              const ok = await f.evaluate(() => Boolean(document.querySelector('section.candidates') && document.querySelector('figure .plot canvas'))).catch(() => false);
              if (ok) return f;
            }
            return null;
          },
          { timeoutMs: 60_000 },
        );
        const view = await frame.evaluate(() => ({
          sentence: document.querySelector('section.candidates p')?.textContent ?? '',
          colours: [...document.querySelectorAll('.vote-colours li')].map(li => ({ text: li.textContent, swatch: window.getComputedStyle(li.querySelector('.swatch')).backgroundColor })),
          captions: [...document.querySelectorAll('figcaption')].map(c => c.textContent),
          agreement: [...document.querySelectorAll('figure')].find(f => /Agreement/.test(f.textContent))?.querySelector('.summary')?.textContent ?? '',
        }));
        log(`overview: ${JSON.stringify(view)}`);
        assert.match(view.sentence, /^12 candidates of 3 questions: 4 correct, 2 more agree with their majority, 6 do not\. Against gold: the majority answer is correct on 1 of 3 questions/);
        assert.deepEqual(view.colours.map(c => c.text.split(':')[0].trim()), ['green', 'yellow', 'red']);
        for (const c of view.colours) assert.ok(c.swatch && c.swatch !== 'rgba(0, 0, 0, 0)', `the swatch has the editor's colour: ${JSON.stringify(c)}`);
        assert.ok(view.captions.includes('Agreement per question (share of the majority answer)'));
        // q1 and q3: 1 of 4 (a 25% share), q2: 3 of 4.
        assert.match(view.agreement, /^Agreement of 3 questions .*: 0 at 90% or more, 2 at 50% or less\./);
        await page.mouse.move(700, 800);
        await frame.evaluate(() => document.querySelector('section.candidates').scrollIntoView());
        await shot('candidates-overview');
      } finally {
        await h.setColorTheme(page, 'Light 2026').catch(() => {});
        await h.runCommand(page, 'View: Close All Editors').catch(() => {});
      }
    },
  },
];
