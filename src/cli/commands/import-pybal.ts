// import pybal FILE: an existing pybal.conf → pools/ YAML on stdout. Everything it cannot carry over
// is a located warning on stderr (and a comment in the YAML); nothing is dropped silently.
import { writeFile } from 'node:fs/promises';
import { importPybalFile } from '../../config/pybal-import.js';
import { formatProblem, UsageError } from '../../model/errors.js';
import type { CliOpts } from '../context.js';

export async function run(args: string[], opts: CliOpts): Promise<number> {
  const [kind, file] = args;
  if (kind !== 'pybal' || file === undefined) throw new UsageError("usage: poolctl import pybal FILE --dc DC [--cluster C]");
  if (typeof opts.dc !== 'string') throw new UsageError('import pybal needs --dc: pybal.conf does not say which dc it serves');
  const r = await importPybalFile(file, { dc: opts.dc, cluster: typeof opts.cluster === 'string' ? opts.cluster : undefined });
  for (const w of r.warnings) process.stderr.write(`warning: ${formatProblem(w)}\n`);
  for (const p of r.problems) process.stderr.write(`problem: ${formatProblem(p)}\n`);
  if (typeof opts.out === 'string') await writeFile(opts.out, r.yaml);
  else process.stdout.write(r.yaml);
  return r.problems.length > 0 ? 1 : 0;
}
