// The fleet benchmark: `sift score` against the synthetic vLLM fleet of server.mjs.
//
// - Client ceiling: a fleet that answers at once; scored tokens per CPU-second of the client
//   process (its own user + system time, the fleet runs in another process), with the fleet's
//   /v1/completions/render and, as `vllm serve` by default, without it.
// - Keeping the fleet busy: 1, 2 and 4 replicas of a given prefill capacity, and two replicas of
//   different speeds; achieved scored tokens/s over the fleet's capacity (target >= 0.9 while the
//   capacity is below the client's ceiling), and the client's CPU-seconds per million tokens.
// - A file of a million records scored end to end: the client's peak RSS (target < 1 GB).
// Every score of every run is checked against the closed form (mismatches must be 0).
//
//   node bench/fleet/run.mjs            (after `npm run build` and `tsc -p tsconfig.test.json`)
//   SIFT_BENCH_FLEET_RECORDS=2000 SIFT_BENCH_FLEET_CAPACITY=15000 SIFT_BENCH_MILLION=0 node bench/fleet/run.mjs
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createInterface } from 'node:readline';
import { checkFleetScores, writeFleetDataset } from './data.mjs';
import { measureTransportFloor } from './transportFloor.mjs';

const root = fileURLToPath(new URL('../..', import.meta.url));
const cli = join(root, 'bin', 'sift.js');
const MAX_MODEL_LEN = 4096;

/** `render: false`: the replicas have no /v1/completions/render, as `vllm serve` by default. */
export async function startFleet(replicas, { render = true } = {}) {
  const child = spawn(process.execPath, [join(root, 'bench', 'fleet', 'server.mjs'), JSON.stringify({ replicas, maxModelLen: MAX_MODEL_LEN, render })], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const first = await new Promise((resolve, reject) => {
    createInterface({ input: child.stdout }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`the fleet exited ${code}`)));
  });
  const { urls, control } = JSON.parse(first);
  const call = async (path) => (await fetch(`${control}${path}`, { method: 'POST' })).json();
  return {
    urls,
    stats: () => call('/stats'),
    kill: (i) => call(`/kill?replica=${i}`),
    restart: (i) => call(`/restart?replica=${i}`),
    /** CPU-seconds the fleet process has used so far. */
    cpuSeconds: () => {
      const fields = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1].split(' ');
      return (Number(fields[11]) + Number(fields[12])) / 100;
    },
    stop: () => new Promise((resolve) => (child.exitCode !== null ? resolve() : (child.once('exit', resolve), child.kill('SIGTERM')))),
  };
}

/** One `sift score` process: its stats, CPU time and peak RSS, and the check of its output. */
export async function scoreAgainst(work, dataset, urls, extra = [], { check = true, during } = {}) {
  const tag = `${Date.now()}-${Math.random().toString(36).slice(2, 8)}`;
  const out = join(work, `out-${tag}.jsonl`);
  const statsPath = join(work, `stats-${tag}.json`);
  const usagePath = join(work, `usage-${tag}.json`);
  const args = ['--require', join(root, 'bench', 'fleet', 'usageProbe.cjs'), cli, 'score', dataset, '--metrics', 'ifd,rifd', '--template', 'plain', '--no-cache', '-q', '--stats', statsPath, '--out', out];
  for (const url of urls) args.push('--url', url);
  const started = performance.now();
  const child = spawn(process.execPath, [...args, ...extra], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, SIFT_BENCH_USAGE: usagePath } });
  let stderr = '';
  child.stderr.on('data', (c) => (stderr += c));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  if (during) await during();
  const code = await exited;
  const wallSeconds = (performance.now() - started) / 1000;
  if (code !== 0) throw new Error(`sift score exited ${code}: ${stderr.slice(0, 2000)}`);
  const stats = JSON.parse(readFileSync(statsPath, 'utf8'));
  const usage = JSON.parse(readFileSync(usagePath, 'utf8'));
  const verdict = check ? await checkFleetScores(dataset, out, MAX_MODEL_LEN) : { checked: 0, mismatches: 0, examples: [] };
  rmSync(out, { force: true });
  return { limits: (stats.inFlightLimits ?? []).map((l) => l.limit), tokenizeRoute: stats.tokenizeRoute, tokens: stats.evaluatedTokens, seconds: stats.seconds, wallSeconds, cpuSeconds: usage.cpuSeconds, systemSeconds: usage.systemSeconds, maxRssMb: usage.maxRssMb, records: stats.records, failed: stats.failed, ...verdict };
}

const round = (x, digits = 3) => Math.round(x * 10 ** digits) / 10 ** digits;

