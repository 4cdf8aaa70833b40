// `npm run demo`: the main job on the embedded default — the bundled TinyStories model, no server,
// no key. Scores the example datasets and filters one, printing each command exactly as it runs.
// `--print` prints the commands without running them.
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const printOnly = process.argv.includes('--print');
// Printing only creates nothing: the folder is then shown as the pattern it would be made from.
const out = printOnly ? join(tmpdir(), 'sift-demo-XXXXXX') : mkdtempSync(join(tmpdir(), 'sift-demo-'));
// --no-cache: the outputs go to a temporary folder, and so should nothing else; without it every run
// would leave a score store (.sift/) in examples/ and the next run would show stored scores.
const steps = [
  ['Score the TinyStories instruction set (IFD, r-IFD, DS weight) with the bundled model',
    ['score', 'examples/tinystories-instructions.jsonl', '--metrics', 'ifd,rifd,ds', '--valid', 'examples/tinystories-valid.jsonl', '--out', join(out, 'tinystories.scores.jsonl'), '--no-cache']],
  ['Keep what helps the student: drop IFD >= 1, then the top 50% by IFD',
    ['filter', 'examples/tinystories-instructions.jsonl', '--ifd-max', '1', '--top', '50%', '--out', join(out, 'tinystories.filtered.jsonl'), '--report', join(out, 'tinystories.report.json'), '--no-cache']],
  ['Other formats, detected per file (the tiny model only knows stories: real computations, not meaningful scores)',
    ['score', 'examples/sharegpt-sample.jsonl', '--metrics', 'ifd', '--no-cache']],
  ['', ['score', 'examples/messages-sample.jsonl', '--metrics', 'ifd', '--no-cache']],
  ['GSM8K candidates: self-consistent answers, then the lowest-DS 80%',
    ['filter', 'examples/gsm8k-candidates.jsonl', '--self-consistent', '--ds-keep', '80%', '--valid', 'examples/gsm8k-valid.jsonl', '--out', join(out, 'gsm8k.filtered.jsonl'), '--no-cache']],
  // IWSI, sampling: the student writes its own candidates. The 0-shot prompt because the tiny model's
  // 512-token context has no room for exemplars; one thread because a 260K model gains nothing from more.
  ['IWSI step 1, sampling: the student writes 4 chain-of-thought solutions for each of 8 GSM8K questions (real generation; the story model\'s answers are meaningless)',
    ['sample', 'examples/gsm8k-sample.jsonl', '--lines', '1-8', '--prompt', 'qa-0shot', '--k', '4', '--max-tokens', '24', '--threads', '1', '--out', join(out, 'gsm8k.candidates.jsonl'), '--no-cache']],
];
process.stdout.write(`Outputs go to ${out}; --no-cache keeps the demo from writing a score store into examples/.\n`);
let failed = false;
for (const [title, args] of steps) {
  if (title) process.stdout.write(`\n== ${title}\n`);
  process.stdout.write(`$ sift ${args.join(' ')}\n`);
  if (printOnly) continue;
  const result = spawnSync(process.execPath, ['bin/sift.js', ...args], { stdio: ['ignore', 'inherit', 'inherit'] });
  if (result.status !== 0) failed = true;
}
if (!printOnly) process.stdout.write(`\nOutputs in ${out}\n`);
process.exit(failed ? 1 : 0);
