// Time from opening a dataset to its first visible score, as a curator meets it (target < 2 s): a
// real VS Code (code-server + headless Chromium from the e2e harness, set up by scripts/e2e-setup.sh)
// with Sift installed unpacked, a workspace holding examples/alpaca-sample.jsonl with no stored
// scores, the workbench already open (the extension not yet activated: opening the file activates
// it). Measured from the moment the file is asked for in Quick Open to the first coloured score
// label on screen, then to every record on screen scored. Also sets the screenshot
// test-artifacts/bench-first-score/bench-first-score.png.
// Needs `node esbuild.mjs` (dist/). `node bench/firstScore.mjs` prints the result as JSON;
// `npm run bench` includes it.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const SCORE = /\bIFD\s+-?\d/;
const FILE = 'alpaca-sample.jsonl';
const sleep = ms => new Promise(resolve => setTimeout(resolve, ms));

process.env.SIFT_E2E_ARTIFACTS ??= path.join(root, 'test-artifacts', 'bench-first-score');
const h = await import('../test/e2e/harness.mjs');

/** Why the measurement cannot run here (null: it can). */
export function skipReason() {
  try {
    h.readSetupPaths();
  } catch (error) {
    return `the end-to-end setup is missing (run scripts/e2e-setup.sh once): ${error.message.split('\n')[0]}`;
  }
  if (!fs.existsSync(path.join(root, 'dist', 'extension.js'))) return 'dist/extension.js is missing (run `node esbuild.mjs`)';
  return null;
}

const coloured = annotations => annotations.filter(a => SCORE.test(a.text) && a.color && a.color !== a.textColor);

export async function benchFirstScore({ timeoutMs = 120_000 } = {}) {
  const reason = skipReason();
  if (reason) throw new Error(reason);
  const paths = h.readSetupPaths();
  const workDir = h.makeWorkDir('sift-bench-first-');
  const workspace = h.makeWorkspace(workDir, [path.join(root, 'examples', FILE)]);
  const records = fs.readFileSync(path.join(workspace, FILE), 'utf8').split('\n').filter(l => l.trim()).length;
  const extensionsDir = path.join(workDir, 'ext');
  h.installUnpackedExtension(extensionsDir, root);
  const server = await h.startCodeServer({ paths, workDir, extensionsDir });
  const browser = await h.launchBrowser({ paths, workDir });
  try {
    const { page } = browser;
    await h.openWorkspace(page, server, workspace);
    const started = Date.now();
    await h.openFile(page, FILE);
    const editorShownMs = Date.now() - started;
    let firstScoreMs;
    let visibleScoredMs;
    let visibleLines = 0;
    const deadline = started + timeoutMs;
    for (;;) {
      const annotations = await h.readLineAnnotations(page);
      const scored = new Set(coloured(annotations).map(a => a.line));
      if (scored.size > 0 && firstScoreMs === undefined) firstScoreMs = Date.now() - started;
      // Every record line on screen (the file has no blank lines) shows a score.
      const rendered = new Set(annotations.map(a => a.line));
      if (scored.size > 0 && scored.size >= rendered.size) {
        visibleScoredMs = Date.now() - started;
        visibleLines = scored.size;
        break;
      }
      if (Date.now() > deadline) {
        if (firstScoreMs === undefined) throw new Error(`no scores on screen ${timeoutMs / 1000} s after opening ${FILE}`);
        visibleLines = scored.size; // not every record on screen was scored in time: say how many were
        break;
      }
      await sleep(25);
    }
    await h.screenshot(page, 'bench-first-score');
    return { file: FILE, records, editorShownMs, firstScoreMs, visibleScoredMs, visibleLines, target: { firstScoreMs: 2000 } };
  } finally {
    await browser.close();
    await server.stop();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const reason = skipReason();
  if (reason) console.log(`first-score benchmark skipped: ${reason}`);
  else console.log(JSON.stringify(await benchFirstScore(), null, 1));
}
