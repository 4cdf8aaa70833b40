/**
 * The editor's Filter command scores a conversation from its turns as `sift filter` does: with
 * `turnScore: 'min'` the record's IFD is its lowest turn's, not its last turn's, and the kept lines
 * are byte for byte what `sift filter --turn-score min` keeps.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { Commands, type FilterResult } from '../../src/protocol';
import { cliPath, examplesDir, tempDir } from '../helpers/paths';
import { TestClient } from './lspClient';

const run = promisify(execFile);
const dir = tempDir('sift-filter-turns-');
const file = join(dir, 'conversations.jsonl');
const stories = readFileSync(join(examplesDir, 'tinystories-instructions.jsonl'), 'utf8')
  .trim()
  .split('\n')
  .map((l) => JSON.parse(l) as { instruction: string; output: string });
// Eight two-turn conversations; each second turn pairs an instruction with another story's text,
// so a record's last turn and its lowest turn rank the records differently.
const conversations = Array.from({ length: 8 }, (_, i) => {
  const [a, b, c] = [stories[i], stories[i + 8], stories[(i + 3) % 18]];
  return JSON.stringify({
    messages: [
      { role: 'user', content: a.instruction },
      { role: 'assistant', content: a.output },
      { role: 'user', content: b.instruction },
      { role: 'assistant', content: i % 2 === 0 ? b.output : c.output },
    ],
  });
});
writeFileSync(file, conversations.join('\n') + '\n');

let client: TestClient;
let uri: string;

before(async () => {
  client = await TestClient.start({ settings: { template: 'plain', metrics: ['ifd'], turnScore: 'min', threads: 1 } });
  uri = await client.open(file, readFileSync(file, 'utf8'));
});

after(async () => {
  await client.stop();
});

async function cliFilter(turnScore: string, out: string): Promise<string> {
  await run(process.execPath, [cliPath, 'filter', file, '--out', out, '--top', '50%', '--template', 'plain', '--metrics', 'ifd', '--turn-score', turnScore, '--quiet', '--threads', '1']);
  return readFileSync(out, 'utf8');
}

test("filterFile takes a conversation's IFD from its turns by turnScore, as sift filter does", async () => {
  await client.waitScored(uri);
  const out = join(dir, 'kept-editor.jsonl');
  const result = await client.execute<FilterResult>(Commands.filterFile, [uri, { outPath: out, topFraction: 0.5 }]);
  const byMin = await cliFilter('min', join(dir, 'kept-min.jsonl'));
  const byLast = await cliFilter('last', join(dir, 'kept-last.jsonl'));
  // The data must tell the two apart, or this test could not fail.
  assert.notEqual(byMin, byLast, 'the lowest turn and the last turn keep different records here');
  assert.equal(readFileSync(out, 'utf8'), byMin);
  assert.equal(result.kept, 4);
  assert.equal(result.total, 8);
});