export async function benchFleet({ log = console.log, records = 40_000, capacity = 60_000, million = 1_000_000 } = {}) {
  const work = mkdtempSync(join(tmpdir(), 'sift-bench-fleet-'));
  const results = {};
  try {
    const dataset = join(work, 'fleet.jsonl');
    await writeFleetDataset(dataset, records);

    // The client's ceiling: the fleet answers at once. Measured twice: with /v1/completions/render
    // (texts tokenized in batches) and without it (one /tokenize call per text, `vllm serve`'s default).
    for (const render of [true, false]) {
      const instant = await startFleet([{ capacity: null }, { capacity: null }], { render });
      const name = render ? 'ceiling' : 'ceilingTokenizeOnly';
      const how = render ? 'texts tokenized at /v1/completions/render' : 'one /tokenize call per text (no render endpoint)';
      try {
        const r = await scoreAgainst(work, dataset, instant.urls);
        const expectedRoute = render ? '/v1/completions/render' : '/tokenize';
        if (r.tokenizeRoute !== expectedRoute) throw new Error(`the run tokenized at ${r.tokenizeRoute}, not ${expectedRoute}`);
        results[name] = { ...r, tokensPerCpuSecond: Math.round(r.tokens / r.cpuSeconds) };
        log(
          `fleet: client ceiling, ${how}: ${results[name].tokensPerCpuSecond.toLocaleString('en-US')} scored tokens per CPU-second ` +
            `(${r.tokens.toLocaleString('en-US')} tokens, ${round(r.cpuSeconds, 2)} CPU-s of which ${round(r.systemSeconds, 2)} in the kernel, ${round(r.seconds, 2)} s${render ? '; target >= 1,000,000' : ''}); ${r.mismatches} mismatches in ${r.checked} records`,
        );
        // What the HTTP traffic alone costs: the same calls replayed by a bare client, bodies unread.
        const served = (await instant.stats()).reduce((sum, s) => {
          for (const key of ['tokenizeCalls', 'tokenizeChars', 'renderCalls', 'renderTexts', 'renderChars', 'requests', 'prompts', 'tokens']) sum[key] = (sum[key] ?? 0) + s[key];
          return sum;
        }, {});
        const floor = await measureTransportFloor({ urls: instant.urls, ...served });
        const floorCpuPerMillion = (floor.cpuSeconds / floor.tokens) * 1e6;
        results[name].transport = { ...served, ...floor, cpuSecondsPerMillionTokens: round(floorCpuPerMillion), tokensPerCpuSecond: Math.round(floor.tokens / floor.cpuSeconds) };
        log(
          `fleet: the same traffic through a bare client (${served.tokenizeCalls.toLocaleString('en-US')} /tokenize, ${served.renderCalls.toLocaleString('en-US')} /v1/completions/render ` +
            `for ${served.renderTexts.toLocaleString('en-US')} texts and ${served.requests.toLocaleString('en-US')} /v1/completions calls, bodies unread): ` +
            `${round(floorCpuPerMillion)} CPU-s per million tokens (${round(floor.systemSeconds, 2)} in the kernel), the transport's floor; Sift's own work: ${round((r.cpuSeconds / r.tokens) * 1e6 - floorCpuPerMillion)} CPU-s per million tokens`,
        );
      } finally {
        await instant.stop();
      }
    }

    // Keeping replicas busy: the fleet's capacity is its replicas' summed throughput.
    const fleets = [
      { name: '1 replica', replicas: [{ capacity }] },
      { name: '2 replicas', replicas: [{ capacity }, { capacity }] },
      { name: '4 replicas', replicas: [{ capacity }, { capacity }, { capacity }, { capacity }] },
      { name: '2 replicas, speeds 1:3', replicas: [{ capacity: capacity / 2 }, { capacity: (3 * capacity) / 2 }] },
    ];
    results.fleets = [];
    for (const fleet of fleets) {
      const running = await startFleet(fleet.replicas);
      try {
        const r = await scoreAgainst(work, dataset, running.urls);
        const perReplica = await running.stats();
        const fleetCapacity = perReplica.reduce((sum, s) => sum + s.throughput, 0);
        const entry = {
          fleet: fleet.name,
          capacity: Math.round(fleetCapacity),
          achieved: Math.round(r.tokens / r.seconds),
          ratio: round(r.tokens / r.seconds / fleetCapacity),
          cpuSecondsPerMillionTokens: round((r.cpuSeconds / r.tokens) * 1e6, 3),
          tokensPerReplica: perReplica.map((s) => s.tokens),
          inFlightLimits: r.limits,
          mismatches: r.mismatches,
          checked: r.checked,
        };
        results.fleets.push(entry);
        log(
          `fleet ${fleet.name}: ${entry.achieved.toLocaleString('en-US')} of ${entry.capacity.toLocaleString('en-US')} tokens/s → ratio ${entry.ratio} (target >= 0.9), ` +
            `client ${entry.cpuSecondsPerMillionTokens} CPU-s per million tokens, tokens per replica ${entry.tokensPerReplica.join(' / ')}, in-flight limits at the end ${entry.inFlightLimits.join(' / ')}; ${entry.mismatches} mismatches in ${entry.checked} records`,
        );
      } finally {
        await running.stop();
      }
    }

    if (million) {
      // Short records (a few dozen tokens each): the point is what the client holds per record.
      const big = join(work, 'million.jsonl');
      await writeFleetDataset(big, million, 23, { short: true });
      const fast = await startFleet([{ capacity: null }, { capacity: null }]);
      try {
        const r = await scoreAgainst(work, big, fast.urls);
        results.million = { records: r.records, cpuSeconds: round(r.cpuSeconds, 1), tokens: r.tokens, seconds: round(r.seconds, 1), maxRssMb: Math.round(r.maxRssMb), mismatches: r.mismatches, checked: r.checked };
        log(
          `fleet: ${r.records.toLocaleString('en-US')} records end to end in ${round(r.seconds, 1)} s (${r.tokens.toLocaleString('en-US')} tokens): peak RSS ${Math.round(r.maxRssMb)} MB (target < 1024); ${r.mismatches} mismatches in ${r.checked} records`,
        );
      } finally {
        await fast.stop();
      }
    }
    return results;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const env = process.env;
  const results = await benchFleet({
    records: Number(env.SIFT_BENCH_FLEET_RECORDS ?? 40_000),
    capacity: Number(env.SIFT_BENCH_FLEET_CAPACITY ?? 60_000),
    million: Number(env.SIFT_BENCH_MILLION ?? 1_000_000),
  });
  console.log(JSON.stringify(results));
}
