/**
 * `--shard i/n`: n machines score disjoint parts of one dataset against the same fleet (a
 * Kubernetes indexed job, a Slurm array), each with `--shard $INDEX/n`. A record's shard is a
 * stable hash of its line's text, so the parts cover the file exactly once whatever order the lines
 * are in, and every run (and every machine) puts a record in the same part; identical lines share
 * a part (and a stored score).
 */
import { createHash } from 'node:crypto';

export interface Shard {
  /** 0-based: 0 .. count - 1. */
  index: number;
  count: number;
}

/** `i/n` with 0 <= i < n; throws an Error saying what is expected. */
export function parseShard(text: string): Shard {
  const match = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  const index = Number(match?.[1]);
  const count = Number(match?.[2]);
  if (!match || !Number.isSafeInteger(count) || count < 1 || index >= count) {
    throw new Error(`--shard expects i/n with n >= 1 and 0 <= i < n, e.g. 0/4 (got "${text}")`);
  }
  return { index, count };
}

/** The shard (0 .. count - 1) of a line: the first 6 bytes of its SHA-256, modulo count. */
export function shardOf(lineText: string, count: number): number {
  const digest = createHash('sha256').update(lineText.replace(/\s+$/, '')).digest();
  return digest.readUIntBE(0, 6) % count;
}

export function inShard(lineText: string, shard: Shard | undefined): boolean {
  return shard === undefined || shard.count === 1 || shardOf(lineText, shard.count) === shard.index;
}
