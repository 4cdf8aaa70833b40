import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/** The repository root (tests run from out/test/..., compiled). */
export const repoRoot = resolve(__dirname, '..', '..', '..');
export const bundledModel = join(repoRoot, 'models', 'stories260K.gguf');
/** The same model with a chat template in its metadata (models/README.md). */
export const bundledChatModel = join(repoRoot, 'models', 'stories260K-chat.gguf');
export const cliPath = join(repoRoot, 'bin', 'sift.js');
export const examplesDir = join(repoRoot, 'examples');

export function tempDir(prefix = 'sift-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}
