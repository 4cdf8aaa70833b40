// The store database (src/core/store) at scale: a store of SIFT_BENCH_STORE_ENTRIES entries
// (default 4M, about a 1M-record dataset with the usual metrics) built through ScoreStore.put, then
// opened by a fresh process: open time, look-up p50/p99, insert throughput, file size, and the RSS
// growth of the process that opened it (targets: open < 1 s, RSS growth < 100 MB, no full load).
// And two processes writing one store at once: entries lost (target 0) and the time.
// Each part runs in a child process of its own, so one's memory does not count in another's.
import { spawn } from 'node:child_process';
import { mkdtempSync, statSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const storeModule = join(root, 'out', 'src', 'core', 'store', 'index.js');
const exchangeModule = join(root, 'out', 'src', 'core', 'store', 'exchange.js');

/** Runs `script` (CommonJS) in a fresh node with `args`, resolves with its last stdout line as JSON. */
function child(script, args) {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, ['-e', script, '--', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    proc.stdout.on('data', (c) => (out += c));
    proc.stderr.on('data', (c) => (err += c));
    proc.once('close', (code) => {
      if (code !== 0) return reject(new Error(`store bench child failed (${code}): ${err}`));
      resolve(JSON.parse(out.trim().split('\n').pop()));
    });
  });
}

// Keys like storeKey's (32 hex digits), derived from an index so a reader can pick existing ones.
const COMMON = `
const { createHash } = require('node:crypto');
const { ScoreStore } = require(${JSON.stringify(storeModule)});
const key = (prefix, i) => createHash('sha256').update(prefix + i).digest('hex').slice(0, 32);
const value = (i) => ({ losses: [1 + (i % 1000) / 1000, 40 + (i % 7), 2 + (i % 13) / 10, 40 + (i % 7)], truncated: false, at: 1_700_000_000_000 + i });
const [path, prefix, from, to, dataset] = process.argv.slice(1);
`;

const WRITE = `${COMMON}
(async () => {
  const store = await ScoreStore.open(path, { dataset });
  const started = performance.now();
  for (let i = Number(from); i < Number(to); i++) {
    store.put(key(prefix, i), value(i), { modelId: 'bench-model', metric: ['ifd', 'rifd', 'ds', 'ifd-chat'][i % 4] });
    if (i % 4096 === 0) await new Promise((r) => setImmediate(r));
  }
  await store.close();
  const seconds = (performance.now() - started) / 1000;
  console.log(JSON.stringify({ seconds, unsaved: store.unsaved, error: store.writeError ? String(store.writeError.message) : null }));
})();`;

// The store built the way a large shared store arrives: \`sift store import\` of an export (one transaction).
const BUILD = `${COMMON}
const { importLines } = require(${JSON.stringify(exchangeModule)});
async function* lines() {
  const datasets = JSON.stringify([require('node:path').basename(dataset)]);
  for (let i = Number(from); i < Number(to); i++) {
    const v = value(i);
    yield '{"type":"score","k":"' + key(prefix, i) + '","v":' + JSON.stringify(v.losses) + ',"t":0,"at":' + v.at + ',"model":"bench-model","metric":"' + ['ifd', 'rifd', 'ds', 'ifd-chat'][i % 4] + '","datasets":' + datasets + '}';
  }
}
(async () => {
  const started = performance.now();
  const counts = await importLines(path, lines(), 'bench');
  console.log(JSON.stringify({ seconds: (performance.now() - started) / 1000, scores: counts.scores }));
})();`;

const READ = `${COMMON}
(async () => {
  const rssBefore = process.memoryUsage().rss;
  const started = performance.now();
  const store = await ScoreStore.open(path, { dataset });
  const first = store.get(key(prefix, 0));
  const openMs = performance.now() - started;
  if (!first) throw new Error('entry 0 missing');
  const n = Number(to);
  const times = [];
  let found = 0;
  for (let j = 0; j < 20000; j++) {
    const i = Math.floor(Math.random() * n);
    const k = j % 2 === 0 ? key(prefix, i) : key('missing', i);
    const t = performance.now();
    if (store.get(k)) found++;
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  const rssAfter = process.memoryUsage().rss;
  await store.close();
  console.log(JSON.stringify({ openMs, p50Us: times[Math.floor(times.length * 0.5)] * 1000, p99Us: times[Math.floor(times.length * 0.99)] * 1000, found, lookups: times.length, rssGrowthMB: (rssAfter - rssBefore) / 1048576 }));
})();`;

