// Runs INSIDE VS Code's extension host (the `extensionTestsPath` module of bench/extensionHost.mjs,
// next to Sift loaded from the repo) and measures how long the extension host's event loop is blocked
// while a 100k-line dataset with cached scores is scrolled. Talks to the bench through files in
// $SIFT_BENCH_EXTHOST_DIR:
//   config.json     written by the bench: { dataset, pageDowns, jumps, dwellMs, jumpDwellMs, settleMs,
//                   decorationsTimeoutMs, profileFile, profileOpenFile, benchPid }
//   opened.json     written here: { at } (Date.now()) just before the dataset is opened
//   decorated.json  written by the bench: { at } when coloured scores show in the workbench
//   scrolled.json   written here after the measured pass; checked.json: the bench has looked at it
//   result.json     written here: the measurements
// Scrolling is driven through the API the way a user's keys drive it: `cursorPageDown` (PageDown)
// and, for Go to Line jumps, selection + revealRange(InCenter). Each move changes the visible range,
// which is what makes Sift refresh its line-end decorations. Two passes over the same moves: the
// measured one, then one under the V8 CPU profiler (in-process inspector session) to see where the
// time of the longest blocks goes. Console lines carry [sift-suite] so the harness echoes them.
/* eslint-disable @typescript-eslint/no-require-imports */
const fs = require('fs');
const os = require('os');
const path = require('path');
const inspector = require('inspector');
const { monitorEventLoopDelay } = require('perf_hooks');
const vscode = require('vscode');

const MARK = '[sift-suite]';
const say = (...args) => console.log(MARK, ...args);
const sleep = ms => new Promise(resolve => setTimeout(resolve, ms));
/** CLOCK_MONOTONIC in µs: the clock of the CPU profile's sample times. */
const nowUs = () => Number(process.hrtime.bigint() / 1000n);
/**
 * This (the main) thread's scheduler account: CPU time and time spent runnable but waiting for a CPU
 * in µs, and major page faults (Linux /proc/<pid>/task/<tid>/{schedstat,stat}, read through kept
 * descriptors: a few µs). A block that is neither CPU nor waiting was spent asleep: in a synchronous
 * system call or a page fault that had to read from disk. Without /proc: CPU time from
 * process.threadCpuUsage (Node >= 23.9) only.
 */
function schedAccount() {
  try {
    const task = `/proc/${process.pid}/task/${process.pid}`;
    const sched = fs.openSync(`${task}/schedstat`, 'r');
    const stat = fs.openSync(`${task}/stat`, 'r');
    const buf = Buffer.alloc(1024);
    // Parsed from the bytes: a string per read, 2000 reads a second, would feed the GC being measured.
    const numberAt = (end, at) => {
      let value = 0;
      while (at < end && buf[at] >= 48 && buf[at] <= 57) value = value * 10 + (buf[at++] - 48);
      return [value, at + 1];
    };
    const read = () => {
      let end = fs.readSync(sched, buf, 0, buf.length, 0);
      const [cpuNs, at] = numberAt(end, 0);
      const [waitNs] = numberAt(end, at);
      end = fs.readSync(stat, buf, 0, buf.length, 0);
      let field = buf.lastIndexOf(41, end - 1) + 2; // after ") "
      for (let spaces = 0; spaces < 9 && field < end; field++) if (buf[field] === 32) spaces++;
      const [majorFaults] = numberAt(end, field);
      return { cpuUs: cpuNs / 1000, waitUs: waitNs / 1000, majorFaults };
    };
    read();
    return read;
  } catch {
    return () => {
      const usage = typeof process.threadCpuUsage === 'function' ? process.threadCpuUsage() : process.cpuUsage();
      return { cpuUs: usage.user + usage.system, waitUs: NaN, majorFaults: NaN };
    };
  }
}
const sched = schedAccount();

/** The machine's CPU ticks so far (/proc/stat): all, and stolen by the hypervisor. */
function machineTicks() {
  try {
    const fields = fs.readFileSync('/proc/stat', 'latin1').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    return { total: fields.slice(0, 8).reduce((a, b) => a + b, 0), steal: fields[7] ?? 0 };
  } catch {
    return { total: 0, steal: 0 };
  }
}

