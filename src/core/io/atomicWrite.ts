import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/**
 * Text gathered before it goes to the stream: a scoring run writes one short row per record, and a
 * write system call per row cost more than the rows (a twentieth of the client's time at a
 * fleet's pace).
 */
const GATHER_BYTES = 64 * 1024;

/**
 * Writes a file by streaming into a temporary file beside it and renaming it into place, so a
 * reader never sees half a file and a crash never leaves a truncated output.
 */
export class AtomicFileWriter {
  private readonly temporary: string;
  private readonly stream: ReturnType<typeof createWriteStream>;
  private failed: Error | undefined;
  private gathered: (string | Buffer)[] = [];
  /** Their length (characters of a string, bytes of a buffer: a bound, not an exact count). */
  private gatheredLength = 0;

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
    this.gathered.push(text);
    this.gatheredLength += text.length;
    if (this.gatheredLength >= GATHER_BYTES) await this.flush();
  }

  private async flush(): Promise<void> {
    if (this.gathered.length === 0) return;
    const parts = this.gathered;
    this.gathered = [];
    this.gatheredLength = 0;
    if (!this.stream.write(joined(parts))) {
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
    await this.flush();
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

/** The gathered parts as one write: text stays text (the stream encodes it once). */
function joined(parts: (string | Buffer)[]): string | Buffer {
  if (parts.length === 1) return parts[0] as string | Buffer;
  if (parts.every((p) => typeof p === 'string')) return parts.join('');
  return Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : p)));
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
