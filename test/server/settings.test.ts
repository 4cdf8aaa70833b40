/**
 * Settings pulled per document: a client that answers workspace/configuration gets each folder's
 * settings applied to the datasets in that folder (template, the DS valid set and its relative
 * path), and a change of one folder's settings reaches only that folder's datasets.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { MarkupContent } from 'vscode-languageserver-protocol';
import { examplesDir, tempDir } from '../helpers/paths';
import { TestClient } from './lspClient';

const dir = tempDir('sift-folders-');
const folderA = join(dir, 'a');
const folderB = join(dir, 'b');
const stories = readFileSync(join(examplesDir, 'tinystories-instructions.jsonl'), 'utf8').split('\n').slice(1, 4);
const text = stories.join('\n') + '\n';
const shared = { metrics: ['ifd', 'rifd', 'ds'] as ('ifd' | 'rifd' | 'ds')[], dsValidSet: 'valid.jsonl' };

let client: TestClient;
let uriA: string;
let uriB: string;

before(async () => {
  mkdirSync(folderA);
  mkdirSync(folderB);
  writeFileSync(join(folderA, 'data.jsonl'), text);
  writeFileSync(join(folderB, 'data.jsonl'), text);
  // Only folder A has the valid set its relative path names; folder B's resolves to a missing file.
  writeFileSync(join(folderA, 'valid.jsonl'), stories.slice(0, 2).join('\n') + '\n');
  client = await TestClient.start({
    settings: { threads: 1 },
    folders: [
      { path: folderA, settings: { ...shared, template: 'plain' } },
      { path: folderB, settings: { ...shared, template: 'alpaca' } },
    ],
  });
  uriA = await client.open(join(folderA, 'data.jsonl'), text);
  uriB = await client.open(join(folderB, 'data.jsonl'), text);
});

after(async () => {
  await client.stop();
});

/** The value once `done` accepts it (hovers are requests: nothing to wait on but time). */
async function eventually<T>(get: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await get();
    if (done(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function hoverText(uri: string, line: number): Promise<string> {
  const hover = await client.hover(uri, line);
  return (hover?.contents as MarkupContent | undefined)?.value ?? '';
}

test('each document is asked for with its own URI as scopeUri', async () => {
  await client.waitFor('a configuration request per document', () =>
    [uriA, uriB].every((uri) => client.configurationRequests.some((items) => items.some((item) => item.scopeUri === uri && item.section === 'sift'))),
  );
});

test("each folder's settings apply to its datasets: template, and the DS valid set relative to that folder", async () => {
  await client.waitScored(uriA, 120_000);
  await client.waitScored(uriB, 120_000);
  const hoverA = await hoverText(uriA, 0);
  assert.match(hoverA, /template `plain`/);
  assert.match(hoverA, /\*\*DS -?\d+\.\d{4}\*\*/, hoverA);
  const statusB = await client.waitFor("folder B's valid set reported missing", () => {
    const s = client.lastStatus(uriB);
    return s?.message?.includes('DS weight unavailable') ? s : undefined;
  });
  assert.ok(statusB.message!.includes(join(folderB, 'valid.jsonl')), statusB.message);
  assert.ok(!(client.lastStatus(uriA)?.message ?? '').includes('DS weight unavailable'), client.lastStatus(uriA)?.message);
  const hoverB = await hoverText(uriB, 0);
  assert.match(hoverB, /template `alpaca`/);
  assert.doesNotMatch(hoverB, /\*\*DS -?\d/);
});

test("a change of one folder's settings is pulled again and reaches that folder's datasets only", async () => {
  const scoredA = client.lastStatus(uriA)!.scored;
  await client.changeConfiguration({ ...shared, template: 'vicuna' }, folderB);
  await client.waitScored(uriB, 120_000);
  assert.match(await eventually(() => hoverText(uriB, 0), (hover) => /template `vicuna`/.test(hover)), /template `vicuna`/);
  assert.match(await hoverText(uriA, 0), /template `plain`/);
  assert.equal(client.lastStatus(uriA)!.scored, scoredA, "folder A's scores are kept");
});

test('an editor configured through init_options answers with no sift section: its init options stay in force', async () => {
  const other = await TestClient.start({ settings: { format: 'sharegpt', autoScoreOnOpen: false, threads: 1 }, folders: [], pulledSettings: null });
  try {
    const uri = await other.open(join(dir, 'init-options.jsonl'), text);
    const diags = await other.waitFor('schema errors for ShareGPT', () => {
      const d = other.diagnostics.get(uri)?.diagnostics;
      return d && d.length >= stories.length ? d : undefined;
    });
    assert.ok(diags.every((d) => d.code === 'schema' && /conversations/.test(d.message)), JSON.stringify(diags));
    assert.ok(other.configurationRequests.some((items) => items.some((item) => item.scopeUri === uri)), 'the settings were pulled');
  } finally {
    await other.stop();
  }
});
