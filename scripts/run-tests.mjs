// Runs every compiled test file with node's test runner (Node 20 has no glob support in --test).
// `npm test` compiles first (pretest). Set SIFT_E2E=0 to skip the real-VS-Code suite locally.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

function find(dir) {
  let files = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) files = files.concat(find(path));
    else if (name.endsWith('.test.js')) files.push(path);
  }
  return files;
}

const groups = process.argv.slice(2);
const roots = (groups.length > 0 ? groups : ['unit', 'integration', 'server']).map((g) => join('out', 'test', g));
const files = roots.flatMap((root) => {
  try {
    return find(root);
  } catch {
    return [];
  }
});
if (files.length === 0) {
  console.error('no compiled tests found under', roots.join(', '));
  process.exit(1);
}
const result = spawnSync(process.execPath, ['--test', '--test-concurrency=1', ...files], { stdio: 'inherit' });
process.exit(result.status ?? 1);
