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

test('AtomicFileWriter: many small writes (gathered into larger ones) arrive whole and in order, strings and bytes mixed', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'sift-atomic-'));
  try {
    const path = join(dir, 'rows.jsonl');
    const writer = new AtomicFileWriter(path);
    const rows: string[] = [];
    for (let i = 0; i < 30_000; i++) {
      const row = `{"line":${i + 1},"text":"é ${'x'.repeat(i % 37)}"}\n`;
      rows.push(row);
      await writer.write(i % 5 === 0 ? Buffer.from(row, 'utf8') : row);
    }
    await assert.rejects(readFile(path), { code: 'ENOENT' }, 'nothing at the final path before commit');
    await writer.commit();
    assert.equal(await readFile(path, 'utf8'), rows.join(''));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
