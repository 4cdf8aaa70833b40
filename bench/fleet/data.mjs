// The fleet benchmark's dataset (Alpaca records of mixed lengths, as real instruction data has:
// short questions, long answers, a few answers longer than the model's context) and the check of
// every output row against the closed form of model.mjs.
import { createReadStream, createWriteStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { renderPrompt, renderReversePrompt, instructionText } from '../../out/src/core/metrics/templates.js';
import { FLEET_BOS, fleetMeanNll, fleetTokenize } from './model.mjs';

const WORDS = (
  'the a model data set record answer question explain why how when where list write short long story code function value ' +
  'train learn student teacher score token loss mean sum river mountain city light water system process result because ' +
  'first second then finally example number table chart fast slow small large green blue red old new good better best'
).split(' ');

/** A small deterministic generator (LCG): the same seed gives the same numbers in [0, 1). */
export function rng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** Writes `records` lines; the same seed gives the same file. Lengths are log-uniform per field. */
export async function writeFleetDataset(path, records, seed = 11, { short = false } = {}) {
  const next = rng(seed);
  const words = (minChars, maxChars) => {
    const target = Math.round(Math.exp(Math.log(minChars) + next() * (Math.log(maxChars) - Math.log(minChars))));
    let text = '';
    while (text.length < target) text += (text ? ' ' : '') + WORDS[Math.floor(next() * WORDS.length)];
    return text;
  };
  const out = createWriteStream(path);
  let chunk = '';
  for (let i = 0; i < records; i++) {
    const record = short
      ? { instruction: words(10, 60), input: '', output: words(20, 160) }
      : { instruction: words(20, 400), input: next() < 0.3 ? words(30, 600) : '', output: words(40, 6000) };
    chunk += JSON.stringify(record) + '\n';
    if (chunk.length > 1 << 20) {
      if (!out.write(chunk)) await new Promise((resolve) => out.once('drain', resolve));
      chunk = '';
    }
  }
  out.end(chunk);
  await new Promise((resolve, reject) => out.on('finish', resolve).on('error', reject));
}

/**
 * One span by the clean boundary rule (README: BOS + tok(context) + tok(target), the loss over the
 * target, cut to the model context; a direct span cut to its conditioned partner's target length).
 */
function span(context, target, maxContext, fitted) {
  const ctx = context === '' ? [] : fleetTokenize(context, false);
  const ids = [FLEET_BOS, ...ctx, ...fleetTokenize(target, false)];
  const start = 1 + ctx.length;
  if (start >= maxContext) return undefined;
  let end = Math.min(ids.length, maxContext);
  if (fitted !== undefined) end = Math.min(end, start + fitted);
  return { ...fleetMeanNll(ids, start, end), fitted: end - start };
}

function close(actual, expected) {
  if (expected === undefined) return actual === null;
  return actual !== null && Math.abs(actual - expected) <= 1e-9 * Math.max(1, Math.abs(expected));
}

/**
 * Compares every row of a `sift score --out` file (metrics ifd,rifd, template plain, clean boundary)
 * with the closed form: the four losses, their token counts, IFD and r-IFD. Rows of another shard
 * are absent from the output; `onlyLines` (a Set) says which lines to expect, default all.
 */
export async function checkFleetScores(datasetPath, outPath, maxModelLen, onlyLines) {
  const maxContext = maxModelLen - 1;
  const rows = createInterface({ input: createReadStream(outPath), crlfDelay: Infinity })[Symbol.asyncIterator]();
  let line = 0;
  let checked = 0;
  let mismatches = 0;
  const examples = [];
  for await (const text of createInterface({ input: createReadStream(datasetPath), crlfDelay: Infinity })) {
    line++;
    if (onlyLines && !onlyLines.has(line)) continue;
    const next = await rows.next();
    if (next.done) {
      mismatches++;
      if (examples.length < 3) examples.push(`line ${line}: no output row`);
      continue;
    }
    const row = JSON.parse(next.value);
    const record = JSON.parse(text);
    const pair = { instruction: record.instruction, input: record.input, response: record.output, history: [] };
    const yx = span(renderPrompt('plain', pair), pair.response, maxContext);
    const y = span('', pair.response, maxContext, yx?.fitted);
    const x = instructionText(pair);
    const xy = span(renderReversePrompt('plain', pair.response), x, maxContext);
    const xOnly = span('', x, maxContext, xy?.fitted);
    const ok =
      row.line === line &&
      close(row.loss_y_given_x, yx?.mean) &&
      close(row.loss_y, y?.mean) &&
      close(row.loss_x_given_y, xy?.mean) &&
      close(row.loss_x, xOnly?.mean) &&
      row.tokens.y_given_x === (yx?.n ?? 0) &&
      row.tokens.y === (y?.n ?? 0) &&
      close(row.ifd, yx && y ? Math.exp(yx.mean - y.mean) : undefined) &&
      close(row.rifd, xy && xOnly ? Math.exp(xy.mean - xOnly.mean) : undefined);
    checked++;
    if (!ok) {
      mismatches++;
      if (examples.length < 3) examples.push(`line ${line}: got ${next.value.slice(0, 300)}`);
    }
  }
  if (!(await rows.next()).done) mismatches++;
  return { checked, mismatches, examples };
}
