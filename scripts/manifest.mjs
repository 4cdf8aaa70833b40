// `npm run manifest`: rewrites package.json's `contributes.configuration` and
// `capabilities.untrustedWorkspaces.restrictedConfigurations` from the settings schema
// (src/protocol/settings.ts). A unit test fails while the two differ.
import * as esbuild from 'esbuild';
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const bundle = await esbuild.build({
  entryPoints: [`${root}src/protocol/settings.ts`],
  bundle: true,
  platform: 'node',
  format: 'cjs',
  write: false,
  logLevel: 'warning',
});
const module = { exports: {} };
new Function('module', 'exports', 'require', bundle.outputFiles[0].text)(module, module.exports, createRequire(import.meta.url));
const { manifestConfiguration, restrictedConfigurations } = module.exports;

const path = `${root}package.json`;
const manifest = JSON.parse(readFileSync(path, 'utf8'));
manifest.contributes.configuration = manifestConfiguration();
manifest.capabilities.untrustedWorkspaces.restrictedConfigurations = restrictedConfigurations();
writeFileSync(path, JSON.stringify(manifest, null, 2) + '\n');
