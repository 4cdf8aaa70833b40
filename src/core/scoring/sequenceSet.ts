/**
 * The distinct token sequences of a chunk, each sent to the scorer once: records share sequences
 * (a conditioned span and its partner, duplicate records), and the earliest position any of them
 * needs is kept per sequence.
 *
 * Keyed by a hash of the ids with the arrays compared on a hit, not by `ids.join(',')`: joining
 * every sequence into a string (twice per span) was 8% of the client's CPU time per scored token.
 */
export class SequenceSet {
  readonly sequences: number[][] = [];
  /** Per sequence, the first position whose log-prob is needed. */
  readonly needFrom: number[] = [];
  private readonly byHash = new Map<number, number[]>();
  private readonly byIds = new Map<readonly number[], number>();

  /** The index of `ids` (added if new); `start` lowers the sequence's first needed position. */
  add(ids: number[], start: number): number {
    const hash = hashIds(ids);
    const bucket = this.byHash.get(hash);
    if (bucket !== undefined) {
      for (const index of bucket) {
        if (sameIds(this.sequences[index] as number[], ids)) {
          this.needFrom[index] = Math.min(this.needFrom[index] as number, start);
          this.byIds.set(ids, index);
          return index;
        }
      }
    }
    const index = this.sequences.length;
    this.sequences.push(ids);
    this.needFrom.push(start);
    if (bucket === undefined) this.byHash.set(hash, [index]);
    else bucket.push(index);
    this.byIds.set(ids, index);
    return index;
  }

  /** The index of an array given to {@link add} (the same array, not an equal one). */
  indexOf(ids: readonly number[]): number {
    const index = this.byIds.get(ids);
    if (index === undefined) throw new Error('a planned sequence was not added to the chunk');
    return index;
  }

  get totalTokens(): number {
    let total = 0;
    for (const s of this.sequences) total += s.length;
    return total;
  }
}

/** FNV-1a over the ids' 32-bit values, with the length mixed in. */
export function hashIds(ids: readonly number[]): number {
  let h = 0x811c9dc5 ^ ids.length;
  for (let i = 0; i < ids.length; i++) h = Math.imul(h ^ (ids[i] as number), 0x01000193);
  return h >>> 0;
}

export function sameIds(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
