// The SAMPLING check of the UI run (listed in ui-checks.mjs): on a question record of
// gsm8k-sample.jsonl, the code action "Sample candidates for this question" has the bundled student
// write k candidates into gsm8k-sample.candidates.jsonl beside the dataset, which opens with each
// line's place in the vote. The file is compared byte for byte with what `sift sample` writes for
// the same question and settings (the same rule, computed by another process and another path).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as h from './harness.mjs';

const DATASET = 'gsm8k-sample.jsonl';
const CANDIDATES = 'gsm8k-sample.candidates.jsonl';
// The bundled model's context is 512 tokens: the default 8-shot prompt does not fit it (the editor
// says so), the zero-shot one does. A few short samples keep the check quick.
const SETTINGS = { 'sift.samplePrompt': 'qa-0shot', 'sift.sampleK': 4, 'sift.sampleMaxTokens': 32, 'sift.sampleSeed': 7, 'sift.sampleTemperature': 1.1 };

export const sampleChecks = [
  {
    name: 'sampling: the code action on a question writes its candidates beside the dataset, byte-identical to `sift sample`, and opens them coloured by the vote',
    timeoutMs: 240_000,
    async run({ page, server, workspace, shot, log }) {
      const out = path.join(workspace, CANDIDATES);
      fs.rmSync(out, { force: true });
      // Machine (remote) user settings: code-server's window reads `sift` settings from there.
      await h.setUserSettings(server, SETTINGS);
      try {
        await h.openFile(page, DATASET);
        const offered = await h.applyCodeAction(page, 1, /Sample candidates for this question/);
        log(`code actions on the question: ${offered.join(' | ')}`);
        // Opened beside the dataset once written (window/showDocument); a failure shows as a notification.
        const tab = page.locator(`.tabs-container .tab.active[data-resource-name=${JSON.stringify(CANDIDATES)}]`);
        // The error the server shows (e.g. the prompt does not fit the context), not the success
        // notification ("Sampled 4 candidate(s) …"), which can show before the tab is active.
        const failure = page.locator(h.SEL.notification).filter({ hasText: /context length|failed|cannot|error/i, hasNotText: /Sampled \d+ candidate/ }).first();
        const outcome = await h.waitFor('the candidates file to open', async () => {
          if (await tab.isVisible()) return { opened: true };
          if (await failure.isVisible()) return { failed: await failure.innerText() };
          return null;
        }, { timeoutMs: 180_000, intervalMs: 500 });
        assert.ok(outcome.opened, `sampling failed: ${outcome.failed}`);
        const written = fs.readFileSync(out, 'utf8');
        const lines = written.trimEnd().split('\n');
        assert.equal(lines.length, SETTINGS['sift.sampleK'], `k candidates: ${written.slice(0, 500)}`);
        for (const [i, line] of lines.entries()) {
          const c = JSON.parse(line);
          assert.equal(c.sample_index, i);
          assert.equal(c.sampling.k, SETTINGS['sift.sampleK']);
          assert.equal(c.sampling.max_tokens, SETTINGS['sift.sampleMaxTokens']);
          assert.match(c.question, /^Janet/);
        }

        // The same question through the CLI: the editor's threads rule (every core but one) so that
        // llama.cpp computes the same floats.
        const cliOut = path.join(os.tmpdir(), `sift-e2e-cli-candidates-${process.pid}.jsonl`);
        try {
          const threads = Math.max(1, os.availableParallelism() - 1);
          const cli = spawnSync(
            process.execPath,
            [path.join(h.REPO_ROOT, 'dist', 'cli.js'), 'sample', path.join(workspace, DATASET), '--lines', '1', '--k', String(SETTINGS['sift.sampleK']), '--temperature', String(SETTINGS['sift.sampleTemperature']), '--seed', String(SETTINGS['sift.sampleSeed']), '--max-tokens', String(SETTINGS['sift.sampleMaxTokens']), '--prompt', SETTINGS['sift.samplePrompt'], '--threads', String(threads), '--no-cache', '-q', '--out', cliOut],
            { encoding: 'utf8', timeout: 120_000 },
          );
          assert.equal(cli.status, 0, cli.stderr);
          assert.equal(written, fs.readFileSync(cliOut, 'utf8'), 'the editor wrote what `sift sample` writes');
        } finally {
          fs.rmSync(cliOut, { force: true });
        }

        // The candidates file is read as one: each line has its place in the vote against the gold
        // answer (a 260K model states no answer: "no answer · wrong").
        const voted = a => / · (correct|wrong)$/.test(a.text);
        const annotations = await h.waitForLineAnnotations(page, a => new Set(a.filter(voted).map(x => x.line)).size >= lines.length, { timeoutMs: 60_000 });
        log(`labels: ${annotations.filter(voted).map(a => `${a.line}: ${a.text}`).join(' | ')}`);
        await page.mouse.move(700, 800);
        await shot('sampled-candidates');
      } finally {
        await h.setUserSettings(server, Object.fromEntries(Object.keys(SETTINGS).map(key => [key, undefined]))).catch(() => {});
        await h.runCommand(page, 'View: Close All Editors').catch(() => {});
        fs.rmSync(out, { force: true });
      }
    },
  },
];
