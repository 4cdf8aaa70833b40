// Parse-and-validate throughput of the dataset core against the floor every JSONL reader pays:
// reading the whole file and `JSON.parse` of each line. Run `npx tsc -p tsconfig.test.json` first;
// this imports the compiled core. `node bench/parse.mjs` prints the result as JSON.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseRecord, readFileLines } from '../out/src/core/dataset/index.js';

const WORDS = (
  'the a of to and in is that for it as with was on be by this are from or an at which have not ' +
  'data model answer question explain write describe list give example reason step because ' +
  'function value number result paragraph summary customer product weather history science ' +
  'café naïve résumé über déjà 東京 数据 привет données façade jalapeño'
).split(' ');

/** Deterministic, so every run measures the same file. */
function rng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function sentence(next, chars) {
  const out = [];
  let n = 0;
  while (n < chars) {
    const w = WORDS[Math.floor(next() * WORDS.length)];
    out.push(w);
    n += w.length + 1;
  }
  return out.join(' ');
}

/** Alpaca-like records of 300-800 characters: short instruction, optional input, long output. */
export function writeAlpacaFile(path, lines, seed = 1) {
  const next = rng(seed);
  const rows = new Array(lines);
  for (let i = 0; i < lines; i++) {
    const total = 300 + Math.floor(next() * 500);
    const record = {
      instruction: sentence(next, 40 + Math.floor(next() * 60)) + '?',
      input: next() < 0.4 ? sentence(next, 30 + Math.floor(next() * 80)) : '',
      output: '',
    };
    record.output = sentence(next, Math.max(40, total - record.instruction.length - record.input.length - 45)) + '.\n';
    rows[i] = JSON.stringify(record);
  }
  writeFileSync(path, rows.join('\n') + '\n');
}

async function timeParseValidate(path) {
  const format = { name: 'alpaca' };
  const t0 = performance.now();
  let lines = 0;
  let problems = 0;
  for await (const src of readFileLines(path)) {
    const r = parseRecord(src, format);
    lines++;
    problems += r.problems.length;
  }
  const ms = performance.now() - t0;
  if (problems !== 0) throw new Error(`the generated file should be clean, got ${problems} problems`);
  return { ms, lines };
}

function timeJsonParse(path) {
  const t0 = performance.now();
  let lines = 0;
  for (const line of readFileSync(path).toString().split('\n')) {
    if (line.length === 0) continue;
    JSON.parse(line);
    lines++;
  }
  return { ms: performance.now() - t0, lines };
}

/**
 * Returns `{lines, parseValidateMs, jsonParseMs, ratio}`; ratio = jsonParseMs / parseValidateMs
 * (1 = as fast as bare JSON.parse; the target is >= 0.5). Each side runs `rounds` times,
 * alternating, and the fastest run counts, which keeps JIT warm-up and GC pauses out of the ratio.
 */
export async function benchParse({ lines = 100_000, rounds = 3 } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'sift-bench-'));
  try {
    const path = join(dir, 'alpaca.jsonl');
    writeAlpacaFile(path, lines);
    let parseValidateMs = Infinity;
    let jsonParseMs = Infinity;
    let counted = 0;
    for (let i = 0; i < rounds; i++) {
      const base = timeJsonParse(path);
      jsonParseMs = Math.min(jsonParseMs, base.ms);
      const ours = await timeParseValidate(path);
      parseValidateMs = Math.min(parseValidateMs, ours.ms);
      counted = ours.lines;
      if (base.lines !== ours.lines) throw new Error(`line counts differ: ${base.lines} vs ${ours.lines}`);
    }
    return {
      lines: counted,
      parseValidateMs: Math.round(parseValidateMs),
      jsonParseMs: Math.round(jsonParseMs),
      ratio: Math.round((jsonParseMs / parseValidateMs) * 100) / 100,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(JSON.stringify(await benchParse()));
}
