// Preloaded into a benchmarked `sift` process (node --require): at exit it writes the process's own
// CPU time and peak memory to the file named by SIFT_BENCH_USAGE.
/* eslint-disable @typescript-eslint/no-require-imports */
const { writeFileSync } = require('node:fs');

process.on('exit', () => {
  const usage = process.resourceUsage();
  writeFileSync(
    process.env.SIFT_BENCH_USAGE,
    JSON.stringify({ cpuSeconds: (usage.userCPUTime + usage.systemCPUTime) / 1e6, userSeconds: usage.userCPUTime / 1e6, systemSeconds: usage.systemCPUTime / 1e6, maxRssMb: usage.maxRSS / 1024 }),
  );
});
