// The synthetic fleet's model, in closed form, so every score of a million-record run can be checked.
//
// Tokenizer: a text is cut, from its start, into pieces of at most 4 code points (about the
// characters per token of an English BPE vocabulary, so the client handles as many characters per
// token as it would for real); a piece's id is 3 + (FNV-1a of the piece mod 50,000). Like a real
// BPE, tok(a) + tok(b) is not tok(a + b) when a's length is not a multiple of 4: the clean and the
// faithful boundaries differ, as they do for real. BOS = 1 (added only with add_special_tokens).
// Log-prob: log p(cur | prev) = -ln(V) - ((31 cur + 17 prev) mod 97) / 100, the rule of the test
// fakes (test/helpers/fake-server.ts) over this vocabulary.
export const FLEET_BOS = 1;
export const FLEET_VOCAB = 50_003;
const PIECE = 4;
const LOG_V = Math.log(FLEET_VOCAB);

/** Text of each id seen, for `decoded_token` (the vocabulary is small, so this stays small). */
const pieces = new Map();

function pieceId(piece) {
  let h = 0x811c9dc5;
  for (let i = 0; i < piece.length; i++) {
    h ^= piece.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  const id = 3 + (h % 50_000);
  if (!pieces.has(id)) pieces.set(id, piece);
  return id;
}

export function fleetTokenize(text, addSpecialTokens) {
  const ids = addSpecialTokens ? [FLEET_BOS] : [];
  const chars = Array.from(text);
  for (let i = 0; i < chars.length; i += PIECE) ids.push(pieceId(chars.slice(i, i + PIECE).join('')));
  return ids;
}

export function fleetDecode(id) {
  if (id === FLEET_BOS) return '<s>';
  return pieces.get(id) ?? '';
}

export function fleetLogprob(prev, cur) {
  return -LOG_V - ((31 * cur + 17 * prev) % 97) / 100;
}

/** Mean NLL of ids[start..end) given everything before (the loss Sift reports), and the count. */
export function fleetMeanNll(ids, start, end) {
  let sum = 0;
  for (let j = start; j < end; j++) sum -= fleetLogprob(ids[j - 1], ids[j]);
  return { mean: sum / (end - start), n: end - start };
}
