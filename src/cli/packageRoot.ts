import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The folder holding package.json (and models/): dist/ when bundled, out/src/cli when compiled for tests. */
export function packageRoot(): string {
  let dir = __dirname;
  for (let i = 0; i < 5; i++) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'models'))) return dir;
    dir = dirname(dir);
  }
  return join(__dirname, '..');
}
