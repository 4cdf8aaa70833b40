// `npm test`: every compiled test file under out/test/{unit,integration,server} with node's test
// runner (Node 20 has no glob support in --test), then the end-to-end suite in a real VS Code
// (test/e2e/run.mjs). Prints both runners' output and a closing `tests: N passed, N failed` line.
// SIFT_E2E=0 skips the real-VS-Code suite (for quick local runs); CI runs everything.
import { spawn } from 'node:child_process';
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

/** Runs a command, echoing its output, and returns the output and the exit code. */
function run(command, args) {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let output = '';
    child.stdout.on('data', (chunk) => {
      output += chunk;
      process.stdout.write(chunk);
    });
    child.on('close', (code) => resolve({ code: code ?? 1, output }));
  });
}

const groups = process.argv.slice(2).filter((a) => !a.startsWith('--'));
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

let passed = 0;
let failed = 0;
// TAP explicitly: the counts below are read from its `# pass N` lines, and Node 24's default reporter is `spec`.
const unit = await run(process.execPath, ['--test', '--test-reporter=tap', '--test-concurrency=1', ...files]);
passed += Number(/^# pass (\d+)$/m.exec(unit.output)?.[1] ?? 0);
failed += Number(/^# fail (\d+)$/m.exec(unit.output)?.[1] ?? 0);
if (unit.code !== 0 && failed === 0) failed = 1;

if (process.env.SIFT_E2E !== '0' && groups.length === 0) {
  const e2e = await run(process.execPath, ['test/e2e/run.mjs']);
  const summary = /^e2e: (\d+) passed, (\d+) failed$/m.exec(e2e.output);
  passed += Number(summary?.[1] ?? 0);
  failed += Number(summary?.[2] ?? (e2e.code === 0 ? 0 : 1));
  if (e2e.code !== 0 && !summary) failed += 1;
}

console.log(`tests: ${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
