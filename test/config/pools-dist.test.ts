// The compiled loader (what `npm start` runs from dist/) finds its JSON Schema and loads the samples
// exactly as the TypeScript sources do: tsc must emit the imported pools.schema.json next to it.
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { loadPools } from '../../src/config/pools/index.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

t.test('compiled output loads the samples like the sources', async (t) => {
  // Inside node_modules so the compiled files resolve yaml and ajv like dist/ does; not in dist/ itself,
  // which the project build owns.
  // A fresh npm ci has no node_modules/.cache yet.
  await mkdir(join(ROOT, 'node_modules', '.cache'), { recursive: true });
  const out = await mkdtemp(join(ROOT, 'node_modules', '.cache', 'poold-pools-dist-'));
  t.teardown(() => rm(out, { recursive: true, force: true }));
  // --noCheck: type errors are the project typecheck's business; this test is about what gets emitted.
  const tsc = spawnSync(
    process.execPath,
    [
      join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'),
      '--ignoreConfig',
      ...['--outDir', out, '--rootDir', ROOT, '--module', 'nodenext', '--moduleResolution', 'nodenext'],
      ...['--target', 'es2022', '--resolveJsonModule', '--strict', '--skipLibCheck', '--types', 'node', '--noCheck'],
      join(ROOT, 'src', 'config', 'pools', 'index.ts'),
    ],
    { cwd: ROOT, encoding: 'utf8' },
  );
  t.equal(tsc.status, 0, `tsc: ${tsc.stdout}${tsc.stderr}`);
  await t.resolves(stat(join(out, 'src', 'config', 'pools.schema.json')), 'schema emitted next to the code');

  const script = `
    const { loadPools } = await import(${JSON.stringify(join(out, 'src', 'config', 'pools', 'index.js'))});
    process.stdout.write(JSON.stringify(await loadPools(${JSON.stringify(join(ROOT, 'pools'))})));`;
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8' });
  t.equal(run.status, 0, run.stderr);
  const compiled = JSON.parse(run.stdout);
  const fromSource = await loadPools(join(ROOT, 'pools'));
  t.same(compiled.problems, []);
  t.equal(compiled.services.length, 10);
  t.same(compiled, JSON.parse(JSON.stringify(fromSource)));
});
