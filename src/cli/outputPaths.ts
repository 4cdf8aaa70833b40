import { realpathSync, statSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { defaultStorePath } from '../core/store';
import type { ResolvedScoreSettings } from './settings';
import { UsageError } from './usage';

/** A file the command reads or writes, named as the user gave it (for messages). */
export interface NamedPath {
  /** What it is, as the user knows it: `dataset`, `--out`, `--store`... */
  role: string;
  path: string;
  /** The command creates a missing directory itself (the score store's `.sift/`). */
  createsDirectory?: boolean;
}

/**
 * Checks every output of a command before any work starts: its directory exists, and it is neither
 * an input (the same file, also through a symbolic or hard link) nor another output. Writing a
 * result over the dataset destroys it and cannot be undone; failing after an hour of scoring because
 * a directory is missing loses the hour.
 */
export function checkOutputPaths(inputs: NamedPath[], outputs: NamedPath[]): void {
  const seen: { named: NamedPath; identity: string; output: boolean }[] = [];
  for (const input of inputs) seen.push({ named: input, identity: fileIdentity(input.path), output: false });
  for (const output of outputs) {
    const directory = dirname(resolve(output.path));
    let isDirectory = false;
    try {
      isDirectory = statSync(directory).isDirectory();
    } catch {
      // Reported below.
    }
    if (!isDirectory && !output.createsDirectory) throw new UsageError(`${output.role}: directory not found: ${relative(process.cwd(), directory) || directory}`);
    if (isDirectoryPath(output.path)) throw new UsageError(`${output.role} ${output.path} is a directory: give a file name`);
    const identity = fileIdentity(output.path);
    const clash = seen.find((s) => s.identity === identity);
    if (clash) {
      const what = clash.output ? `the same file as ${clash.named.role}` : `the ${clash.named.role} (${clash.named.path})`;
      throw new UsageError(`${output.role} ${output.path} is ${what}: refusing to overwrite it; choose another path`);
    }
    seen.push({ named: output, identity, output: true });
  }
}

/** `checkOutputPaths` for a scoring command: the dataset, valid set and model are inputs, the store is also written. */
export function checkScoringOutputPaths(datasetPath: string, settings: ResolvedScoreSettings, outputs: { role: string; path: string | undefined }[]): void {
  const inputs: NamedPath[] = [{ role: 'dataset', path: datasetPath }];
  if (settings.validPath) inputs.push({ role: 'valid set', path: settings.validPath });
  if (settings.scorer.modelPath) inputs.push({ role: 'model', path: settings.scorer.modelPath });
  const store: NamedPath[] = settings.useCache ? [{ role: '--store', path: scoreStorePath(datasetPath, settings), createsDirectory: true }] : [];
  checkOutputPaths(inputs, [...store, ...outputs.flatMap((o) => (o.path ? [{ role: o.role, path: o.path }] : []))]);
}

/** Where a scoring command keeps its scores. */
export function scoreStorePath(datasetPath: string, settings: ResolvedScoreSettings): string {
  return settings.storePath ?? defaultStorePath(datasetPath);
}

function isDirectoryPath(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/**
 * One string per file: device and inode for a file that exists (so hard links match), else the
 * real path of its directory joined with its name (so symbolic links to the directory match).
 */
function fileIdentity(path: string): string {
  const absolute = resolve(path);
  try {
    const stat = statSync(absolute);
    return `inode:${stat.dev}:${stat.ino}`;
  } catch {
    try {
      return `path:${join(realpathSync(dirname(absolute)), basename(absolute))}`;
    } catch {
      return `path:${absolute}`;
    }
  }
}
