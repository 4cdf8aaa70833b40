import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { AtomicFileWriter } from '../../src/core/io/atomicWrite';

test('AtomicFileWriter: waiting for drain many times leaves no listeners behind (no MaxListenersExceededWarning)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'sift-atomic-'));
  const warnings: Error[] = [];
  const onWarning = (warning: Error): void => {
    warnings.push(warning);
  };
  process.on('warning', onWarning);
  try {
    const writer = new AtomicFileWriter(join(dir, 'out.txt'));
    const stream = (writer as unknown as { stream: NodeJS.EventEmitter }).stream;
    const baseline = { error: stream.listenerCount('error'), drain: stream.listenerCount('drain') };
    // Each write fills the stream's buffer (16 KiB), so every write waits for 'drain'.
    const chunk = 'x'.repeat(64 * 1024);
    for (let i = 0; i < 40; i++) await writer.write(chunk);
    assert.deepEqual({ error: stream.listenerCount('error'), drain: stream.listenerCount('drain') }, baseline);
    await writer.commit();
    assert.equal((await readFile(join(dir, 'out.txt'), 'utf8')).length, 40 * chunk.length);
    // Warnings are emitted on the next tick.
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(warnings.map((w) => w.name), []);
  } finally {
    process.off('warning', onWarning);
    await rm(dir, { recursive: true, force: true });
  }
});
