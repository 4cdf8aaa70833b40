/**
 * The dataset overview through the real server on a file scored by the bundled model, checked
 * against the CLI on an identical copy: the counts and reasons against `sift filter --report`, the
 * bins against `sift score`'s values, and the export (the Filter command with the overview's rules)
 * byte for byte against the `sift filter` command line the panel shows.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { filterCommandLine } from '../../src/core/overview/command';
import { Commands, OverviewRequest, type FilterResult, type OverviewResult, type OverviewRules } from '../../src/protocol';
import { cliPath, examplesDir, tempDir } from '../helpers/paths';
import { TestClient } from './lspClient';

const run = promisify(execFile);
const dir = tempDir('sift-overview-');
const file = join(dir, 'mixed.jsonl');
// malformed.jsonl (a valid record, invalid JSON, a wrong type, an empty response, a valid record),
// then six TinyStories records and a blank line.
const stories = readFileSync(join(examplesDir, 'tinystories-instructions.jsonl'), 'utf8').split('\n').filter(Boolean).slice(0, 6);
const text = readFileSync(join(examplesDir, 'malformed.jsonl'), 'utf8') + stories.join('\n') + '\n\n';
writeFileSync(file, text);
const cliDir = join(dir, 'cli');
const cliFile = join(cliDir, 'mixed.jsonl');
const CLI_FLAGS = ['--template', 'plain', '--quiet', '--threads', '1'];

let client: TestClient;
let uri: string;

interface Decision {
  line: number;
  kept: boolean;
  reason: string;
}

before(async () => {
  mkdirSync(cliDir);
  copyFileSync(file, cliFile);
  client = await TestClient.start({ settings: { template: 'plain', metrics: ['ifd', 'rifd'], threads: 1 }, rootDir: dir });
  uri = await client.open(file, text);
  await client.waitScored(uri, 120_000);
});

after(async () => {
  await client.stop();
});

async function cliFilter(rules: OverviewRules, out: string): Promise<{ decisions: Decision[]; dropped: Record<string, number> }> {
  const report = `${out}.report.json`;
  const words = filterCommandLine(cliFile, rules, 'paper', out).split(' ');
  assert.deepEqual(words.slice(0, 2), ['sift', 'filter']);
  await run(process.execPath, [cliPath, ...words.slice(1), '--report', report, ...CLI_FLAGS]);
  return JSON.parse(readFileSync(report, 'utf8')) as { decisions: Decision[]; dropped: Record<string, number> };
}

test('the overview counts what sift filter keeps and drops, rule by rule, with the same reasons', async () => {
  const rules: OverviewRules = { ifdMax: 1, rifdMax: 1.2, topFraction: 0.5 };
  const overview: OverviewResult = await client.connection.sendRequest(OverviewRequest, { uri, rules, rows: 50 });
  const report = await cliFilter(rules, join(cliDir, 'kept.jsonl'));
  const keptByCli = report.decisions.filter((d) => d.kept).length;
  assert.equal(overview.counts.kept, keptByCli);
  assert.equal(overview.counts.invalid, 3, 'invalid JSON, a wrong type and an empty response, as sift filter counts them');
  assert.equal(overview.counts.unscored, 0);
  assert.equal(overview.counts.records, report.decisions.length);
  assert.equal(overview.counts.dropped, report.decisions.length - keptByCli);
  assert.deepEqual(Object.fromEntries(overview.dropped.map((d) => [d.rule, d.count])), report.dropped);
  // Every row of the tables says what `sift filter --report` says of its line.
  const byLine = new Map(report.decisions.map((d) => [d.line, d]));
  for (const row of [...overview.worst, ...overview.best]) assert.deepEqual({ line: row.line, kept: row.kept, reason: row.reason }, byLine.get(row.line));
  assert.deepEqual(overview.metrics, ['ifd', 'rifd']);
  assert.equal(overview.scoring, false);
});

test('the IFD bins recount the values sift score computes for the same file', async () => {
  const out = join(cliDir, 'scores.jsonl');
  try {
    await run(process.execPath, [cliPath, 'score', cliFile, '--out', out, '--metrics', 'ifd,rifd', ...CLI_FLAGS]);
  } catch (error) {
    if ((error as { code?: number }).code !== 1) throw error; // 1: some lines could not be scored
  }
  const values = readFileSync(out, 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { ifd: number | null }).ifd).filter((v): v is number => v !== null);
  const overview: OverviewResult = await client.connection.sendRequest(OverviewRequest, { uri, rules: { ifdMax: 1 } });
  const h = overview.histograms.find((x) => x.metric === 'ifd')!;
  assert.equal(h.values, values.length);
  const bins = new Array(h.total.length).fill(0);
  for (const v of values) bins[Math.min(bins.length - 1, Math.max(0, Math.floor((v - h.lo) / h.width)))]++;
  assert.deepEqual(h.total, bins);
  assert.equal(h.kept.reduce((a, b) => a + b, 0), values.filter((v) => v < 1).length);
});

test('export writes byte for byte what the shown sift filter command writes', async () => {
  const rules: OverviewRules = { ifdMax: 1, topFraction: 0.5 };
  const exported = join(dir, 'mixed.selected.jsonl');
  const result = await client.execute<FilterResult>(Commands.filterFile, [uri, { outPath: exported, ...rules }]);
  const cliOut = join(cliDir, 'selected.jsonl');
  await cliFilter(rules, cliOut);
  assert.equal(readFileSync(exported, 'utf8'), readFileSync(cliOut, 'utf8'));
  const overview: OverviewResult = await client.connection.sendRequest(OverviewRequest, { uri, rules });
  assert.equal(result.kept, overview.counts.kept);
  await assert.rejects(client.execute(Commands.filterFile, [uri, { outPath: file, ...rules }]), /a new file/);
});

test('an overview of a document that is not open is refused with a reason', async () => {
  await assert.rejects(client.connection.sendRequest(OverviewRequest, { uri: 'file:///nowhere.jsonl', rules: {} }), /not an open dataset/);
});

test('a scored record’s hover links to the overview of its dataset', async () => {
  const hover = await client.hover(uri, 0);
  const value = JSON.stringify(hover);
  const link = /\[Dataset overview\]\(command:sift\.editor\.overview\?([^ )]+)/.exec(JSON.parse(value).contents.value as string);
  assert.ok(link, value);
  assert.deepEqual(JSON.parse(decodeURIComponent(link[1])), [uri]);
});
