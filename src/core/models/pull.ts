import { createHash } from 'node:crypto';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { loadNodeLlamaCpp } from '../scoring/local/llamaRuntime';
import { catalogueModel } from './catalogue';
import { readManifest, recordPulled, sourceOf, type ChecksumOrigin, type PulledModel } from './store';

export interface PullRequest {
  /** A catalogue name, a `hf:` URI (`hf:user/repo/file.gguf`) or an http(s) URL. */
  name: string;
  dir: string;
  /** Expected sha256 (hex); default: the catalogue's, if it has one. */
  sha256?: string;
  /** Where `hf:` URIs resolve (default: node-llama-cpp's: $MODEL_ENDPOINT, $HF_ENDPOINT, else Hugging Face). */
  hfEndpoint?: string;
  onProgress?: (progress: { downloaded: number; total: number }) => void;
  signal?: AbortSignal;
}

/** How long the first answer (the file's size) may take: the downloader itself retries for many minutes. */
const FIRST_ANSWER_MS = 60_000;

export interface PullResult extends PulledModel {
  path: string;
  /** The file was there and matched its checksum: nothing was downloaded. */
  reused: boolean;
}

/** The download was stopped; what arrived is kept and the same pull resumes from it. */
export class DownloadPaused extends Error {
  override name = 'DownloadPaused';
}

/** The file's checksum is not the expected one; the file was deleted. */
export class ChecksumMismatch extends Error {
  override name = 'ChecksumMismatch';
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * Downloads a model into `dir` with node-llama-cpp's own downloader (ipull underneath: a `.ipull`
 * file beside the target holds what has arrived, so a stopped or dropped download resumes where it
 * left off, and the file appears under its final name only when complete), then checks its sha256:
 * against the one given or published, else against the one recorded by its first download, else
 * records it. A mismatch deletes the file. A file already pulled is checked and reused.
 */
export async function pullModel(request: PullRequest): Promise<PullResult> {
  const source = sourceOf(request.name);
  const given = request.sha256?.trim().toLowerCase();
  if (given !== undefined && !/^[0-9a-f]{64}$/.test(given)) throw new Error(`a sha256 is 64 hex digits (got "${request.sha256}")`);
  const published = catalogueModel(request.name)?.sha256;
  await mkdir(request.dir, { recursive: true });
  const previous = readManifest(request.dir).find((m) => m.source === source);
  const expected: { sha256: string; origin: ChecksumOrigin } | undefined = given
    ? { sha256: given, origin: 'given' }
    : published
      ? { sha256: published, origin: 'catalogue' }
      : previous
        ? { sha256: previous.sha256, origin: previous.checksum }
        : undefined;

  // Pulled before: checked against its checksum, without the network; a changed file is downloaded afresh.
  if (previous) {
    const previousPath = join(request.dir, previous.file);
    if (existsSync(previousPath) && statSync(previousPath).size === previous.bytes) {
      const sha256 = await sha256File(previousPath);
      if (sha256 === expected?.sha256) return { ...previous, sha256, path: previousPath, reused: true };
    }
    await rm(previousPath, { force: true });
  }

  const { createModelDownloader } = await loadNodeLlamaCpp();
  const downloader = await untilAnswered(createModelDownloader({
    modelUri: source,
    dirPath: request.dir,
    // Kept on cancel: the next pull resumes from it.
    deleteTempFileOnCancel: false,
    // A file of the remote size is taken as downloaded; its checksum decides below.
    skipExisting: true,
    parallelDownloads: 1,
    endpoints: request.hfEndpoint ? { huggingFace: request.hfEndpoint } : undefined,
    onProgress: request.onProgress && ((status) => request.onProgress!({ downloaded: status.downloadedSize, total: status.totalSize })),
  }), request);
  if (downloader.totalFiles !== 1) {
    await downloader.cancel({ deleteTempFile: true });
    throw new Error(`${request.name} is split into ${downloader.totalFiles} files; Sift pulls single-file GGUF models`);
  }
  const path = await downloader.download({ signal: request.signal }).catch((error: unknown) => {
    if (request.signal?.aborted) throw paused(downloader.downloadedSize, downloader.totalSize);
    throw error;
  });
  // Cancelling through the signal can also end the download without an error.
  if (request.signal?.aborted || !existsSync(path)) throw paused(downloader.downloadedSize, downloader.totalSize);

  const sha256 = await sha256File(path);
  if (expected && sha256 !== expected.sha256) {
    await rm(path, { force: true });
    throw new ChecksumMismatch(
      `${request.name}: the downloaded file's sha256 is ${sha256}, expected ${expected.sha256} (${expected.origin}); the file was deleted, pull again to download it afresh`,
    );
  }
  const entry: PulledModel = { source, file: downloader.entrypointFilename, bytes: statSync(path).size, sha256, checksum: expected?.origin ?? 'first download' };
  await recordPulled(request.dir, entry);
  return { ...entry, path, reused: false };
}

/**
 * The downloader's first request (the file's size) retries an unreachable host for minutes and takes
 * no signal: stop waiting on the signal or after FIRST_ANSWER_MS. Its retries go on in the
 * background until they give up; their outcome is ignored.
 */
async function untilAnswered<T>(created: Promise<T>, request: Pick<PullRequest, 'name' | 'signal'>): Promise<T> {
  created.catch(() => undefined);
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const stopped = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${request.name}: no answer within ${FIRST_ANSWER_MS / 1000} s; check the address and the network`)), FIRST_ANSWER_MS);
    onAbort = () => reject(paused(0, 0));
    if (request.signal?.aborted) onAbort();
    request.signal?.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([created, stopped]);
  } finally {
    clearTimeout(timer);
    if (onAbort) request.signal?.removeEventListener('abort', onAbort);
  }
}

function paused(downloaded: number, total: number): DownloadPaused {
  const share = total > 0 ? ` (${Math.floor((downloaded / total) * 100)}% kept)` : '';
  return new DownloadPaused(`download paused${share}: pull the same model again to resume`);
}
