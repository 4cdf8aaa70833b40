// The extension host's longest blocking task while a 100k-line dataset with cached scores is scrolled
// in a real VS Code (target < 50 ms). Uses the end-to-end harness (test/e2e/harness.mjs: code-server
// in headless Chromium, set up by scripts/e2e-setup.sh) and bench/server.mjs's dataset and store fill:
//   1. a 100k-line JSONL of 400 distinct short stories, their scores put in the store beside it;
//   2. code-server opens the folder with Sift loaded from the repo (extensionDevelopmentPath) and
//      bench/extensionHostProbe.cjs as the extension-host "tests": it opens the file, and this side
//      watches the workbench until coloured scores show at the line ends (decorationsAppearedMs);
//   3. the probe scrolls (40 × PageDown, then 5 Go to Line jumps) while it measures the event-loop
//      blocking of its own process, the extension host (longestBlockMs: wall clock, as the user feels
//      it; each block split into the extension host's own CPU time, time waiting for a CPU that other
//      processes held, and time asleep), then repeats the moves under the CPU and allocation profilers
//      (profiledPass.whereTheTimeGoes; the profiles are kept for DevTools).
// Needs `node esbuild.mjs` (dist/) and `npx tsc -p tsconfig.test.json` (out/, for the store fill);
// `npm run bench:exthost` does both. `node bench/extensionHost.mjs` prints the result as JSON;
// `npm run bench` includes it. SIFT_BENCH_PROFILE_OPEN=1 also profiles the opening.
// Artefacts (screenshot, code-server logs, Sift's log, profiles, the probe's raw result):
// test-artifacts/bench-exthost/. Takes about a minute (a 2-core machine).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const SCORE = /\bIFD\s+-?\d/;
const sleep = ms => new Promise(resolve => setTimeout(resolve, ms));

// The harness decides its artefacts folder when it is imported: keep the bench's apart from the e2e run's.
process.env.SIFT_E2E_ARTIFACTS ??= path.join(root, 'test-artifacts', 'bench-exthost');
const h = await import('../test/e2e/harness.mjs');

/** Why the measurement cannot run here (null: it can). */
export function skipReason() {
  try {
    h.readSetupPaths();
  } catch (error) {
    return `the end-to-end setup is missing (run scripts/e2e-setup.sh once): ${error.message.split('\n')[0]}`;
  }
  if (!fs.existsSync(path.join(root, 'dist', 'extension.js'))) return 'dist/extension.js is missing (run `node esbuild.mjs`)';
  if (!fs.existsSync(path.join(root, 'out', 'src', 'core', 'store', 'index.js'))) return 'out/ is missing (run `npx tsc -p tsconfig.test.json`)';
  return null;
}

async function waitForFile(file, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return JSON.parse(fs.readFileSync(file, 'utf8'));
    } catch {
      // not there yet
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await sleep(50);
  }
}

/** Writes `value` as JSON to `file` in one step (rename), so the other side never reads half of it. */
function writeJson(file, value) {
  fs.writeFileSync(`${file}.tmp`, JSON.stringify(value));
  fs.renameSync(`${file}.tmp`, file);
}

const brief = ({ ms, cpuMs, waitingForCpuMs, asleepMs, majorFaults, during }) => ({ ms, cpuMs, waitingForCpuMs, asleepMs, majorFaults, during });

const colouredScores = annotations => annotations.filter(a => SCORE.test(a.text) && a.color && a.color !== a.textColor);

/** Who a profile frame belongs to. */
function origin({ functionName, url }) {
  if (!url) return /^\((garbage collector|program|idle|root)\)$/.test(functionName) ? functionName : '(native)';
  const file = url.startsWith('file://') ? fileURLToPath(url) : url;
  if (file === path.join(root, 'dist', 'extension.js')) return 'sift client (dist/extension.js)';
  if (file.startsWith('node:')) return 'node internals';
  if (/extensionHostProcess|[\\/]vs[\\/]workbench[\\/]|[\\/]vs[\\/](base|platform)[\\/]/.test(file)) return 'VS Code extension host';
  if (file.includes('extensionHostProbe')) return 'the probe';
  if (/[\\/]extensions[\\/]/.test(file)) return 'other extensions';
  return path.basename(file);
}

const label = ({ functionName, url, lineNumber }) => `${functionName || '(anonymous)'} ${url ? `${path.basename(url)}:${lineNumber + 1}` : ''}`.trim();

const topOf = (map, n) => Object.fromEntries([...map].sort((a, b) => b[1] - a[1]).slice(0, n).map(([k, v]) => [k, Math.round(v * 10) / 10]));

