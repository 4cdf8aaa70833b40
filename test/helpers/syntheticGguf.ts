/**
 * Writes a small llama-architecture GGUF with random weights and a vocabulary of any size, so the
 * tests and the benchmark can run the local engine at the vocabulary sizes real students have
 * (32k Llama 2 / Mistral, 152k Qwen, 256k Gemma) without downloading anything.
 *
 * The vocabulary starts with the bundled TinyStories model's 512 SentencePiece tokens (so text
 * tokenizes as it does there: specials, byte fallbacks, pieces) and is padded with pieces that no
 * text produces. The output layer is tied to the token embedding (no `output.weight`), as in the
 * bundled model, so the cost of the logits grows with the vocabulary exactly as in a real model.
 *
 * Format: GGUF v3 (ggml's docs/gguf.md): header, metadata key/values, tensor infos, padding to
 * `general.alignment`, then the F32 tensor data, each tensor aligned.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import type { NodeLlamaCpp } from '../../src/core/scoring/local/llamaTypes';
import { seededRandom } from './random';

export interface SyntheticModelOptions {
  vocabulary: number;
  /** Tokens, scores and types of the first entries (e.g. from the bundled model). */
  baseTokens: { tokens: string[]; scores: number[]; types: number[] };
  embedding?: number;
  layers?: number;
  feedForward?: number;
  heads?: number;
  kvHeads?: number;
  contextLength?: number;
  seed?: number;
}

const ALIGNMENT = 32;
const enum ValueType {
  UINT32 = 4,
  INT32 = 5,
  FLOAT32 = 6,
  BOOL = 7,
  STRING = 8,
  ARRAY = 9,
}
const GGML_TYPE_F32 = 0;

/** A growable little-endian byte buffer. */
class Bytes {
  private buffer = Buffer.alloc(1 << 16);
  length = 0;

  private room(n: number): void {
    if (this.length + n <= this.buffer.length) return;
    const next = Buffer.alloc(Math.max(this.buffer.length * 2, this.length + n));
    this.buffer.copy(next, 0, 0, this.length);
    this.buffer = next;
  }
  u32(v: number): void {
    this.room(4);
    this.buffer.writeUInt32LE(v, this.length);
    this.length += 4;
  }
  i32(v: number): void {
    this.room(4);
    this.buffer.writeInt32LE(v, this.length);
    this.length += 4;
  }
  u64(v: number): void {
    this.room(8);
    this.buffer.writeBigUInt64LE(BigInt(v), this.length);
    this.length += 8;
  }
  f32(v: number): void {
    this.room(4);
    this.buffer.writeFloatLE(v, this.length);
    this.length += 4;
  }
  u8(v: number): void {
    this.room(1);
    this.buffer.writeUInt8(v, this.length);
    this.length += 1;
  }
  string(s: string): void {
    const bytes = Buffer.from(s, 'utf8');
    this.u64(bytes.length);
    this.room(bytes.length);
    bytes.copy(this.buffer, this.length);
    this.length += bytes.length;
  }
  pad(alignment: number): void {
    while (this.length % alignment !== 0) this.u8(0);
  }
  view(): Buffer {
    return this.buffer.subarray(0, this.length);
  }
}

type Value =
  | { type: ValueType.UINT32 | ValueType.INT32 | ValueType.FLOAT32; value: number }
  | { type: ValueType.BOOL; value: boolean }
  | { type: ValueType.STRING; value: string }
  | { type: ValueType.ARRAY; of: ValueType.STRING; value: string[] }
  | { type: ValueType.ARRAY; of: ValueType.FLOAT32 | ValueType.INT32; value: number[] };

function writeValue(out: Bytes, v: Value): void {
  out.u32(v.type);
  switch (v.type) {
    case ValueType.UINT32:
      return out.u32(v.value);
    case ValueType.INT32:
      return out.i32(v.value);
    case ValueType.FLOAT32:
      return out.f32(v.value);
    case ValueType.BOOL:
      return out.u8(v.value ? 1 : 0);
    case ValueType.STRING:
      return out.string(v.value);
    case ValueType.ARRAY:
      out.u32(v.of);
      out.u64(v.value.length);
      for (const item of v.value) {
        if (v.of === ValueType.STRING) out.string(item as string);
        else if (v.of === ValueType.FLOAT32) out.f32(item as number);
        else out.i32(item as number);
      }
  }
}

