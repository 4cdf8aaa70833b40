// UI checks of Sift in a real VS Code (code-server + headless Chromium), run in order by
// test/e2e/run.mjs in ONE browser session on a copy of the workspace (examples/ + test/e2e/fixtures).
//
// To add a check, append { name, timeoutMs?, run: async ctx => {...} } to `checks`: throw (or fail an
// assert) to fail it. A failed check gets a screenshot; later checks still run, so leave the
// workbench usable (close what you opened). ctx:
//   page       playwright-core Page on the workbench (see harness.mjs for the helpers)
//   workspace  absolute path of the workspace folder (a temp copy: files may be changed)
//   manifest   package.json of the extension under test (+ id)
//   options    expectations below, overridable with SIFT_E2E_* variables
//   shot(name) screenshot into test-artifacts/e2e/
//   log(...)   progress line
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import * as h from './harness.mjs';

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


// ---- reflection: a scripted teacher and the diff webview ------------------------------------------

/**
 * A scripted OpenAI-compatible teacher on 127.0.0.1 (real HTTP, started by the check itself): it
 * requires `key` as a Bearer token and answers a response reflection with `rewrite(response)`, as
 * JSON when the request asks for a schema and as Sift's delimited sections otherwise.
 */
async function startScriptedTeacher({ key, rewrite }) {
  const requests = [];
  const server = http.createServer(async (req, res) => {
    const chunks = [];
    for await (const chunk of req) chunks.push(chunk);
    const send = (status, body) => {
      const text = JSON.stringify(body);
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
      res.end(text);
    };
    if (req.headers.authorization !== `Bearer ${key}`) return send(401, { error: { message: 'Incorrect API key provided.', type: 'invalid_request_error' } });
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    const user = body.messages.filter(m => m.role === 'user').map(m => m.content).join('\n');
    const shown = /----- ANSWER -----\n([\s\S]*?)\n----- END OF ANSWER -----/.exec(user)?.[1] ?? '';
    const structured = body.response_format?.type === 'json_schema';
    const isInstruction = body.response_format?.json_schema?.name === 'sift_instruction_reflection' || user.includes('<<<NEW INSTRUCTION>>>');
    requests.push({ structured, isInstruction });
    const critique = 'Helpfulness: fine. Relevance: fine. Accuracy: fine. Level of detail: could say more.';
    const response = rewrite(shown);
    const content = isInstruction
      ? structured
        ? JSON.stringify({ critique, instruction: 'Tell a longer story.', response })
        : `<<<CRITIQUE>>>\n${critique}\n<<<NEW INSTRUCTION>>>\nTell a longer story.\n<<<NEW ANSWER>>>\n${response}\n<<<END>>>`
      : structured
        ? JSON.stringify({ critique, response })
        : `<<<CRITIQUE>>>\n${critique}\n<<<BETTER ANSWER>>>\n${response}\n<<<END>>>`;
    send(200, {
      id: `chatcmpl-e2e-${requests.length}`,
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model: body.model,
      choices: [{ index: 0, message: { role: 'assistant', content, refusal: null }, logprobs: null, finish_reason: 'stop' }],
      usage: { prompt_tokens: 100, completion_tokens: 50, total_tokens: 150 },
    });
  });
  await new Promise(resolve => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}/v1`,
    requests,
    close: () => new Promise(resolve => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

/**
 * Merges `values` into user-level settings (never workspace settings) and writes them again until
 * they stay: VS Code rewrites its settings files itself once after start-up (migrating old values),
 * which can drop a change made at the same moment. code-server is a remote window, so settings of
 * `machine-overridable` scope (the teacher URL and model) are read from its remote user settings,
 * `Machine/settings.json` on the server, not from the browser's `User/settings.json`.
 */
async function setUserSettings(server, values, level = 'Machine') {
  const file = path.join(server.userDataDir, level, 'settings.json');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  if (!fs.existsSync(file)) fs.writeFileSync(file, '{}');
  const applied = settings => Object.entries(values).every(([key, value]) => JSON.stringify(settings[key]) === JSON.stringify(value));
  for (let attempt = 0; attempt < 10; attempt++) {
    let settings;
    try {
      settings = JSON.parse(fs.readFileSync(file, 'utf8'));
    } catch {
      await new Promise(resolve => setTimeout(resolve, 200)); // being replaced right now
      continue;
    }
    if (!applied(settings)) {
      for (const [key, value] of Object.entries(values)) {
        if (value === undefined) delete settings[key];
        else settings[key] = value;
      }
      fs.writeFileSync(file, JSON.stringify(settings, null, 2));
    }
    await new Promise(resolve => setTimeout(resolve, 1500));
    try {
      if (applied(JSON.parse(fs.readFileSync(file, 'utf8')))) return;
    } catch {
      // being replaced: look again
    }
  }
  throw new Error(`the user settings did not keep ${Object.keys(values).join(', ')}`);
}

/** The frame of the reflection webview (VS Code nests it in two iframes), once it shows `hasText`. */
async function reflectionFrame(page, { hasText, timeoutMs = 60_000 } = {}) {
  return h.waitFor(
    async () => {
      for (const frame of page.frames()) {
        const text = await frame.evaluate(() => (document.querySelector('main#app .decision') ? document.body.innerText : null)).catch(() => null);
        if (text && (!hasText || text.includes(hasText))) return frame;
      }
      return null;
    },
    { timeoutMs, what: `the reflection webview${hasText ? ` showing ${JSON.stringify(hasText)}` : ''}` },
  );
}

/** Runs a palette command that goes on to ask with quick picks (which reuse the palette's widget). */
async function runCommandInPalette(page, title) {
  const input = page.locator(h.SEL.quickInput);
  await page.keyboard.press('F1');
  await input.waitFor({ state: 'visible', timeout: 20_000 });
  await input.fill(`>${title}`);
  // Click the row itself: the top row may be another command that matches the text too.
  const row = page.locator(h.SEL.quickInputRow, { hasText: title }).first();
  await row.waitFor({ timeout: 20_000 });
  await row.click();
}

/** Preferences: Color Theme, as a user picks one. */
async function setColorTheme(page, theme) {
  await runCommandInPalette(page, 'Preferences: Color Theme');
  const input = page.locator(h.SEL.quickInput);
  await page.locator(h.SEL.quickInputRow).first().waitFor({ timeout: 20_000 });
  await page.keyboard.type(theme);
  await page.locator(h.SEL.quickInputRow, { hasText: theme }).first().waitFor({ timeout: 20_000 });
  await page.keyboard.press('Enter');
  await input.waitFor({ state: 'hidden', timeout: 20_000 });
}

/** Picks the row of the open quick pick whose text contains `label`. */
async function pickInQuickPick(page, label) {
  const row = page.locator(h.SEL.quickInputRow, { hasText: label }).first();
  await row.waitFor({ timeout: 20_000 });
  await row.click();
}

/**
 * Runs a palette command that asks for a value in an input box (which reuses the palette's own
 * widget), and enters `text` there.
 */
async function runCommandAndAnswer(page, title, text) {
  const input = page.locator(h.SEL.quickInput);
  await page.keyboard.press('F1');
  await input.waitFor({ state: 'visible', timeout: 20_000 });
  await input.fill(`>${title}`);
  await page.locator(h.SEL.quickInputRow, { hasText: title }).first().waitFor({ timeout: 20_000 });
  await page.keyboard.press('Enter');
  await page.locator('.quick-input-widget .quick-input-title', { hasText: title }).waitFor({ state: 'visible', timeout: 20_000 });
  await input.fill(text);
  await page.keyboard.press('Enter');
  await input.waitFor({ state: 'hidden', timeout: 20_000 });
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
        async () => {
          const found = await h.readSquiggles(page);
          return found.some(s => s.line === o.malformedLine) ? found : null;
        },
        { timeoutMs: 30_000, what: `a squiggle on line ${o.malformedLine}` },
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
    name: 'scores appear at the end of every record line, coloured',
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
      await h.waitFor(
        async () => (await h.readRenderedLines(page)).find(l => l.line === dropped)?.text.startsWith(nextRecord),
        { what: `line ${dropped} to show the record that followed the dropped one` },
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
        JSON.stringify(html),
        '{"instruction": "A cat naps in the sun.", "input": "", "output": "The cat lay in the sun. It was warm and it slept."}',
      ];
      const original = Buffer.from(lines.join('\r\n') + '\r\n');
      // The same bytes are in test/e2e/fixtures, so the file is in the workspace before the workbench
      // indexes it (Quick Open may not list a file created while it runs); rewrite it to be sure.
      assert.deepEqual(fs.readFileSync(file), original, 'test/e2e/fixtures/reflect-e2e.jsonl matches this check');
      fs.writeFileSync(file, original);
      const expectedLine = JSON.stringify({ ...html, output: rewrite(html.output) });
      const accepted = Buffer.from([lines[0], expectedLine, lines[2]].join('\r\n') + '\r\n');
      try {
        await h.openFile(page, name);
        await setUserSettings(server, { 'sift.teacher.baseUrl': teacher.url, 'sift.teacher.model': 'scripted-teacher' });
        await runCommandAndAnswer(page, 'Sift: Set Teacher API Key', key);
        // Scores first: the lightbulb's list changes when a record gets its score (no "Score this record").
        await h.waitForLineAnnotations(page, a => [1, 2, 3].every(line => a.some(x => x.line === line && /\bIFD\b/.test(x.text))), { timeoutMs: 90_000 });
        const offered = await h.applyCodeAction(page, 2, /Reflect response/);
        log(`code actions on the record: ${offered.join(' | ')}`);
        assert.ok(offered.some(a => /Selective reflection/.test(a)) && offered.some(a => /Reflect instruction/.test(a)));
        const frame = await reflectionFrame(page, { hasText: 'Response rewrite', timeoutMs: 90_000 });
        assert.equal(teacher.requests.length, 1, 'one teacher call for a response reflection');
        await page.locator('.editor-group-container').nth(1).waitFor({ state: 'visible' });
        await shot('reflection-panel');

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
        await h.waitFor(async () => /Accepted the response rewrite: line 2 replaced/.test(await frame2.evaluate(() => document.body.innerText)), { what: 'the accepted status' });
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
        await h.waitFor(async () => /Not accepted: line 2 was edited since the reflection started/.test(await frame3.evaluate(() => document.body.innerText)), { what: 'the refusal' });
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
          await setUserSettings(server, { 'sift.teacher.baseUrl': undefined, 'sift.teacher.model': undefined });
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
        await h.openFile(page, name);
        await setUserSettings(server, { 'sift.teacher.baseUrl': teacher.url, 'sift.teacher.model': 'scripted-teacher' });
        await runCommandAndAnswer(page, 'Sift: Set Teacher API Key', key);
        await h.waitForLineAnnotations(page, a => [1, 2, 3].every(line => a.some(x => x.line === line && /\bIFD\b/.test(x.text))), { timeoutMs: 90_000 });

        // The whole file is selected; the command asks which records and which mode, then shows the cost.
        await h.goToLine(page, 1);
        await page.keyboard.press('Control+A');
        await runCommandInPalette(page, 'Sift: Reflect Records…');
        await pickInQuickPick(page, 'Selected lines');
        await pickInQuickPick(page, 'Reflect response');
        const dialog = page.locator('.monaco-dialog-box');
        await dialog.waitFor({ state: 'visible', timeout: 30_000 });
        const estimate = (await dialog.innerText()).replace(/\s+/g, ' ');
        log(`estimate: ${estimate}`);
        assert.match(estimate, /Reflect response of 3 records: up to 3 teacher calls, about [\d,]+ tokens\./);
        assert.match(estimate, /scripted-teacher at http:\/\/127\.0\.0\.1:\d+\/v1/);
        assert.equal(teacher.requests.length, 0, 'nothing is called before the user confirms');
        await shot('reflection-estimate');
        await dialog.getByRole('button', { name: 'Reflect' }).click();

        let frame = await reflectionFrame(page, { hasText: 'Record 1 of 3', timeoutMs: 90_000 });
        assert.equal(teacher.requests.length, 3);
        await frame.locator('h1').click();
        await page.keyboard.press('Alt+N');
        await h.waitFor(async () => (await frameText(frame)).includes('Record 2 of 3'), { what: 'Alt+N to show record 2' });
        assert.match(await frameText(frame), /reflect-batch-e2e\.jsonl · line 2/);
        await page.keyboard.press('Alt+P');
        await h.waitFor(async () => (await frameText(frame)).includes('Record 1 of 3'), { what: 'Alt+P to show record 1' });
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
        await h.waitFor(async () => (await frameText(frame)).includes('Record 2 of 3'), { what: 'Space on Next' });
        await page.keyboard.press('Alt+R');
        await h.waitFor(async () => /Rejected: the record was left as it is\./.test(await frameText(frame)), { what: 'Alt+R to reject' });
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
          await setColorTheme(page, theme);
          await h.waitFor(
            async () => {
              for (const f of page.frames()) {
                const cls = await f.evaluate(() => (document.querySelector('main#app .decision') ? document.body.className : null)).catch(() => null);
                if (cls && cls.split(/\s+/).includes(bodyClass)) return (frame = f);
              }
              return null;
            },
            { timeoutMs: 30_000, what: `the view in ${theme}` },
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
          await setColorTheme(page, 'Light 2026');
          await setUserSettings(server, { 'sift.teacher.baseUrl': undefined, 'sift.teacher.model': undefined });
        } catch (error) {
          log(`could not reset the settings: ${error.message}`);
        }
        await h.runCommand(page, 'View: Close All Editors').catch(() => {});
        await teacher.close();
      }
    },
  },
];