/**
 * What the profiled pass allocated (sampled, collected objects included), in MB: by origin of the
 * allocating function, by origin anywhere on the allocating stack, and by function.
 */
export function summarizeAllocations(heapProfile, { top = 10 } = {}) {
  const self = new Map();
  const origins = new Map();
  const inclusive = new Map();
  const visit = (node, stackOrigins) => {
    const here = new Set(stackOrigins).add(origin(node.callFrame));
    const mb = node.selfSize / 1e6;
    if (mb > 0) {
      self.set(label(node.callFrame), (self.get(label(node.callFrame)) ?? 0) + mb);
      origins.set(origin(node.callFrame), (origins.get(origin(node.callFrame)) ?? 0) + mb);
      for (const o of here) inclusive.set(o, (inclusive.get(o) ?? 0) + mb);
    }
    for (const child of node.children ?? []) visit(child, here);
  };
  visit(heapProfile.head, []);
  inclusive.delete('(root)');
  const total = [...origins.values()].reduce((a, b) => a + b, 0);
  return { totalMb: Math.round(total * 10) / 10, mbByOrigin: topOf(origins, top), mbInclusiveByOrigin: topOf(inclusive, top), mbByFunction: topOf(self, top) };
}

/**
 * Where the profiled pass spent its time: self time by origin and by function over the whole pass,
 * and for each of the longest blocks the functions sampled inside it.
 */
export function summarizeProfile(profile, blocks, { top = 12 } = {}) {
  const byId = new Map(profile.nodes.map(n => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  // Sample i lasts until sample i + 1.
  const times = [];
  let t = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i];
    times.push(t);
  }
  const tally = (from, to) => {
    const self = new Map();
    const origins = new Map();
    const inclusive = new Map();
    const originsInclusive = new Map();
    for (let i = 0; i < profile.samples.length; i++) {
      if (times[i] < from || times[i] >= to) continue;
      const ms = ((times[i + 1] ?? profile.endTime) - times[i]) / 1000;
      const node = byId.get(profile.samples[i]);
      self.set(label(node.callFrame), (self.get(label(node.callFrame)) ?? 0) + ms);
      origins.set(origin(node.callFrame), (origins.get(origin(node.callFrame)) ?? 0) + ms);
      const seen = new Set();
      const seenOrigins = new Set();
      for (let id = node.id; id !== undefined; id = parent.get(id)) {
        const frame = byId.get(id).callFrame;
        if (!seenOrigins.has(origin(frame))) {
          seenOrigins.add(origin(frame));
          originsInclusive.set(origin(frame), (originsInclusive.get(origin(frame)) ?? 0) + ms);
        }
        if (!frame.url || seen.has(label(frame))) continue;
        seen.add(label(frame));
        inclusive.set(label(frame), (inclusive.get(label(frame)) ?? 0) + ms);
      }
    }
    const sorted = (map, n, skip = () => false) =>
      Object.fromEntries([...map].filter(([k]) => !skip(k)).sort((a, b) => b[1] - a[1]).slice(0, n).map(([k, v]) => [k, Math.round(v * 10) / 10]));
    return { self, origins, inclusive, originsInclusive, sorted };
  };
  const whole = tally(profile.startTime, profile.endTime);
  const idle = k => k === '(idle)';
  return {
    busyMsByOrigin: whole.sorted(whole.origins, top, idle),
    // time with a frame of that origin anywhere on the stack (its callees included)
    busyMsInclusiveByOrigin: whole.sorted(whole.originsInclusive, top, k => idle(k) || k === '(root)'),
    busyMsByFunction: whole.sorted(whole.self, top, idle),
    longestBlocks: blocks.slice(0, 5).map(b => {
      const inBlock = tally(b.startUs, b.endUs);
      return {
        ms: b.ms,
        cpuMs: b.cpuMs,
        waitingForCpuMs: b.waitingForCpuMs,
        asleepMs: b.asleepMs,
        majorFaults: b.majorFaults,
        during: b.during,
        byOrigin: inBlock.sorted(inBlock.origins, 5),
        selfMs: inBlock.sorted(inBlock.self, 6),
        inclusiveMs: inBlock.sorted(inBlock.inclusive, 8),
      };
    }),
  };
}

/**
 * The lines of Sift's own log (its LogOutputChannel, a file under the user data dir's logs) as
 * [{ ms after `since`, event }], copied to the artefacts as extension-host-Sift.log.
 */
