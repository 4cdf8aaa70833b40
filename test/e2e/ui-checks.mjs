// UI checks of Sift in a real VS Code (code-server + headless Chromium), run in order by
// test/e2e/run.mjs in ONE browser session on a copy of the workspace (examples/ + test/e2e/fixtures).
//
// The reflection checks are in reflection-checks.mjs and run last.
// To add a check, append { name, timeoutMs?, run: async ctx => {...} } to `checks`: throw (or fail an
// assert) to fail it. A failed check gets a screenshot; later checks still run, so leave the
// workbench usable (close what you opened). ctx:
//   page       playwright-core Page on the workbench (see harness.mjs for the helpers)
//   server     the code-server it talks to (harness/codeServer.mjs: its user data dir, URLs)
//   workspace  absolute path of the workspace folder (a temp copy: files may be changed)
//   manifest   package.json of the extension under test (+ id)
//   options    expectations below, overridable with SIFT_E2E_* variables
//   shot(name) screenshot into test-artifacts/e2e/
//   log(...)   progress line
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import * as h from './harness.mjs';
import { healthChecks } from './health-checks.mjs';
import { candidateChecks } from './candidate-checks.mjs';
import { sampleChecks } from './sample-checks.mjs';
import { overviewChecks } from './overview-checks.mjs';
import { recordChecks } from './record-checks.mjs';
import { reflectionChecks } from './reflection-checks.mjs';
import { studentChecks } from './student-checks.mjs';

const regexFromEnv = (name, fallback) => (process.env[name] ? new RegExp(process.env[name]) : fallback);

export const options = {
  /** Fixtures copied into the workspace from test/e2e/fixtures. */
  scoredFile: 'e2e-scored.jsonl', // 5 well-formed Alpaca records
  malformedFile: 'e2e-malformed.jsonl', // line 3 is not valid JSON
  malformedLine: 3,
  /** What a score looks like at a line end, e.g. `IFD 0.82 · r-IFD 0.41`. */
  scorePattern: regexFromEnv('SIFT_E2E_SCORE_PATTERN', /\bIFD\s+-?\d+(?:\.\d+)?/),
  /** Scores stream in from a background job (local GGUF model by default): allow for it. */
  scoreTimeoutMs: Number(process.env.SIFT_E2E_SCORE_TIMEOUT_MS || 120_000),
  /** The hover of a record shows the full breakdown: every pattern must match. */
  hoverPatterns: [/\bIFD\b/, /\br-IFD\b/],
  /** A precise message for the malformed line. */
  malformedMessage: regexFromEnv('SIFT_E2E_MALFORMED_PATTERN', /JSON|malformed|invalid|expected|unexpected/i),
  dropRecordLabel: regexFromEnv('SIFT_E2E_DROP_LABEL', /Drop record/i),
};

/** Lines (with their line breaks) of a buffer, as Buffers: byte-exact. */
function splitLinesKeepEnds(buffer) {
  const lines = [];
  let start = 0;
  for (let i = 0; i < buffer.length; i++) {
    if (buffer[i] === 0x0a) {
      lines.push(buffer.subarray(start, i + 1));
      start = i + 1;
    }
  }
  if (start < buffer.length) lines.push(buffer.subarray(start));
  return lines;
}

