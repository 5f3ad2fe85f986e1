// Mutation testing of the pure model (src/model) against the model's own tests (test/model).
// Run from the repository root: `npm run test:mutation` (-- --incremental to reuse
// .ci/stryker-incremental.json). test/model/MUTATION.md has the scores per file and the list of surviving
// mutants that are equivalent (no test can tell them apart from the code), each with its reason.
//
// The tap runner starts one Node process per test file and per mutant. Through tap's TypeScript
// loader (ts-node) each start costs ~1.5 s here; so the sandbox, whose sources hold every mutant
// behind a switch (Stryker's "mutation switching"), is compiled once with tsc and the tests run
// as plain JavaScript (~0.4 s a start). Stryker marks the mutated files `// @ts-nocheck`.

// A test file started outside tap's runner gets tap's default 30 s timeout, not package.json's; on
// a loaded machine the pyregex oracle test (it runs CPython) can take longer. The runners inherit this.
process.env.TAP_TIMEOUT ??= '300';

// Stryker's PartialStrykerOptions (@stryker-mutator/api/core).
export default {
  packageManager: 'npm',
  testRunner: 'tap',
  plugins: ['@stryker-mutator/tap-runner'],
  buildCommand: 'tsc -p .ci/tsconfig.mutation.json',
  tap: {
    testFiles: ['test/model/*.test.ts'],
    // Each test file runs as its compiled JavaScript (see .ci/mutation-launch.mjs).
    nodeArgs: ['.ci/mutation-launch.mjs', '{{testFile}}'],
    forceBail: true,
  },
  // Only what the model's tests need goes into the sandbox.
  ignorePatterns: ['/dist', '/var', '/reports', '/bench', '/debian', '/lvs-configs', '/pools', '/.tap', '/.ci/cache'],
  mutate: ['src/model/**/*.ts'],
  // Coverage per test file: each mutant runs only the test files that reach it.
  coverageAnalysis: 'perTest',
  // 2 cores shared with other engineers (and CI runs one job at a time anyway).
  concurrency: 2,
  // The machine is loaded; a slow start must not be taken for an infinite loop.
  timeoutMS: 15000,
  timeoutFactor: 3,
  // Incremental mode: the committed report lets a run re-test only the mutants whose code or
  // covering tests changed (`npm run test:mutation -- --incremental`).
  incrementalFile: '.ci/stryker-incremental.json',
  reporters: ['clear-text', 'progress-append-only', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/mutation.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
  thresholds: { high: 90, low: 80, break: null },
};
