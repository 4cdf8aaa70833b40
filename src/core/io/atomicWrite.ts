import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/**
 * Writes a file by streaming into a temporary file beside it and renaming it into place, so a
 * reader never sees half a file and a crash never leaves a truncated output.
 */
export class AtomicFileWriter {
  private readonly temporary: string;
  private readonly stream: ReturnType<typeof createWriteStream>;
  private failed: Error | undefined;

  constructor(readonly path: string) {
    this.temporary = join(dirname(path), `.${basename(path)}.${randomBytes(4).toString('hex')}.tmp`);
    this.stream = createWriteStream(this.temporary, { encoding: 'utf8' });
    this.stream.on('error', (error) => {
      this.failed = error;
    });
  }

  /** Resolves when the stream can take more (back-pressure). */
  async write(text: string | Buffer): Promise<void> {
    if (this.failed) throw this.failed;
    if (!this.stream.write(text)) {
      // Both listeners go when either fires: a long write waits for drain thousands of times, and
      // leftover 'error' listeners would pile up (MaxListenersExceededWarning on big resumed runs).
      await new Promise<void>((resolve, reject) => {
        const onDrain = (): void => {
          this.stream.off('error', onError);
          resolve();
        };
        const onError = (error: Error): void => {
          this.stream.off('drain', onDrain);
          reject(error);
        };
        this.stream.once('drain', onDrain);
        this.stream.once('error', onError);
      });
    }
  }

  async commit(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.stream.end((error?: Error | null) => (error ? reject(error) : resolve()));
    });
    if (this.failed) throw this.failed;
    // Without fsync a power loss after the rename can leave an empty or partial file under the final name.
    const handle = await open(this.temporary, 'r+');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(this.temporary, this.path);
  }

  async abort(): Promise<void> {
    this.stream.destroy();
    await rm(this.temporary, { force: true });
  }
}

/**
 * Writes a file atomically through `fill`, which streams its content into `write`: the file appears
 * whole when `fill` resolves, and not at all when it throws.
 */
export async function writeAtomically(path: string, fill: (write: (bytes: string | Buffer) => Promise<void>) => Promise<void>): Promise<void> {
  const writer = new AtomicFileWriter(path);
  try {
    await fill((bytes) => writer.write(bytes));
    await writer.commit();
  } catch (error) {
    await writer.abort();
    throw error;
  }
}

/** Writes a whole text atomically. */
export async function writeFileAtomic(path: string, text: string): Promise<void> {
  await writeAtomically(path, (write) => write(text));
}
