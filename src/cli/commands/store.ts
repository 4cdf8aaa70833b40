import type { Command } from 'commander';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { writeAtomically } from '../../core/io/atomicWrite';
import { exportLines, ImportLineError, importLines, mergeStores } from '../../core/store/exchange';
import { folderStorePath } from '../../core/store/location';
import { checkOutputPaths } from '../outputPaths';
import { EXIT_OK, exitWith, UsageError } from '../usage';

/** A store argument: a database file, or a folder (its `.sift/sift.db`); the default is the current folder's. */
export function storeArgument(arg: string | undefined): string {
  const path = resolve(arg ?? '.');
  return existsSync(path) && statSync(path).isDirectory() ? folderStorePath(path) : path;
}

/** `sift store export|import|merge`: the store database as sorted JSON lines, and the merge of several stores. */
export function registerStore(program: Command): void {
  const store = program
    .command('store')
    .description('the score store (.sift/sift.db): export it as sorted JSON lines to commit and review, import such a file, merge stores (e.g. of shards scored on several machines)');
  store
    .command('export [store]')
    .description('write every score and reflection as JSON lines sorted by key (deterministic: the same store gives the same bytes); store: a .db file or a folder (default: ./.sift/sift.db)')
    .option('--out <file>', 'write to this file (atomically) instead of standard output')
    .action(exitWith(exportCommand));
  store
    .command('import <file>')
    .description('bring in the entries of an export (or an old scores.jsonl / reflections.jsonl); an entry already there is replaced only by a later one')
    .option('--store <store>', 'the store to import into: a .db file or a folder (default: ./.sift/sift.db)')
    .action(exitWith(importCommand));
  store
    .command('merge <target> <sources...>')
    .description('copy every entry of the source stores into the target store (created when missing); entries are content-addressed, so shards never conflict')
    .action(exitWith(mergeCommand));
}

async function exportCommand(storeArg: string | undefined, flags: { out?: string }): Promise<number> {
  const path = storeArgument(storeArg);
  if (!existsSync(path)) throw new UsageError(`${storeArg ?? '.'}: no store here (${path} does not exist)`);
  if (flags.out) {
    checkOutputPaths([{ role: 'store', path }], [{ role: '--out', path: flags.out }]);
    let count = 0;
    await writeAtomically(flags.out, async (write) => {
      for (const line of exportLines(path)) {
        await write(line + '\n');
        count++;
      }
    });
    process.stderr.write(`exported ${count} entries to ${flags.out}\n`);
    return EXIT_OK;
  }
  for (const line of exportLines(path)) {
    if (!process.stdout.write(line + '\n')) await new Promise((done) => process.stdout.once('drain', done));
  }
  return EXIT_OK;
}

async function importCommand(file: string, flags: { store?: string }): Promise<number> {
  if (!existsSync(file)) throw new UsageError(`${file}: no such file`);
  const path = storeArgument(flags.store);
  const lines = createInterface({ input: createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity });
  try {
    const counts = await importLines(path, lines, file);
    process.stderr.write(`imported ${counts.scores} score(s) and ${counts.reflections} reflection(s) into ${path}\n`);
  } catch (error) {
    if (error instanceof ImportLineError) throw new UsageError(`${error.message}; nothing was imported`);
    throw error;
  }
  return EXIT_OK;
}

async function mergeCommand(target: string, sources: string[]): Promise<number> {
  const into = storeArgument(target);
  const from = sources.map((s) => storeArgument(s));
  for (const [i, source] of from.entries()) if (!existsSync(source)) throw new UsageError(`${sources[i]}: no store here (${source} does not exist)`);
  const counts = mergeStores(into, from);
  process.stderr.write(`merged ${from.length} store(s) into ${into}: ${counts.scores} score(s) and ${counts.reflections} reflection(s) added or updated\n`);
  return EXIT_OK;
}
