// scripts/e2e-setup.sh runs from inside `npm test`. There the environment carries the outer npm's
// configuration; a nested `npm install` that inherits npm_config_user_agent tells install scripts
// the wrong Node (code-server's postinstall then refused Node 24 as "node v20"). The setup's
// npm_install must give install scripts the user agent of the npm that actually runs them.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { repoRoot, tempDir } from '../helpers/paths';

test('e2e setup: a nested npm install does not inherit the calling npm\'s configuration', () => {
  const dir = tempDir('sift-e2e-setup-');
  const probe = join(dir, 'probe');
  mkdirSync(probe);
  const seen = join(dir, 'seen.txt');
  // A local package (no registry needed) whose install script records what npm told it.
  writeFileSync(join(probe, 'package.json'), JSON.stringify({
    name: 'probe',
    version: '1.0.0',
    scripts: { postinstall: 'node -e "require(\'fs\').writeFileSync(process.env.PROBE_OUT, process.env.npm_config_user_agent + \'|\' + process.version)"' },
  }));
  const script = join(repoRoot, 'scripts', 'e2e-setup.sh');
  const result = spawnSync('bash', ['-c', 'source "$1" && npm_install "$2" "$3" "$4"', 'bash', script, join(dir, 'install'), join(dir, 'install.log'), probe], {
    encoding: 'utf8',
    // What an outer npm (another Node) puts in the environment of the scripts it runs.
    env: { ...process.env, PROBE_OUT: seen, npm_config_user_agent: 'npm/10.0.0 node/v18.0.0 linux x64', npm_config_foreground_scripts: 'true', npm_lifecycle_event: 'test' },
  });
  assert.equal(result.status, 0, `${result.stdout}${result.stderr}`);
  const [userAgent, nodeVersion] = readFileSync(seen, 'utf8').split('|');
  assert.ok(userAgent.includes(`node/${nodeVersion}`), `install script saw user agent "${userAgent}" while running on Node ${nodeVersion}`);
  assert.doesNotMatch(userAgent, /node\/v18\.0\.0/);
});
