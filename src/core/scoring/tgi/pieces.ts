/**
 * What the TGI scorer remembers of the texts it tokenized (the ids and byte offsets `/tokenize`
 * returned), so that a token-id sequence built from them can be turned back into text (TGI
 * takes text, not ids; see the header of client.ts).
 */

export interface Piece {
  ids: number[];
  text: string;
  /** Byte offsets of each token within `text`. */
  starts: number[];
  stops: number[];
}

/** The first `n` tokens of a piece, with the text they cover (byte offsets are into UTF-8). */
function truncatePiece(piece: Piece, n: number): Piece {
  const end = piece.stops[n - 1] as number;
  return {
    ids: piece.ids.slice(0, n),
    text: Buffer.from(piece.text, 'utf8').subarray(0, end).toString('utf8'),
    starts: piece.starts.slice(0, n),
    stops: piece.stops.slice(0, n),
  };
}

/** Two-generation memory of tokenized texts, indexed by their first token id. */
export class PieceMemory {
  private current = new Map<number, Piece[]>();
  private previous = new Map<number, Piece[]>();
  private count = 0;
  constructor(private readonly limit: number) {}

  add(p: Piece): void {
    const first = p.ids[0];
    if (first === undefined) return;
    const list = this.current.get(first) ?? [];
    if (list.some((q) => q.text === p.text)) return;
    list.push(p);
    list.sort((a, b) => b.ids.length - a.ids.length);
    this.current.set(first, list);
    if (++this.count >= this.limit) {
      this.previous = this.current;
      this.current = new Map();
      this.count = 0;
    }
  }

  candidates(first: number): Piece[] {
    return [...(this.current.get(first) ?? []), ...(this.previous.get(first) ?? [])];
  }

  /** Split `ids[from..]` into remembered pieces; undefined when they do not cover it. */
  segment(ids: readonly number[], from: number): Piece[] | undefined {
    const failed = new Set<number>();
    const go = (p: number): Piece[] | undefined => {
      if (p === ids.length) return [];
      if (failed.has(p)) return undefined;
      for (const piece of this.candidates(ids[p] as number)) {
        if (p + piece.ids.length > ids.length) continue;
        let match = true;
        for (let k = 0; k < piece.ids.length; k++) {
          if (ids[p + k] !== piece.ids[k]) {
            match = false;
            break;
          }
        }
        if (!match) continue;
        const rest = go(p + piece.ids.length);
        if (rest) return [piece, ...rest];
      }
      // A sequence cut on the right (longer than the context, or a direct span fitted to its
      // conditioned partner) ends inside a piece: its text is the piece's text up to the last kept
      // token's end.
      for (const piece of this.candidates(ids[p] as number)) {
        const n = ids.length - p;
        if (n >= piece.ids.length || piece.ids.slice(0, n).some((id, k) => id !== ids[p + k])) continue;
        return [truncatePiece(piece, n)];
      }
      failed.add(p);
      return undefined;
    };
    return go(from);
  }
}
