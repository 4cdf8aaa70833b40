import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { repoRoot } from '../helpers/paths';

test('the demo prints every command with the flags it runs with (--no-cache included)', () => {
  const result = spawnSync(process.execPath, [join(repoRoot, 'scripts', 'demo.mjs'), '--print'], { cwd: repoRoot, encoding: 'utf8' });
  assert.equal(result.status, 0, result.stderr);
  const commands = result.stdout.split('\n').filter((line) => line.startsWith('$ sift '));
  assert.equal(commands.length, 6);
  for (const command of commands) assert.match(command, / --no-cache( |$)/, command);
  assert.match(result.stdout, /--no-cache keeps the demo from writing a score store/);
});
