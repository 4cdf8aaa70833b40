import assert from 'node:assert/strict';
import fsPromises from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { writeFileAtomic } from '../../src/core/io/atomicWrite';
import { tempDir } from '../helpers/paths';

test('an atomic write is on disk (fsync) before it is renamed into place', async (t) => {
  const events: string[] = [];
  const open = fsPromises.open;
  t.mock.method(fsPromises, 'open', async (...args: Parameters<typeof open>) => {
    const handle = await open(...args);
    const sync = handle.sync.bind(handle);
    handle.sync = async () => {
      events.push(`sync ${String(args[0])}`);
      await sync();
    };
    return handle;
  });
  const rename = fsPromises.rename;
  t.mock.method(fsPromises, 'rename', async (from: string, to: string) => {
    events.push(`rename ${from}`);
    await rename(from, to);
  });
  const path = join(tempDir(), 'out.json');
  await writeFileAtomic(path, '{"a":1}\n');
  assert.equal(readFileSync(path, 'utf8'), '{"a":1}\n');
  const renamed = events.findIndex((e) => e.startsWith('rename '));
  assert.ok(renamed >= 0, events.join('; '));
  const temporary = events[renamed].slice('rename '.length);
  assert.ok(events.slice(0, renamed).includes(`sync ${temporary}`), events.join('; '));
});