export function writeSyntheticModel(path: string, options: SyntheticModelOptions): void {
  const d = options.embedding ?? 64;
  const layers = options.layers ?? 2;
  const ff = options.feedForward ?? 172;
  const heads = options.heads ?? 8;
  const kvHeads = options.kvHeads ?? 4;
  const kvDim = (d / heads) * kvHeads;
  const V = options.vocabulary;
  const base = options.baseTokens;
  if (V < base.tokens.length) throw new Error(`vocabulary ${V} is smaller than the ${base.tokens.length} base tokens`);

  const tokens = base.tokens.slice();
  const scores = base.scores.slice();
  const types = base.types.slice();
  // Padding pieces: normal tokens (type 1) with the lowest scores, which no text of the base
  // vocabulary's pieces merges into (the SentencePiece merges follow scores).
  for (let i = tokens.length; i < V; i++) {
    tokens.push(`\u2581zz${i.toString(36)}`);
    scores.push(-1e6 - i);
    types.push(1);
  }

  const metadata: [string, Value][] = [
    ['general.architecture', { type: ValueType.STRING, value: 'llama' }],
    ['general.name', { type: ValueType.STRING, value: `synthetic-${V}` }],
    ['general.alignment', { type: ValueType.UINT32, value: ALIGNMENT }],
    ['llama.context_length', { type: ValueType.UINT32, value: options.contextLength ?? 512 }],
    ['llama.embedding_length', { type: ValueType.UINT32, value: d }],
    ['llama.block_count', { type: ValueType.UINT32, value: layers }],
    ['llama.feed_forward_length', { type: ValueType.UINT32, value: ff }],
    ['llama.attention.head_count', { type: ValueType.UINT32, value: heads }],
    ['llama.attention.head_count_kv', { type: ValueType.UINT32, value: kvHeads }],
    ['llama.attention.layer_norm_rms_epsilon', { type: ValueType.FLOAT32, value: 1e-5 }],
    ['llama.rope.dimension_count', { type: ValueType.UINT32, value: d / heads }],
    ['llama.rope.freq_base', { type: ValueType.FLOAT32, value: 10000 }],
    ['tokenizer.ggml.model', { type: ValueType.STRING, value: 'llama' }],
    ['tokenizer.ggml.tokens', { type: ValueType.ARRAY, of: ValueType.STRING, value: tokens }],
    ['tokenizer.ggml.scores', { type: ValueType.ARRAY, of: ValueType.FLOAT32, value: scores }],
    ['tokenizer.ggml.token_type', { type: ValueType.ARRAY, of: ValueType.INT32, value: types }],
    ['tokenizer.ggml.unknown_token_id', { type: ValueType.UINT32, value: 0 }],
    ['tokenizer.ggml.bos_token_id', { type: ValueType.UINT32, value: 1 }],
    ['tokenizer.ggml.eos_token_id', { type: ValueType.UINT32, value: 2 }],
    ['tokenizer.ggml.add_bos_token', { type: ValueType.BOOL, value: true }],
    ['tokenizer.ggml.add_eos_token', { type: ValueType.BOOL, value: false }],
  ];

  // ggml order: ne[0] first (the row length).
  const tensors: { name: string; dims: number[]; norm: boolean }[] = [{ name: 'token_embd.weight', dims: [d, V], norm: false }, { name: 'output_norm.weight', dims: [d], norm: true }];
  for (let l = 0; l < layers; l++) {
    tensors.push(
      { name: `blk.${l}.attn_norm.weight`, dims: [d], norm: true },
      { name: `blk.${l}.attn_q.weight`, dims: [d, d], norm: false },
      { name: `blk.${l}.attn_k.weight`, dims: [d, kvDim], norm: false },
      { name: `blk.${l}.attn_v.weight`, dims: [d, kvDim], norm: false },
      { name: `blk.${l}.attn_output.weight`, dims: [d, d], norm: false },
      { name: `blk.${l}.ffn_norm.weight`, dims: [d], norm: true },
      { name: `blk.${l}.ffn_gate.weight`, dims: [d, ff], norm: false },
      { name: `blk.${l}.ffn_down.weight`, dims: [ff, d], norm: false },
      { name: `blk.${l}.ffn_up.weight`, dims: [d, ff], norm: false },
    );
  }

  const header = new Bytes();
  header.u32(0x46554747); // "GGUF"
  header.u32(3);
  header.u64(tensors.length);
  header.u64(metadata.length);
  for (const [key, value] of metadata) {
    header.string(key);
    writeValue(header, value);
  }
  let offset = 0;
  const sizes = tensors.map((t) => t.dims.reduce((a, b) => a * b, 1) * 4);
  tensors.forEach((t, i) => {
    header.string(t.name);
    header.u32(t.dims.length);
    for (const n of t.dims) header.u64(n);
    header.u32(GGML_TYPE_F32);
    header.u64(offset);
    offset += Math.ceil((sizes[i] as number) / ALIGNMENT) * ALIGNMENT;
  });
  header.pad(ALIGNMENT);

  const rnd = seededRandom(options.seed ?? 7); // deterministic weights, so a failure reproduces
  const fd = openSync(path, 'w');
  try {
    writeSync(fd, header.view());
    tensors.forEach((t, i) => {
      const size = sizes[i] as number;
      const data = new Float32Array(size / 4);
      // RMS-norm weights 1; other weights uniform in ±sqrt(3/fan_in) (unit variance per output),
      // and the embedding larger, so the logits spread like a trained model's (a few nats).
      const fanIn = t.dims[0] as number;
      const scale = t.name === 'token_embd.weight' ? 1 : Math.sqrt(3 / fanIn);
      for (let k = 0; k < data.length; k++) data[k] = t.norm ? 1 : (rnd() * 2 - 1) * scale;
      writeSync(fd, Buffer.from(data.buffer));
      const padding = Math.ceil(size / ALIGNMENT) * ALIGNMENT - size;
      if (padding > 0) writeSync(fd, Buffer.alloc(padding));
    });
  } finally {
    closeSync(fd);
  }
}

/** The bundled model's tokenizer entries, the first entries of every synthetic vocabulary. */
export async function baseTokensOf(modelPath: string): Promise<SyntheticModelOptions['baseTokens']> {
  const { readGgufFileInfo } = (await import('node-llama-cpp')) as NodeLlamaCpp;
  const info = await readGgufFileInfo(modelPath);
  const ggml = (info.metadata as unknown as { tokenizer: { ggml: { tokens: string[]; scores: number[]; token_type: number[] } } }).tokenizer.ggml;
  return { tokens: [...ggml.tokens], scores: [...ggml.scores], types: [...ggml.token_type] };
}
