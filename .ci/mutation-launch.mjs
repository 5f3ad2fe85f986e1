// Runs one model test for Stryker's tap runner (.ci/stryker.config.mjs): given test/model/x.test.ts,
// imports its tsc output dist/mutation/test/model/x.test.js, built once in the sandbox. The runner
// names each test by the .ts file, so the incremental report can tell which test files changed.
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const ts = process.argv[2];
if (ts === undefined || !ts.endsWith('.ts')) {
  console.error(`usage: node .ci/mutation-launch.mjs test/model/<name>.test.ts (got ${String(ts)})`);
  process.exit(2);
}
await import(pathToFileURL(path.resolve('dist/mutation', ts.replace(/\.ts$/, '.js'))).href);
