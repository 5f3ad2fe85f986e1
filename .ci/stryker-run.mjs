// `npm run test:mutation[:safety] -- [stryker flags]`: runs `stryker run CONFIG [flags]`, then puts the
// incremental report's `projectRoot` back to ".". Stryker writes this machine's absolute path there,
// and the report is committed (.ci/stryker-incremental.json); it matches results by the files'
// relative paths, and a report with "." was reused by every CI run on a clean clone. Exits with
// Stryker's status.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const [config, ...flags] = process.argv.slice(2);
if (config === undefined) {
  console.error('usage: node .ci/stryker-run.mjs CONFIG [stryker flags...]');
  process.exit(2);
}
const stryker = fileURLToPath(new URL('../node_modules/.bin/stryker', import.meta.url));
const run = spawnSync(stryker, ['run', config, ...flags], { stdio: 'inherit' });
if (run.error !== undefined) {
  console.error(`cannot run ${stryker}: ${run.error.message}`);
  process.exit(1);
}

const report = new URL('./stryker-incremental.json', import.meta.url);
if (existsSync(report)) {
  const text = readFileSync(report, 'utf8');
  const relative = text.replace(/^(\s*"projectRoot":\s*)"[^"]*"/m, '$1"."');
  if (relative !== text) writeFileSync(report, relative);
}
process.exit(run.status ?? 1);
