// The dataset overview: on a 100k- and a 500k-line dataset whose scores are in the store, how long
// from opening it until the server's first overview with a plot (the charts' data), and how long an
// overview takes after a threshold moves; then the aggregation alone on 500k records, and the size
// of what goes to the webview (bins, never the records). Needs `node esbuild.mjs` and
// `npx tsc -p tsconfig.test.json`. `node bench/overview.mjs` prints the result as JSON.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import protocol from 'vscode-languageserver-protocol/node.js';
import { datasetOverview } from '../out/src/core/overview/aggregate.js';
import { fillStore, writeDataset } from './server.mjs';

const { createProtocolConnection, StreamMessageReader, StreamMessageWriter } = protocol;
const root = fileURLToPath(new URL('..', import.meta.url));

/** CPU time a process has used, in ms (user + system, from /proc: the machine may be shared, wall time is noisy). */
function cpuMs(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  // utime and stime are fields 14 and 15 of the line, 12 and 13 after the command name; in clock ticks (100 a second on Linux).
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** Synthetic scored records (no model): the aggregation's own cost on a file too big to open in a test. */
function syntheticRecords(n) {
  let seed = 1;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  return Array.from({ length: n }, (_, i) => ({
    line: i + 1,
    scored: true,
    metrics: { ifd: { value: 0.3 + random() }, rifd: { value: 0.2 + random() * 1.2 } },
    question: '',
    response: '',
  }));
}

/** One server, one dataset of `lines` lines: first plot, all scores plotted, threshold moves. */
async function overviewOnServer(lines, distinct) {
  const dir = mkdtempSync(join(tmpdir(), 'sift-bench-overview-'));
  const child = spawn(process.execPath, [join(root, 'dist', 'server.js'), '--stdio'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const connection = createProtocolConnection(new StreamMessageReader(child.stdout), new StreamMessageWriter(child.stdin));
  try {
    const path = join(dir, 'big.jsonl');
    const { text, records } = writeDataset(path, lines, distinct, { withInput: lines <= 100_000 });
    await fillStore(path, records);
    const uri = pathToFileURL(path).href;
    connection.onRequest('window/workDoneProgress/create', () => null);
    connection.listen();
    await connection.sendRequest('initialize', {
      processId: process.pid,
      rootUri: pathToFileURL(dir).href,
      capabilities: { window: { workDoneProgress: true } },
      initializationOptions: { settings: { template: 'plain', threads: 1 }, packageRoot: root },
    });
    await connection.sendNotification('initialized', {});
    const overview = (rules) => connection.sendRequest('sift/overview', { uri, rules });

    // The panel opens with the dataset: it asks until a histogram can be drawn (the editor asks again on ScoresChanged).
    const opened = performance.now();
    const openedCpu = cpuMs(child.pid);
    await connection.sendNotification('textDocument/didOpen', { textDocument: { uri, languageId: 'jsonl', version: 1, text } });
    let first;
    for (;;) {
      first = await overview({ ifdMax: 1 });
      if (first.histograms.length > 0) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const firstPlotMs = performance.now() - opened;
    const firstPlotServerCpuMs = cpuMs(child.pid) - openedCpu;
    let all = first;
    while (all.counts.scored < lines) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      all = await overview({ ifdMax: 1 });
    }
    const allScoresPlotMs = performance.now() - opened;

    // A threshold moves (the slider): the round trip of one overview, median of several positions.
    const moves = [];
    const moveCpu = [];
    for (const ifdMax of [0.9, 0.95, 1.0, 1.05, 0.98, 0.92, 1.1]) {
      const started = performance.now();
      const cpuBefore = cpuMs(child.pid);
      await overview({ ifdMax, topFraction: 0.3 });
      moves.push(performance.now() - started);
      moveCpu.push(cpuMs(child.pid) - cpuBefore);
    }
    return {
      lines,
      firstPlotMs: Math.round(firstPlotMs),
      firstPlotServerCpuMs: Math.round(firstPlotServerCpuMs),
      firstPlotScored: first.counts.scored,
      allScoresPlotMs: Math.round(allScoresPlotMs),
      thresholdMoveMs: Math.round(median(moves)),
      thresholdMoveServerCpuMs: Math.round(median(moveCpu)),
      overviewBytes: Buffer.byteLength(JSON.stringify(all)),
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

export async function benchOverview({ sizes = [100_000, 500_000], distinct = 400, large = 500_000 } = {}) {
  const servers = [];
  for (const lines of sizes) servers.push(await overviewOnServer(lines, distinct));
  const big = syntheticRecords(large);
  const aggregateMs = [];
  const aggregateCpu = [];
  for (let i = 0; i < 3; i++) {
    const started = performance.now();
    const cpuBefore = process.cpuUsage();
    datasetOverview(big, 0, { ifdMax: 1, rifdMax: 1, topFraction: 0.3 }, { dsRule: 'paper' });
    aggregateMs.push(performance.now() - started);
    const cpu = process.cpuUsage(cpuBefore);
    aggregateCpu.push((cpu.user + cpu.system) / 1000);
  }
  const k = large / 1000;
  return { servers, [`aggregate${k}kMs`]: Math.round(median(aggregateMs)), [`aggregate${k}kCpuMs`]: Math.round(median(aggregateCpu)) };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  console.log(JSON.stringify(await benchOverview(), null, 1));
}
