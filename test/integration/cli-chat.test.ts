// `sift score --template chat` and `sift filter --turn-score` on a multi-turn ShareGPT file with the
// bundled chat model: every assistant turn in `--out` as `turns`, the record's score chosen from them.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { sift } from '../helpers/cli';
import { bundledChatModel, examplesDir, tempDir } from '../helpers/paths';

const stories = readFileSync(join(examplesDir, 'tinystories-instructions.jsonl'), 'utf8')
  .split('\n')
  .filter(Boolean)
  .slice(0, 4)
  .map((line) => JSON.parse(line) as { instruction: string; output: string });

function conversationFile(): string {
  const dir = tempDir();
  const path = join(dir, 'multi.jsonl');
  const record = (a: (typeof stories)[number], b: (typeof stories)[number]) => ({
    conversations: [
      { from: 'human', value: a.instruction },
      { from: 'gpt', value: a.output },
      { from: 'human', value: b.instruction },
      { from: 'gpt', value: b.output },
    ],
  });
  writeFileSync(path, [record(stories[0], stories[1]), record(stories[2], stories[3])].map((r) => JSON.stringify(r)).join('\n') + '\n');
  return path;
}

interface Row {
  ifd: number;
  turns?: { ifd: number }[];
  notes?: string[];
}

test('sift score --template chat writes every turn and the record score the --turn-score asks for', () => {
  const dataset = conversationFile();
  const rows = (turnScore: string): Row[] => {
    const out = join(tempDir(), `${turnScore}.jsonl`);
    const result = sift(['score', dataset, '--template', 'chat', '--model', bundledChatModel, '--metrics', 'ifd', '--turn-score', turnScore, '--out', out, '-q', '--threads', '1']);
    assert.equal(result.status, 0, result.stderr);
    return readFileSync(out, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as Row);
  };
  const last = rows('last');
  for (const row of last) {
    assert.equal(row.turns?.length, 2);
    assert.equal(row.ifd, row.turns![1].ifd);
    assert.match(row.notes?.[0] ?? '', /not a token prefix/);
  }
  const min = rows('min');
  min.forEach((row, i) => assert.equal(row.ifd, Math.min(...last[i].turns!.map((t) => t.ifd))));
});

test('sift score --template chat with a model without a template falls back to plain and says so', () => {
  const dataset = conversationFile();
  const result = sift(['score', dataset, '--template', 'chat', '--metrics', 'ifd', '--threads', '1', '--no-cache']);
  assert.equal(result.status, 0, result.stderr);
  assert.match(result.stderr, /note: template chat: the model .* has no chat template .*; scored with the plain template instead/);
});
