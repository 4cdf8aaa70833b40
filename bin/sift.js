#!/usr/bin/env node
// Sift keeps its scores in node:sqlite (Node 22.13 or newer): say so plainly on an older Node
// rather than failing on a missing built-in module.
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 13)) {
  process.stderr.write(`sift needs Node.js 22.13 or newer (it keeps its scores in node:sqlite); this is Node.js ${process.versions.node}.\n`);
  process.exit(2);
}
require('../dist/cli.js').main(process.argv);
