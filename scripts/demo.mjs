// `npm run demo`: the main job on the embedded default — the bundled TinyStories model, no server,
// no key. Scores the example datasets and filters one, printing what `sift` prints.
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const out = mkdtempSync(join(tmpdir(), 'sift-demo-'));
const steps = [
  ['Score the TinyStories instruction set (IFD, r-IFD, DS weight) with the bundled model',
    ['score', 'examples/tinystories-instructions.jsonl', '--metrics', 'ifd,rifd,ds', '--valid', 'examples/tinystories-valid.jsonl', '--out', join(out, 'tinystories.scores.jsonl')]],
  ['Keep what helps the student: drop IFD >= 1, then the top 50% by IFD',
    ['filter', 'examples/tinystories-instructions.jsonl', '--ifd-max', '1', '--top', '50%', '--out', join(out, 'tinystories.filtered.jsonl'), '--report', join(out, 'tinystories.report.json')]],
  ['Other formats, detected per file (the tiny model only knows stories: real computations, not meaningful scores)',
    ['score', 'examples/sharegpt-sample.jsonl', '--metrics', 'ifd']],
  ['', ['score', 'examples/messages-sample.jsonl', '--metrics', 'ifd']],
  ['GSM8K candidates: self-consistent answers, then the lowest-DS 80%',
    ['filter', 'examples/gsm8k-candidates.jsonl', '--self-consistent', '--ds-keep', '80%', '--valid', 'examples/gsm8k-valid.jsonl', '--out', join(out, 'gsm8k.filtered.jsonl')]],
];
let failed = false;
for (const [title, args] of steps) {
  if (title) process.stdout.write(`\n== ${title}\n$ sift ${args.join(' ')}\n`);
  else process.stdout.write(`$ sift ${args.join(' ')}\n`);
  const result = spawnSync(process.execPath, ['bin/sift.js', ...args, '--no-cache'], { stdio: ['ignore', 'inherit', 'inherit'] });
  if (result.status !== 0) failed = true;
}
process.stdout.write(`\nOutputs in ${out}\n`);
process.exit(failed ? 1 : 0);
