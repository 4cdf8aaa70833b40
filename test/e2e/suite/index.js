// Entry point of Sift's extension-host test suite (the `extensionTestsPath` contract shared by
// @vscode/test-electron and code-server's smoke-test driver: export run(): Promise<void>).
// Loads every *.test.js file of this folder into mocha (tdd ui: suite/test/suiteSetup).
/* eslint-disable @typescript-eslint/no-require-imports */
const fs = require('fs');
const path = require('path');
const util = require('util');

// Every line of the suite's output carries this marker: the code-server harness picks it out of
// the workbench's log, where extension-host console output lands.
const MARK = '[sift-suite]';

function loadMocha() {
  let mocha;
  try {
    mocha = require('mocha');
  } catch (error) {
    // Until mocha is a devDependency of the repo, test/e2e/harness.mjs points at the copy that
    // scripts/e2e-setup.sh installs in its cache.
    if (!process.env.SIFT_E2E_MOCHA) throw error;
    mocha = require(process.env.SIFT_E2E_MOCHA);
  }
  // mocha 11 is CommonJS (the class itself); an ESM mocha required from Node >= 20.19 is a namespace
  return typeof mocha === 'function' ? mocha : mocha.default || mocha.Mocha;
}

module.exports.run = function run() {
  const Mocha = loadMocha();
  // The spec reporter logs format strings with arguments; format them here so the lines stay
  // readable wherever the extension host's console goes.
  Mocha.reporters.Base.consoleLog = (...args) => {
    for (const line of util.format(...args).split('\n')) console.log(`${MARK} ${line}`);
  };
  const mocha = new Mocha({
    ui: 'tdd',
    color: false,
    timeout: Number(process.env.SIFT_E2E_TEST_TIMEOUT_MS || 60000),
    grep: process.env.SIFT_E2E_GREP || undefined,
  });
  const files = fs.readdirSync(__dirname).filter(f => f.endsWith('.test.js')).sort();
  for (const file of files) mocha.addFile(path.join(__dirname, file));
  return new Promise((resolve, reject) => {
    const runner = mocha.run(failures => {
      const { passes, failures: failed, pending } = runner.stats;
      // the harness and test-electron both look for this line in the extension host's output
      console.log(`${MARK} extension host: ${passes} passed, ${failed} failed${pending ? `, ${pending} skipped` : ''}`);
      if (failures) reject(new Error(`${failures} extension-host test(s) failed`));
      else resolve();
    });
  });
};
