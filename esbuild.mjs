// Bundles the CLI, the language server and the extension client into dist/, and the webview into dist/webview/.
// node-llama-cpp stays external: it is ESM with a native addon and is loaded with import() at run time.
import * as esbuild from 'esbuild';

const watch = process.argv.includes('--watch');
const common = {
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node22',
  sourcemap: true,
  external: ['vscode', 'node-llama-cpp', '@node-llama-cpp/*'],
  // jsonc-parser's `main` is a UMD build that requires its parts by paths a bundler cannot follow;
  // its ES module build bundles.
  alias: { 'jsonc-parser': 'jsonc-parser/lib/esm/main.js' },
  logLevel: 'warning',
};
const entries = [
  { entryPoints: ['src/cli/main.ts'], outfile: 'dist/cli.js' },
  { entryPoints: ['src/server/main.ts'], outfile: 'dist/server.js' },
  { entryPoints: ['src/client/extension.ts'], outfile: 'dist/extension.js' },
  // The reflection diff webview: a browser bundle (its CSS import becomes dist/webview/reflection.css).
  { entryPoints: ['webview/reflection.ts'], outdir: 'dist/webview', platform: 'browser', format: 'iife', target: 'es2022', external: [], minify: true },
  // The dataset overview (also inlined into `sift report` pages).
  { entryPoints: ['webview/overview.ts'], outdir: 'dist/webview', platform: 'browser', format: 'iife', target: 'es2022', external: [], minify: true },
  // The record view: the same kind of bundle (dist/webview/record.js and record.css).
  { entryPoints: ['webview/record.ts'], outdir: 'dist/webview', platform: 'browser', format: 'iife', target: 'es2022', external: [], minify: true },
];
const existing = (await import('node:fs')).existsSync;
for (const entry of entries) {
  if (!existing(entry.entryPoints[0])) continue;
  const options = { ...common, ...entry };
  if (watch) await (await esbuild.context(options)).watch();
  else await esbuild.build(options);
}
