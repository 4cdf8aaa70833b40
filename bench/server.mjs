// The language server on a 100k-line dataset whose scores are all in the store: how long until the
// first screen of inlay hints shows numbers, how long a jump to line 50,000 takes, and the server's
// memory. Needs `node esbuild.mjs` (dist/server.js) and `npx tsc -p tsconfig.test.json` (the compiled
// core under out/, used to fill the store). `node bench/server.mjs` prints the result as JSON.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import protocol from 'vscode-languageserver-protocol/node.js';
import { METHOD_VERSION } from '../out/src/core/metrics/index.js';
import { LocalScorer } from '../out/src/core/scoring/local/index.js';
import { scoreRecords } from '../out/src/core/scoring/scoreRecords.js';
import { ScoreStore, defaultStorePath } from '../out/src/core/store/index.js';

const { createProtocolConnection, StreamMessageReader, StreamMessageWriter } = protocol;
const root = fileURLToPath(new URL('..', import.meta.url));
const CONFIG = { metrics: ['ifd', 'rifd'], template: 'plain', boundary: 'clean', ifdVariant: 'ppl' };
const NAMES = ['Tim', 'Sue', 'Lily', 'Max', 'Ben', 'Mia', 'Tom', 'Ann'];
const THINGS = ['ball', 'cat', 'dog', 'tree', 'cake', 'boat', 'hat', 'bird', 'sun', 'box'];
const FEELINGS = ['happy', 'sad', 'big', 'red', 'small'];

/**
 * `distinct` short stories (~15 tokens each), repeated in order to `lines` lines. Duplicates share one
 * stored score. `withInput: false` leaves the empty `input` field out of the lines (the same records,
 * 12 characters shorter), so 500k of them stay under the editor's 50M-character limit.
 */
export function writeDataset(path, lines, distinct, { withInput = true } = {}) {
  const records = [];
  for (let i = 0; records.length < distinct; i++) {
    const name = NAMES[i % NAMES.length];
    const thing = THINGS[Math.floor(i / NAMES.length) % THINGS.length];
    const feeling = FEELINGS[Math.floor(i / (NAMES.length * THINGS.length)) % FEELINGS.length];
    records.push({ instruction: `Write about ${name} and a ${thing}.`, input: '', output: `${name} had a ${feeling} ${thing}. ${name} was happy.` });
  }
  const line = (r) => JSON.stringify(withInput ? r : { instruction: r.instruction, output: r.output });
  const text = Array.from({ length: lines }, (_, i) => line(records[i % distinct])).join('\n') + '\n';
  writeFileSync(path, text);
  return { text, records };
}

/** Scores the distinct records into the store beside the dataset, as the server would have. */
export async function fillStore(datasetPath, records) {
  const store = await ScoreStore.open(defaultStorePath(datasetPath));
  const scorer = await LocalScorer.load({ modelPath: join(root, 'models', 'stories260K.gguf'), threads: 1 });
  try {
    await scoreRecords(
      records.map((r, id) => ({ id, pair: { instruction: r.instruction, input: r.input, response: r.output, history: [] } })),
      { scorer, store, config: CONFIG, methodVersion: METHOD_VERSION, onResult: () => undefined },
    );
  } finally {
    await store.close();
    await scorer.close();
  }
}

function rssMb(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rss: Math.round(kb('VmRSS') / 1024), peak: Math.round(kb('VmHWM') / 1024) };
}

function isNumbers(hints, expected) {
  return Array.isArray(hints) && hints.length === expected && hints.every((h) => /^IFD \d/.test(h.label));
}

export async function benchServer({ lines = 100_000, distinct = 400 } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'sift-bench-server-'));
  const child = spawn(process.execPath, [join(root, 'dist', 'server.js'), '--stdio'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const connection = createProtocolConnection(new StreamMessageReader(child.stdout), new StreamMessageWriter(child.stdin));
  try {
    const path = join(dir, 'big.jsonl');
    const { text, records } = writeDataset(path, lines, distinct);
    const fillStarted = performance.now();
    await fillStore(path, records);
    const fillSeconds = (performance.now() - fillStarted) / 1000;

    let sweepDone;
    const swept = new Promise((resolve) => (sweepDone = resolve));
    const uri = pathToFileURL(path).href;
    connection.onNotification('sift/status', (s) => {
      if (s.uri === uri && s.total === lines && s.scored === s.total && !s.running) sweepDone();
    });
    connection.onRequest('workspace/inlayHint/refresh', () => null);
    connection.onRequest('window/workDoneProgress/create', () => null);
    connection.listen();
    await connection.sendRequest('initialize', {
      processId: process.pid,
      rootUri: pathToFileURL(dir).href,
      capabilities: { window: { workDoneProgress: true }, workspace: { inlayHint: { refreshSupport: true } } },
      initializationOptions: { settings: { template: 'plain', threads: 1 }, packageRoot: root },
    });
    await connection.sendNotification('initialized', {});
    const idleRss = rssMb(child.pid);

    const hintsFor = (start, end) =>
      connection.sendRequest('textDocument/inlayHint', { textDocument: { uri }, range: { start: { line: start, character: 0 }, end: { line: end, character: 0 } } });
    /** Asks until every line of the range shows numbers (the editor re-asks on each refresh). */
    const untilNumbers = async (start, end) => {
      for (;;) {
        const hints = await hintsFor(start, end);
        if (isNumbers(hints, end - start + 1)) return;
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    };

    const opened = performance.now();
    await connection.sendNotification('textDocument/didOpen', { textDocument: { uri, languageId: 'jsonl', version: 1, text } });
    await untilNumbers(0, 60);
    const firstHintsMs = performance.now() - opened;

    const scrolled = performance.now();
    await untilNumbers(50_000, 50_060);
    const scrollHintsMs = performance.now() - scrolled;

    await swept;
    const allStoredMs = performance.now() - opened;
    const memory = rssMb(child.pid);

    // Typing in the middle of the file: one changed character, then the hints of that screen.
    const typed = performance.now();
    await connection.sendNotification('textDocument/didChange', {
      textDocument: { uri, version: 2 },
      contentChanges: [{ range: { start: { line: 50_010, character: 1 }, end: { line: 50_010, character: 1 } }, text: ' ' }],
    });
    await untilNumbers(50_000, 50_060);
    const editHintsMs = performance.now() - typed;

    return {
      lines,
      distinctRecords: distinct,
      storeFillSeconds: round(fillSeconds, 1),
      firstHintsMs: round(firstHintsMs),
      scrollHintsMs: round(scrollHintsMs),
      editHintsMs: round(editHintsMs),
      allStoredScoresMs: round(allStoredMs),
      idleRssMb: idleRss.rss,
      rssMb: memory.rss,
      peakRssMb: memory.peak,
    };
  } finally {
    try {
      await connection.sendRequest('shutdown');
      await connection.sendNotification('exit');
    } catch {
      child.kill();
    }
    connection.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
}

function round(x, digits = 0) {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(JSON.stringify(await benchServer()));
}
