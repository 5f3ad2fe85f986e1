// import pybal FILE: an existing pybal.conf → pools/ YAML on stdout (or --out). Everything it cannot carry
// over is a located warning on stderr (and a comment in the YAML); nothing is dropped silently. Exit 1 when
// something essential was lost (VIP, port, protocol, scheduler, pool and its servers, threshold, a check) or
// the YAML would not load; 0 otherwise.
import { writeFile } from 'node:fs/promises';
import { importPybalFile, importSucceeded } from '../../config/pybal-import.js';
import { formatProblem, UsageError } from '../../model/errors.js';
import type { CliOpts } from '../context.js';

const USAGE = 'usage: poolctl import pybal FILE --dc DC [--conftool-nodes NODES.yaml] [--catalog service.yaml] [--cluster C] [--out FILE]';

export async function run(args: string[], opts: CliOpts): Promise<number> {
  const [kind, file] = args;
  if (kind !== 'pybal' || file === undefined) throw new UsageError(USAGE);
  if (typeof opts.dc !== 'string') throw new UsageError('import pybal needs --dc: pybal.conf does not say which dc it serves');
  const str = (k: string) => (typeof opts[k] === 'string' ? (opts[k] as string) : undefined);
  const r = await importPybalFile(file, { dc: opts.dc, cluster: str('cluster'), nodesFile: str('conftoolNodes'), catalogFile: str('catalog') });
  for (const w of r.warnings) process.stderr.write(`${w.essential ? 'error' : 'warning'}: ${formatProblem(w)}\n`);
  for (const p of r.problems) process.stderr.write(`problem: ${formatProblem(p)}\n`);
  const out = str('out');
  if (out !== undefined) await writeFile(out, r.yaml);
  else process.stdout.write(r.yaml);
  const essential = r.warnings.filter((w) => w.essential).length;
  process.stderr.write(
    `${r.warnings.length} warning(s), ${essential} about essential settings; ${r.problems.length} problem(s) loading the result${importSucceeded(r) ? '' : ': import incomplete'}\n`,
  );
  return importSucceeded(r) ? 0 : 1;
}