/** CPU ticks (1/100 s) used so far by every process of the machine, with its command line. */
function processCpu() {
  const found = new Map();
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${name}/stat`, 'latin1');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const ticks = Number(fields[11]) + Number(fields[12]); // utime + stime
      found.set(Number(name), { ticks, cmdline: fs.readFileSync(`/proc/${name}/cmdline`, 'latin1').split('\0').filter(Boolean) });
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

/**
 * A short name for a process; `run` is this bench run's temp dir (in its processes' arguments),
 * `benchPid` the bench's own process.
 */
function processName(pid, cmdline, run, benchPid) {
  const text = cmdline.join(' ');
  const ours = pid === process.pid || pid === benchPid || text.includes(run) || text.includes(`--clientProcessId=${process.pid}`);
  let what;
  if (pid === process.pid) what = 'extension host (Sift, the probe)';
  else if (pid === benchPid) what = 'the bench (drives Chromium)';
  else if (/dist[\\/]server\.js/.test(text)) what = 'Sift language server';
  else if (/chrom/.test(cmdline[0] ?? '')) what = `chromium ${/--type=(\S+)/.exec(text)?.[1] ?? 'browser'}`;
  else if (/code-server/.test(text) && /extensionHost|bootstrap-fork/.test(text)) what = 'code-server helper (bootstrap-fork)';
  else if (/code-server/.test(text)) what = 'code-server';
  else what = cmdline.slice(0, 2).map(a => a.split(/[\\/]/).pop()).join(' ').slice(0, 60) || `pid ${pid}`;
  return ours ? what : `not this run: ${what}`;
}

/**
 * Event-loop blocking over a phase: a 1 ms interval timer whose late ticks are the blocks (gap - 1 ms;
 * each block is kept with what the probe was doing and the CPU time the thread used meanwhile: a
 * block with little CPU time is the OS running other processes, not work of this one), and
 * perf_hooks' event-loop delay histogram at 1 ms resolution for the percentiles.
 */
class BlockMonitor {
  constructor(run, benchPid) {
    this.run = run;
    this.benchPid = benchPid;
    this.label = 'idle';
    this.phases = {};
  }

  start(phase) {
    this.phase = { name: phase, blocks: [], startedUs: nowUs(), processes: processCpu(), cpuTicks: machineTicks() };
    this.histogram = monitorEventLoopDelay({ resolution: 1 });
    this.histogram.enable();
    let last = nowUs();
    let lastSched = sched();
    this.timer = setInterval(() => {
      const now = nowUs();
      const account = sched();
      const blockedMs = (now - last) / 1000 - 1;
      if (blockedMs >= 4) {
        const cpuMs = (account.cpuUs - lastSched.cpuUs) / 1000;
        const waitingForCpuMs = (account.waitUs - lastSched.waitUs) / 1000;
        this.phase.blocks.push({
          startUs: last,
          endUs: now,
          ms: round(blockedMs, 1),
          cpuMs: round(cpuMs, 1),
          waitingForCpuMs: round(waitingForCpuMs, 1),
          // neither on a CPU nor waiting for one: in a system call, a page fault, or waiting for its
          // own helper threads (V8's parallel GC) that wait for a CPU themselves
          asleepMs: round(Math.max(0, (now - last) / 1000 - cpuMs - waitingForCpuMs), 1),
          majorFaults: account.majorFaults - lastSched.majorFaults,
          during: this.label,
        });
      }
      last = now;
      lastSched = account;
    }, 1);
  }

  stop() {
    clearInterval(this.timer);
    this.histogram.disable();
    const h = this.histogram;
    const ms = ns => round(ns / 1e6, 1);
    const blocks = this.phase.blocks.sort((a, b) => b.ms - a.ms);
    const busiest = [...blocks].sort((a, b) => b.cpuMs - a.cpuMs)[0];
    const wallMs = (nowUs() - this.phase.startedUs) / 1000;
    const before = this.phase.processes;
    const cpuMsByProcess = new Map();
    for (const [pid, now] of processCpu()) {
      const ms = (now.ticks - (before.get(pid)?.ticks ?? 0)) * 10;
      if (ms <= 0) continue;
      const name = processName(pid, now.cmdline, this.run, this.benchPid);
      cpuMsByProcess.set(name, (cpuMsByProcess.get(name) ?? 0) + ms);
    }
    const machineCpuMs = [...cpuMsByProcess.values()].reduce((a, b) => a + b, 0);
    const ticks = machineTicks();
    const stolen = ticks.steal - this.phase.cpuTicks.steal;
    const allTicks = ticks.total - this.phase.cpuTicks.total;
    const summary = {
      seconds: round((nowUs() - this.phase.startedUs) / 1e6, 1),
      longestBlockMs: Math.max(ms(h.max), blocks[0]?.ms ?? 0),
      /** The most CPU time the thread spent in one block: its own longest task (GC included). */
      longestBlockCpuMs: busiest?.cpuMs ?? 0,
      histogramMaxMs: ms(h.max),
      p99Ms: ms(h.percentile(99)),
      p999Ms: ms(h.percentile(99.9)),
      meanMs: ms(h.mean),
      blocksOver16Ms: blocks.filter(b => b.ms > 16).length,
      blocksOver50Ms: blocks.filter(b => b.ms > 50).length,
      longestBlocks: blocks.slice(0, 12),
      /** The machine meanwhile: its CPUs' load, and the processes that used them (CPU ms). */
      machine: {
        cpus: os.cpus().length,
        busyPercent: round((100 * machineCpuMs) / (wallMs * os.cpus().length)),
        /** CPU time the hypervisor gave to other machines (a VM's "steal"). */
        stealPercent: allTicks > 0 ? round((100 * stolen) / allTicks, 1) : 0,
        cpuMsByProcess: Object.fromEntries([...cpuMsByProcess].sort((a, b) => b[1] - a[1]).slice(0, 8)),
      },
    };
    this.phases[this.phase.name] = summary;
    return summary;
  }
}

function round(x, digits = 0) {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** Resolves once `editor`'s first visible line satisfies `ok` (or after `timeoutMs`: false). */
function visibleRangeSettles(editor, ok, timeoutMs = 3000) {
  if (ok(editor.visibleRanges[0]?.start.line ?? -1)) return Promise.resolve(true);
  return new Promise(resolve => {
    const timer = setTimeout(() => {
      listener.dispose();
      resolve(false);
    }, timeoutMs);
    const listener = vscode.window.onDidChangeTextEditorVisibleRanges(event => {
      if (event.textEditor !== editor || !ok(event.visibleRanges[0]?.start.line ?? -1)) return;
      clearTimeout(timer);
      listener.dispose();
      resolve(true);
    });
  });
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

/** PageDown × `pageDowns`, then Go to Line `jumps`; each move waits for the view, then dwells. */
async function scroll(editor, monitor, config) {
  let steps = 0;
  let pageDownMoves = true;
  for (let i = 0; i < config.pageDowns; i++) {
    monitor.label = `PageDown ${i + 1}`;
    const before = editor.visibleRanges[0].start.line;
    if (pageDownMoves) {
      await vscode.commands.executeCommand('cursorPageDown');
      if (!(await visibleRangeSettles(editor, line => line > before, 2000))) {
        pageDownMoves = false; // the command did not reach the editor: scroll by a page directly
        say('cursorPageDown did not scroll; using revealRange by a page instead');
      }
    }
    if (!pageDownMoves) {
      const page = editor.visibleRanges[0].end.line - before;
      const target = new vscode.Position(Math.min(editor.document.lineCount - 1, before + page), 0);
      editor.selection = new vscode.Selection(target, target);
      editor.revealRange(new vscode.Range(target, target), vscode.TextEditorRevealType.AtTop);
      await visibleRangeSettles(editor, line => line > before, 2000);
    }
    steps++;
    await sleep(config.dwellMs);
  }
  for (const line of config.jumps) {
    monitor.label = `Go to Line ${line + 1}`;
    const target = new vscode.Position(Math.min(editor.document.lineCount - 1, line), 0);
    editor.selection = new vscode.Selection(target, target);
    editor.revealRange(new vscode.Range(target, target), vscode.TextEditorRevealType.InCenter);
    await visibleRangeSettles(editor, first => Math.abs(first - line) < 200, 3000);
    steps++;
    await sleep(config.jumpDwellMs);
  }
  monitor.label = 'settling after the last move';
  await sleep(1500);
  return steps;
}

async function backToTop(editor, monitor) {
  monitor.label = 'back to the top';
  const top = new vscode.Position(0, 0);
  editor.selection = new vscode.Selection(top, top);
  editor.revealRange(new vscode.Range(top, top), vscode.TextEditorRevealType.AtTop);
  await visibleRangeSettles(editor, line => line === 0, 3000);
  await sleep(1500);
}

function post(session, method, params) {
  return new Promise((resolve, reject) => session.post(method, params, (error, result) => (error ? reject(error) : resolve(result))));
}

module.exports.run = async function run() {
  const dir = process.env.SIFT_BENCH_EXTHOST_DIR;
  if (!dir) throw new Error('SIFT_BENCH_EXTHOST_DIR is not set: run this through bench/extensionHost.mjs');
  const config = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
  const monitor = new BlockMonitor(path.dirname(dir), config.benchPid);
  const result = { vscode: vscode.version, node: process.version, pid: process.pid };
  try {
    // Opening: the 10 MB document reaches the extension host, Sift activates, starts its server and
    // sends it the text; measured for information (the target is about scrolling).
    let openSession;
    if (config.profileOpenFile) {
      // Optional (SIFT_BENCH_PROFILE_OPEN=1): where opening's blocks go; slows the opening down a bit.
      openSession = new inspector.Session();
      openSession.connect();
      await post(openSession, 'Profiler.enable');
      await post(openSession, 'Profiler.setSamplingInterval', { interval: 250 });
      await post(openSession, 'Profiler.start');
    }
    monitor.start('open');
    monitor.label = 'opening the dataset';
    const openedAt = Date.now();
    writeJson(path.join(dir, 'opened.json'), { at: openedAt });
    const document = await vscode.workspace.openTextDocument(vscode.Uri.file(config.dataset));
    result.documentOpenedMs = Date.now() - openedAt;
    const editor = await vscode.window.showTextDocument(document, { preview: false });
    result.editorShownMs = Date.now() - openedAt;
    result.lines = document.lineCount - (document.lineAt(document.lineCount - 1).text === '' ? 1 : 0);
    say(`opened ${path.basename(config.dataset)}: ${result.lines} lines, language ${document.languageId}`);
    monitor.label = 'waiting for the first coloured scores';
    const decorated = await waitForFile(path.join(dir, 'decorated.json'), config.decorationsTimeoutMs, 'coloured scores in the workbench');
    const opened = JSON.parse(fs.readFileSync(path.join(dir, 'opened.json'), 'utf8'));
    result.decorationsAppearedMs = decorated.at - opened.at;
    say(`coloured scores visible after ${result.decorationsAppearedMs} ms`);
    await sleep(config.settleMs);
    monitor.stop();
    if (openSession) {
      const { profile } = await post(openSession, 'Profiler.stop');
      openSession.disconnect();
      fs.writeFileSync(config.profileOpenFile, JSON.stringify(profile));
      result.profileOpenFile = config.profileOpenFile;
    }

    monitor.start('scroll');
    result.scrollSteps = await scroll(editor, monitor, config);
    const scrolled = monitor.stop();
    say(`scroll: ${result.scrollSteps} moves, longest block ${scrolled.longestBlockMs} ms, p99 ${scrolled.p99Ms} ms`);
    // The bench checks (and screenshots) that the last screen scrolled to shows coloured scores.
    writeJson(path.join(dir, 'scrolled.json'), { at: Date.now(), firstVisibleLine: editor.visibleRanges[0].start.line + 1 });
    await waitForFile(path.join(dir, 'checked.json'), 20_000, 'the bench to look at the scrolled screen').catch(error => say(String(error)));

    await backToTop(editor, monitor);
    if (config.profileFile) {
      const session = new inspector.Session();
      session.connect();
      await post(session, 'Profiler.enable');
      await post(session, 'Profiler.setSamplingInterval', { interval: 250 });
      await post(session, 'Profiler.start');
      // Allocations too, also of objects collected meanwhile: who feeds the garbage collector.
      await post(session, 'HeapProfiler.enable');
      await post(session, 'HeapProfiler.startSampling', { samplingInterval: 32768, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
      monitor.start('profiled'); // after the start: starting the profiler blocks for ~100 ms
      await scroll(editor, monitor, config);
      const { profile } = await post(session, 'Profiler.stop');
      const { profile: allocations } = await post(session, 'HeapProfiler.stopSampling');
      const profiled = monitor.stop();
      session.disconnect();
      fs.writeFileSync(config.profileFile, JSON.stringify(profile));
      result.profileFile = config.profileFile;
      const heapFile = config.profileFile.replace(/\.cpuprofile$/, '.heapprofile');
      fs.writeFileSync(heapFile, JSON.stringify(allocations));
      result.heapProfileFile = heapFile;
      say(`profiled pass: longest block ${profiled.longestBlockMs} ms (the profiler adds overhead)`);
    }
    result.phases = monitor.phases;
    result.ok = true;
  } catch (error) {
    if (monitor.phase && !monitor.phases[monitor.phase.name]) monitor.stop();
    result.ok = false;
    result.error = error.stack || String(error);
    say(`failed: ${result.error}`);
  }
  fs.writeFileSync(path.join(dir, 'result.json'), JSON.stringify(result, null, 1));
  say(`extension host: ${result.ok ? 1 : 0} passed, ${result.ok ? 0 : 1} failed`);
  if (!result.ok) throw new Error(result.error);
};