function siftLogTimeline(workDir, since, max = 12) {
  const logs = path.join(workDir, 'ud-exthost', 'logs');
  if (!fs.existsSync(logs)) return [];
  const file = fs
    .readdirSync(logs, { recursive: true })
    .map(f => path.join(logs, String(f)))
    .find(f => path.basename(f) === 'Sift.log');
  if (!file) return [];
  fs.copyFileSync(file, path.join(h.ARTIFACTS_DIR, 'extension-host-Sift.log'));
  const events = [];
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    const m = /^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d\.\d{3}) \[\w+\] (?:\[\w+\s+- [^\]]*\] )?(.*)$/.exec(line);
    if (!m) continue;
    events.push({ ms: new Date(`${m[1]}T${m[2]}`).getTime() - since, event: m[3].replace(workDir, '<tmp>').slice(0, 110) });
    if (events.length >= max) break;
  }
  return events;
}

export async function benchExtensionHost({
  lines = 100_000,
  distinct = 400,
  pageDowns = 40,
  jumps = [25_000, 50_000, 75_000, lines - 40, 10_000],
  dwellMs = 150,
  jumpDwellMs = 600,
  profile = true,
  profileOpen = process.env.SIFT_BENCH_PROFILE_OPEN === '1',
  echo = false,
} = {}) {
  const reason = skipReason();
  if (reason) throw new Error(reason);
  const { writeDataset, fillStore } = await import('./server.mjs');
  const paths = h.readSetupPaths();
  const workDir = h.makeWorkDir('sift-bench-eh-');
  const workspace = path.join(workDir, 'ws');
  const probeDir = path.join(workDir, 'probe');
  fs.mkdirSync(workspace, { recursive: true });
  fs.mkdirSync(probeDir, { recursive: true });
  fs.mkdirSync(h.ARTIFACTS_DIR, { recursive: true });
  const dataset = path.join(workspace, 'big.jsonl');
  const { records } = writeDataset(dataset, lines, distinct);
  const fillStarted = performance.now();
  await fillStore(dataset, records);
  const storeFillSeconds = Math.round((performance.now() - fillStarted) / 100) / 10;
  const profileFile = path.join(h.ARTIFACTS_DIR, 'extension-host-scroll.cpuprofile');
  const profileOpenFile = path.join(h.ARTIFACTS_DIR, 'extension-host-open.cpuprofile');
  for (const file of [profileFile, profileFile.replace(/\.cpuprofile$/, '.heapprofile'), profileOpenFile]) fs.rmSync(file, { force: true });
  fs.writeFileSync(
    path.join(probeDir, 'config.json'),
    JSON.stringify({ dataset, pageDowns, jumps, dwellMs, jumpDwellMs, settleMs: 1500, decorationsTimeoutMs: 180_000, profileFile: profile ? profileFile : null, profileOpenFile: profileOpen ? profileOpenFile : null, benchPid: process.pid }),
  );

  // The workbench side: when the probe has opened the file, poll the rendered lines for coloured
  // scores and tell the probe (decorated.json); the extension host itself cannot see decorations.
  const watch = { error: null, afterScroll: null };
  const onPage = async page => {
    try {
      const opened = await waitForFile(path.join(probeDir, 'opened.json'), 180_000, 'the probe to open the dataset');
      const deadline = opened.at + 180_000;
      for (;;) {
        if (colouredScores(await h.readLineAnnotations(page)).length > 0) break;
        if (Date.now() > deadline) throw new Error('no coloured scores after 180 s');
        await sleep(40);
      }
      writeJson(path.join(probeDir, 'decorated.json'), { at: Date.now() });
      await h.screenshot(page, 'bench-exthost-first-scores');
      // After the measured pass: the screen it ended on must show coloured scores too.
      await waitForFile(path.join(probeDir, 'scrolled.json'), 300_000, 'the measured pass');
      const shown = await h.waitForLineAnnotations(page, a => colouredScores(a).length > 0, { timeoutMs: 10_000, intervalMs: 100 }).catch(() => []);
      const lines = [...new Set(colouredScores(shown).map(a => a.line))];
      watch.afterScroll = { colouredLines: lines.length, firstLine: Math.min(...lines), lastLine: Math.max(...lines) };
      await h.screenshot(page, 'bench-exthost-after-scroll');
      writeJson(path.join(probeDir, 'checked.json'), { at: Date.now() });
    } catch (error) {
      watch.error = error;
    }
  };

  // code-server's remote extension host looks for ports to forward: it reads /proc and spawns
  // processes every few seconds, each spawn blocking the extension host until the child has started
  // (tens of ms on a busy machine). Desktop VS Code does not do that for a local folder, and it is
  // not Sift's: off for this measurement (runExtensionHostSuite writes these user settings; code-server
  // has a tunnel provider, so only the source setting stops the scan).
  h.DEFAULT_USER_SETTINGS['remote.autoForwardPorts'] = false;
  h.DEFAULT_USER_SETTINGS['remote.autoForwardPortsSource'] = 'output';
  const started = Date.now();
  const { exitCode, output } = await h.runExtensionHostSuite({
    paths,
    workDir,
    workspace,
    extensionDevelopmentPath: root,
    extensionTestsPath: path.join(root, 'bench', 'extensionHostProbe.cjs'),
    env: { SIFT_BENCH_EXTHOST_DIR: probeDir },
    timeoutMs: 420_000,
    echo,
    onPage,
  });
  const resultFile = path.join(probeDir, 'result.json');
  if (!fs.existsSync(resultFile)) throw new Error(`the probe wrote no result (exit code ${exitCode}, ${watch.error ?? 'workbench watch ok'}):\n${output.slice(-20).join('\n')}`);
  const probe = JSON.parse(fs.readFileSync(resultFile, 'utf8'));
  if (!probe.ok) throw new Error(`the probe failed${watch.error ? ` (workbench watch: ${watch.error.message})` : ''}: ${probe.error}`);
  fs.copyFileSync(resultFile, path.join(h.ARTIFACTS_DIR, 'extension-host-probe.json'));
  const scroll = probe.phases.scroll;
  const openTimeline = siftLogTimeline(workDir, JSON.parse(fs.readFileSync(path.join(probeDir, 'opened.json'), 'utf8')).at);
  let whereTheTimeGoes;
  if (probe.profileFile && fs.existsSync(probe.profileFile)) {
    whereTheTimeGoes = summarizeProfile(JSON.parse(fs.readFileSync(probe.profileFile, 'utf8')), probe.phases.profiled.longestBlocks);
  }
  if (whereTheTimeGoes && probe.heapProfileFile && fs.existsSync(probe.heapProfileFile)) {
    whereTheTimeGoes.allocations = summarizeAllocations(JSON.parse(fs.readFileSync(probe.heapProfileFile, 'utf8')));
  }
  return {
    lines: probe.lines,
    scrollSteps: probe.scrollSteps,
    longestBlockMs: scroll.longestBlockMs,
    p99Ms: scroll.p99Ms,
    decorationsAppearedMs: probe.decorationsAppearedMs,
    target: { longestBlockMs: 50 },
    /** Coloured scores on the screen the measured pass ended on (Go to Line 10,001). */
    afterScroll: watch.afterScroll ?? { error: String(watch.error?.message ?? 'not checked') },
    // from the moment the probe asked for the document: the extension host has it, the editor shows
    // it, then what Sift's log says (ms after that moment)
    openTimeline: [{ ms: probe.documentOpenedMs, event: 'openTextDocument resolved' }, { ms: probe.editorShownMs, event: 'showTextDocument resolved' }, ...openTimeline].sort((a, b) => a.ms - b.ms),
    storeFillSeconds,
    runSeconds: Math.round((Date.now() - started) / 1000),
    // Each block: wall ms = the extension host's own CPU ms in it + ms it was runnable but waiting for
    // a CPU (other processes had them) + ms asleep; `machine`: how busy the CPUs were, and with what.
    scroll: {
      seconds: scroll.seconds,
      p999Ms: scroll.p999Ms,
      meanMs: scroll.meanMs,
      blocksOver16Ms: scroll.blocksOver16Ms,
      blocksOver50Ms: scroll.blocksOver50Ms,
      longestBlockCpuMs: scroll.longestBlockCpuMs,
      longestBlocks: scroll.longestBlocks.slice(0, 5).map(brief),
      machine: scroll.machine,
    },
    open: {
      longestBlockMs: probe.phases.open.longestBlockMs,
      longestBlockCpuMs: probe.phases.open.longestBlockCpuMs,
      p99Ms: probe.phases.open.p99Ms,
      longestBlocks: probe.phases.open.longestBlocks.slice(0, 5).map(brief),
      machine: probe.phases.open.machine,
      whereTheTimeGoes:
        probe.profileOpenFile && fs.existsSync(probe.profileOpenFile)
          ? summarizeProfile(JSON.parse(fs.readFileSync(probe.profileOpenFile, 'utf8')), probe.phases.open.longestBlocks)
          : undefined,
    },
    profiledPass: probe.phases.profiled && { longestBlockMs: probe.phases.profiled.longestBlockMs, p99Ms: probe.phases.profiled.p99Ms, whereTheTimeGoes },
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const reason = skipReason();
  if (reason) {
    console.log(`extension host benchmark skipped: ${reason}`);
  } else {
    console.log(JSON.stringify(await benchExtensionHost({ echo: true }), null, 1));
  }
}
