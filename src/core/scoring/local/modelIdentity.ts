import { createHash } from 'node:crypto';
import { open, stat } from 'node:fs/promises';
import { basename } from 'node:path';

/** Bytes read from each end of a GGUF file to identify it. */
const EDGE_BYTES = 4 * 1024 * 1024;

/**
 * A content identity for a GGUF file, used in score-store keys so that scores follow the weights,
 * not the path. Hashing a multi-GB model in full would add seconds to every start, so we hash the
 * size plus the first and last 4 MiB: the header (architecture, tokenizer, tensor table) and the last
 * tensors. Two different fine-tunes of one base model differ there in practice.
 */
export async function ggufIdentity(modelPath: string): Promise<string> {
  const { size } = await stat(modelPath);
  const hash = createHash('sha256');
  hash.update(String(size));
  const handle = await open(modelPath, 'r');
  try {
    const head = Buffer.alloc(Math.min(EDGE_BYTES, size));
    await handle.read(head, 0, head.length, 0);
    hash.update(head);
    if (size > EDGE_BYTES) {
      const tailLength = Math.min(EDGE_BYTES, size - EDGE_BYTES);
      const tail = Buffer.alloc(tailLength);
      await handle.read(tail, 0, tailLength, size - tailLength);
      hash.update(tail);
    }
  } finally {
    await handle.close();
  }
  return `gguf:${basename(modelPath)}:${hash.digest('hex').slice(0, 16)}`;
}
