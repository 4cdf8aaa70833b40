import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

/**
 * Where this installation's id lives: `$XDG_CONFIG_HOME/sift/installation-id` (or
 * `~/.config/sift/installation-id`), outside every workspace, so a repository cannot bring it along.
 */
export function installationIdPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.XDG_CONFIG_HOME ? resolve(env.XDG_CONFIG_HOME) : join(homedir(), '.config'), 'sift', 'installation-id');
}

let cached: string | undefined;

/**
 * The origin recorded with every score and reflection this installation computes: `local:<uuid>`,
 * generated once per user. Entries with another origin (another user's, or `imported`) came with the
 * folder; a restricted workspace shows them as unverified. When the id cannot be stored, this
 * process uses a fresh one (its entries then look foreign to later processes: safe, not silent).
 */
export function installationOrigin(): string {
  if (cached) return cached;
  const path = installationIdPath();
  try {
    const id = readFileSync(path, 'utf8').trim();
    if (/^[0-9a-f-]{36}$/.test(id)) return (cached = `local:${id}`);
  } catch {
    // Not created yet.
  }
  const id = randomUUID();
  try {
    mkdirSync(dirname(path), { recursive: true });
    // 'wx': two processes starting at once keep the first one's id.
    writeFileSync(path, `${id}\n`, { flag: 'wx' });
  } catch {
    try {
      const again = readFileSync(path, 'utf8').trim();
      if (/^[0-9a-f-]{36}$/.test(again)) return (cached = `local:${again}`);
    } catch {
      // Unwritable config folder: this process's own id.
    }
  }
  return (cached = `local:${id}`);
}