export const checks = [
  {
    name: 'the extension is installed and activates when a .jsonl file is opened',
    timeoutMs: 60_000,
    async run({ page, manifest, options: o }) {
      await h.openFile(page, o.malformedFile);
      const label = manifest.displayName || manifest.name;
      const rows = await h.runningExtensions(page, { hasText: label, timeoutMs: 40_000 });
      assert.ok(
        rows.some(r => r.includes(label)),
        `${label} not among the running extensions: ${JSON.stringify(rows)}`,
      );
    },
  },
  {
    name: 'a malformed line is underlined, with a precise message in its hover and in Problems',
    timeoutMs: 60_000,
    async run({ page, options: o, shot }) {
      await h.openFile(page, o.malformedFile);
      const squiggles = await h.waitFor(
        `a squiggle on line ${o.malformedLine}`,
        async () => {
          const found = await h.readSquiggles(page);
          return found.some(s => s.line === o.malformedLine) ? found : null;
        },
        { timeoutMs: 30_000 },
      );
      const errors = squiggles.filter(s => s.severity === 'error');
      assert.deepEqual([...new Set(errors.map(s => s.line))], [o.malformedLine], `error squiggles: ${JSON.stringify(squiggles)}`);
      const hover = await h.hoverSquiggle(page, o.malformedLine, { hasText: o.malformedMessage });
      assert.match(hover, o.malformedMessage);
      await shot('malformed-hover');
      await h.dismiss(page);
      const problems = await h.readProblemsPanel(page, { hasText: o.malformedMessage });
      assert.ok(
        problems.some(p => o.malformedMessage.test(p) && p.includes(`Ln ${o.malformedLine},`)),
        `no problem at Ln ${o.malformedLine}: ${JSON.stringify(problems)}`,
      );
      await shot('malformed-problems');
      await h.hidePanel(page);
    },
  },
  {
    name: 'scores appear on every record line, coloured',
    timeoutMs: options.scoreTimeoutMs + 20_000,
    async run({ page, workspace, options: o, shot, log }) {
      await h.openFile(page, o.scoredFile);
      const records = fs.readFileSync(path.join(workspace, o.scoredFile), 'utf8').split('\n').filter(l => l.trim()).length;
      const scoredLines = annotations => new Set(annotations.filter(a => o.scorePattern.test(a.text)).map(a => a.line));
      const started = Date.now();
      const annotations = await h.waitForLineAnnotations(page, a => scoredLines(a).size >= records, { timeoutMs: o.scoreTimeoutMs });
      log(`scores on ${records} lines after ${((Date.now() - started) / 1000).toFixed(1)} s: ${annotations.map(a => `${a.line}: ${a.text}`).join(' | ')}`);
      await shot('scores');
      for (let line = 1; line <= records; line++) {
        const scores = annotations.filter(a => a.line === line && o.scorePattern.test(a.text));
        assert.ok(scores.length, `no score on line ${line}`);
        assert.ok(
          scores.some(a => a.color && a.color !== a.textColor),
          `the score on line ${line} is not coloured: ${JSON.stringify(scores)}`,
        );
      }
    },
  },
  {
    name: 'hovering a record shows the full score breakdown',
    timeoutMs: 45_000,
    async run({ page, options: o, shot }) {
      await h.openFile(page, o.scoredFile);
      const hover = await h.hoverLine(page, 2, { hasText: o.hoverPatterns[0] });
      for (const pattern of o.hoverPatterns) assert.match(hover, pattern);
      await shot('score-hover');
      await h.dismiss(page);
    },
  },
  {
    name: 'Drop record removes exactly that line, and undo restores the file byte for byte',
    timeoutMs: 60_000,
    async run({ page, workspace, options: o, shot }) {
      const file = path.join(workspace, o.scoredFile);
      const original = fs.readFileSync(file);
      const lines = splitLinesKeepEnds(original);
      const dropped = 2;
      const withoutLine = Buffer.concat(lines.filter((_, i) => i !== dropped - 1));
      await h.openFile(page, o.scoredFile);
      await h.applyCodeAction(page, dropped, o.dropRecordLabel);
      const nextRecord = lines[dropped].toString().replace(/\r?\n$/, '');
      await h.waitFor(`line ${dropped} to show the record that followed the dropped one`, async () =>
        (await h.readRenderedLines(page)).find(l => l.line === dropped)?.text.startsWith(nextRecord),
      );
      await shot('drop-record');
      await h.save(page);
      await h.waitForFileBytes(file, withoutLine);
      await h.undo(page);
      await h.save(page);
      await h.waitForFileBytes(file, original);
      await shot('drop-record-undone');
    },
  },
  ...studentChecks,
  ...healthChecks,
  {
    name: 'alpaca-sample: every score label is whole on screen, before its record, with and without word wrap, in light, dark and high contrast',
    timeoutMs: options.scoreTimeoutMs + 120_000,
    async run({ page, shot, log }) {
      const file = 'alpaca-sample.jsonl';
      const full = /^● IFD \d+\.\d{2,} · r-IFD (\d+\.\d{2,}|— \([a-z ]+\))$/;
      const started = Date.now();
      await h.openFile(page, file);
      await h.waitForLineAnnotations(page, a => a.some(x => full.test(x.text)), { timeoutMs: options.scoreTimeoutMs });
      log(`first score on screen ${((Date.now() - started) / 1000).toFixed(1)} s after opening ${file}`);
      // Every rendered label: its text and its box against the editor's visible text area.
      const labels = () =>
        page.evaluate(() => {
          const editor = document.querySelector('.editor-group-container.active .editor-instance .monaco-scrollable-element.editor-scrollable');
          const area = editor.getBoundingClientRect();
          const out = [];
          for (const span of editor.querySelectorAll('.view-line span')) {
            const content = window.getComputedStyle(span, '::before').content;
            if (!content || !content.includes('IFD')) continue;
            const r = span.getBoundingClientRect();
            out.push({ text: JSON.parse(content), left: r.left, right: r.right, areaLeft: area.left, areaRight: area.right });
          }
          return out;
        });
      // Without wrap some 30 records are on screen; with it a few (each wraps over many rows).
      const checkLabels = async (what, atLeast = 1) => {
        const shown = await h.waitFor(`labels of the visible records (${what})`, async () => {
          const l = await labels();
          return l.length >= atLeast && l.every(x => full.test(x.text)) ? l : null;
        }, { timeoutMs: options.scoreTimeoutMs });
        for (const l of shown) {
          assert.ok(l.left >= l.areaLeft - 1 && l.right <= l.areaRight + 1, `${what}: "${l.text}" is cut or off-screen: ${JSON.stringify(l)}`);
        }
        log(`${what}: ${shown.length} whole labels, e.g. ${shown.slice(0, 3).map(l => l.text).join(' | ')}`);
      };
      await checkLabels('no wrap', 10);
      await shot('alpaca-labels');
      await h.runCommand(page, 'View: Toggle Word Wrap');
      try {
        await checkLabels('word wrap');
        const themes = ['Dark Modern', 'Dark High Contrast', 'Light 2026'];
        for (const theme of themes) {
          await h.setColorTheme(page, theme);
          await checkLabels(theme);
          await shot(`alpaca-labels-${theme.toLowerCase().replace(/\s+/g, '-')}`);
        }
        // The hover says in words what the colours, the directions and the percentile mean.
        const hover = await h.hoverLine(page, 2, { xOffset: 300, hasText: 'Legend' });
        assert.match(hover, /Legend/);
        assert.match(hover, /higher is better/);
        assert.match(hover, /Percentile/);
        await shot('alpaca-hover-legend');
        await h.dismiss(page);
        // Score-based problems are off by default: the Problems panel is not flooded.
        const squiggles = await h.readSquiggles(page);
        assert.deepEqual(squiggles.filter(sq => sq.severity === 'warning' || sq.severity === 'info'), [], `no score squiggles: ${JSON.stringify(squiggles)}`);
      } finally {
        await h.setColorTheme(page, 'Light 2026').catch(() => {});
        await h.runCommand(page, 'View: Toggle Word Wrap').catch(() => {});
      }
    },
  },
  ...overviewChecks,
  ...recordChecks,
  // After the record view: something the candidates check leaves open made the next Quick Open inert (under investigation).
  ...candidateChecks,
  ...sampleChecks,
  ...reflectionChecks,
];
