/**
 * The order a document's records are scored in: the records on screen first, shortest first, then
 * the others in line order (screenFirst), and a job's queue reordered to it (Job.prioritize).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SiftDocument } from '../../src/server/document';
import { Job } from '../../src/server/scheduler';
import { screenFirst } from '../../src/server/screenFirst';

/** A record line whose length is set by its output. */
function record(output: string): string {
  return JSON.stringify({ instruction: 'Say it.', input: '', output });
}

// Lines 0..7; lengths by hand: the outputs differ only in length, so line i is longer than line j
// exactly when its output is.
const outputs = ['a a a a a a', 'b b b', 'c c c c c c c c', 'd', 'e e', 'f f f f f f f f f f', 'g g g', 'h'];
const lines = outputs.map(record);

function documentWith(pending: number[], onScreen?: { from: number; to: number }): SiftDocument {
  const doc = new SiftDocument('file:///tmp/order.jsonl', 1, lines.join('\n') + '\n', undefined);
  for (const line of pending) doc.pending.set(lines[line], 1);
  doc.onScreen = onScreen;
  return doc;
}

test('records on screen come first, shortest first; the others follow in line order', () => {
  const doc = documentWith([0, 1, 2, 3, 4, 5, 6, 7], { from: 2, to: 5 });
  // On screen: lines 2 (output of 15 characters), 3 (1), 4 (3), 5 (19) -> 3, 4, 2, 5; then 0, 1, 6, 7.
  assert.deepEqual(screenFirst(doc, 0, 7), [3, 4, 2, 5, 0, 1, 6, 7].map((i) => lines[i]));
});

test('only records waiting to be scored are listed, each text once, within the range asked', () => {
  const doc = documentWith([0, 2, 3, 5, 6], { from: 2, to: 5 });
  assert.deepEqual(screenFirst(doc, 1, 6), [3, 2, 5, 6].map((i) => lines[i]));
  const twice = new SiftDocument('file:///tmp/twice.jsonl', 1, [lines[1], lines[0], lines[1]].join('\n') + '\n', undefined);
  twice.pending.set(lines[0], 1);
  twice.pending.set(lines[1], 1);
  twice.onScreen = { from: 0, to: 2 };
  assert.deepEqual(screenFirst(twice, 0, 2), [lines[1], lines[0]]);
});

test('without a screen (an editor that never said), line order', () => {
  const doc = documentWith([5, 1, 3]);
  assert.deepEqual(screenFirst(doc, 0, 7), [1, 3, 5].map((i) => lines[i]));
});

test('records of the same length keep their line order', () => {
  const same = ['x x', 'y y', 'z'].map(record);
  const doc = new SiftDocument('file:///tmp/same.jsonl', 1, same.join('\n') + '\n', undefined);
  for (const text of same) doc.pending.set(text, 1);
  doc.onScreen = { from: 0, to: 2 };
  assert.deepEqual(screenFirst(doc, 0, 2), [same[2], same[0], same[1]]);
});

test('a job takes the prioritized records first, in the order given, then the rest as queued', () => {
  const doc = new SiftDocument('file:///tmp/job.jsonl', 1, '', undefined);
  const job = new Job(doc, 'score', 0, ['ifd']);
  const items = ['r0', 'r1', 'r2', 'r3', 'r4', 'r5'].map((text) => ({ text, pair: { instruction: text, input: '', response: text, history: [] } }));
  job.add(items);
  job.prioritize(['r4', 'nowhere', 'r1', 'r3']);
  assert.deepEqual(job.take(1_000_000, 100).map((item) => item.text), ['r4', 'r1', 'r3', 'r0', 'r2', 'r5']);
});

test('a document says when the editor has said which lines are on screen, or gives up after a time', async () => {
  const doc = documentWith([0, 1]);
  let known = false;
  const waiting = doc.screenKnown(60_000).then(() => (known = true));
  await Promise.resolve();
  assert.equal(known, false);
  doc.onScreen = { from: 0, to: 1 };
  await waiting;
  assert.equal(known, true);
  // Known already: at once. Never said: after the time given.
  await doc.screenKnown(60_000);
  await documentWith([0]).screenKnown(1);
});