const COUNT = `
const { DatabaseSync } = require('node:sqlite');
const db = new DatabaseSync(process.argv[1], { readOnly: true });
console.log(JSON.stringify({ rows: Number(db.prepare('SELECT count(*) AS n FROM scores').get().n) }));
db.close();`;

function fileSize(path) {
  return ['', '-wal'].reduce((sum, s) => sum + (existsSync(path + s) ? statSync(path + s).size : 0), 0);
}

export async function benchStore({ log, entries = Number(process.env.SIFT_BENCH_STORE_ENTRIES ?? 4_000_000), concurrent = Number(process.env.SIFT_BENCH_STORE_CONCURRENT ?? 200_000) } = {}) {
  const work = mkdtempSync(join(tmpdir(), 'sift-bench-store-'));
  const path = join(work, '.sift', 'sift.db');
  const dataset = join(work, 'data.jsonl');
  const built = await child(BUILD, [path, 'k', '0', String(entries), dataset]);
  if (built.scores !== entries) throw new Error(`the import stored ${built.scores} of ${entries}`);
  const bytes = fileSize(path);
  const read = await child(READ, [path, 'k', '0', String(entries), dataset]);
  // Puts into the big store at the run's batch size (one transaction per 256 entries), as a scoring run writes.
  const added = Math.min(50_000, entries);
  const put = await child(WRITE, [path, 'new', '0', String(added), dataset]);
  if (put.unsaved !== 0) throw new Error(`puts left ${put.unsaved} unsaved: ${put.error}`);
  const insertPerSecond = added / put.seconds;
  const result = {
    entries,
    importSeconds: built.seconds,
    importPerSecond: entries / built.seconds,
    insertPerSecond,
    fileBytes: bytes,
    bytesPerEntry: bytes / entries,
    openMs: read.openMs,
    lookupP50Us: read.p50Us,
    lookupP99Us: read.p99Us,
    lookupsFound: `${read.found}/${read.lookups} (half of them for missing keys)`,
    rssGrowthMB: read.rssGrowthMB,
    targets: { openMs: 1000, rssGrowthMB: 100 },
  };
  log(
    `store of ${entries.toLocaleString('en')} entries: imported in ${built.seconds.toFixed(1)} s (${Math.round(entries / built.seconds).toLocaleString('en')} entries/s, one transaction); ` +
      `${added.toLocaleString('en')} more put at ${Math.round(insertPerSecond).toLocaleString('en')} entries/s (one transaction per 256, as a run writes); ` +
      `${(bytes / 1048576).toFixed(0)} MB (${result.bytesPerEntry.toFixed(0)} B/entry); a fresh process opens it in ${read.openMs.toFixed(1)} ms (target < 1000), ` +
      `look-up p50 ${read.p50Us.toFixed(1)} µs, p99 ${read.p99Us.toFixed(1)} µs, RSS growth ${read.rssGrowthMB.toFixed(1)} MB (target < 100)`,
  );

  // Two processes writing one fresh store at once, each its own keys.
  const shared = join(work, 'shared', '.sift', 'sift.db');
  const started = performance.now();
  const [a, b] = await Promise.all([
    child(WRITE, [shared, 'a', '0', String(concurrent), join(work, 'shared', 'a.jsonl')]),
    child(WRITE, [shared, 'b', '0', String(concurrent), join(work, 'shared', 'b.jsonl')]),
  ]);
  const seconds = (performance.now() - started) / 1000;
  const { rows } = await child(COUNT, [shared]);
  const lost = 2 * concurrent - rows;
  result.concurrent = { perProcess: concurrent, seconds, lost, unsaved: a.unsaved + b.unsaved, target: { lost: 0 } };
  log(`two processes writing ${concurrent.toLocaleString('en')} entries each into one store at once: ${seconds.toFixed(1)} s, ${lost} lost (target 0)`);
  rmSync(work, { recursive: true, force: true });
  return result;
}

// Run alone: node bench/store.mjs (after npm run build and tsc -p tsconfig.test.json).
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await benchStore({ log: (line) => process.stdout.write(line + '\n') });
}
