// A deterministic instruction dataset in the bundled model's language: each record's instruction
// summarises its story, built from the example stories' sentences. Same seed, same file.
import { readFileSync, writeFileSync } from 'node:fs';

function rng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

export function writeStoryDataset(path, records, seed = 7) {
  const examples = readFileSync(new URL('../examples/tinystories-instructions.jsonl', import.meta.url), 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line));
  const sentences = examples.flatMap((r) => r.output.split(/(?<=[.!?"])\s+/));
  const instructions = examples.map((r) => r.instruction);
  const next = rng(seed);
  const pick = (list) => list[Math.floor(next() * list.length)];
  const lines = [];
  for (let i = 0; i < records; i++) {
    const n = 4 + Math.floor(next() * 6);
    const story = Array.from({ length: n }, () => pick(sentences)).join(' ');
    lines.push(JSON.stringify({ instruction: pick(instructions), input: '', output: story }));
  }
  writeFileSync(path, lines.join('\n') + '\n');
}
