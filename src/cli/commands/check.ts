// check <pool> [host]: run the pool's checks once, now, with the daemon's own code path
// (runChecksOnce). With --nagios it is the Icinga plugin the generated config runs.
import { runChecksOnce } from '../../checks/run-once.js';
import { matchHostName } from '../../model/selector.js';
import { NotFoundError } from '../../model/errors.js';
import { checkRunToNagios, checkRunsToNagios, nagiosUnknown } from '../../monitoring/nagios-output.js';
import { servicePath } from '../../model/types.js';
import type { CliOpts } from '../context.js';
import { makeOutput } from '../output.js';
import { loadServiceDefs, resolvePool } from '../services.js';

const ms = (n: number | undefined) => (n === undefined ? '-' : `${Math.round(n)}ms`);

async function check(args: string[], opts: CliOpts): Promise<{ code: number; text: string; json: unknown }> {
  const svc = resolvePool(await loadServiceDefs(opts), args[0]);
  let hosts: string[] | undefined;
  if (args[1] !== undefined) {
    const m = matchHostName(args[1], Object.keys(svc.servers));
    if (m.kind === 'none') throw new NotFoundError(`no host '${args[1]}' in ${servicePath(svc)}`);
    if (m.kind === 'ambiguous') throw new NotFoundError(`host '${args[1]}' is ambiguous: ${m.candidates.join(', ')}`);
    hosts = m.hosts;
  }
  const runs = await runChecksOnce(svc, hosts);
  if (opts.nagios === true) {
    const n = runs.length === 1 ? checkRunToNagios(runs[0]) : checkRunsToNagios(runs, servicePath(svc));
    return { code: n.exit, text: n.output, json: n };
  }
  const lines = runs.flatMap((r) => r.results.map(({ check: name, result: x }) =>
    `${r.host} ${name}: ${x.up ? 'up' : 'DOWN'} ${x.code}: ${x.message}` +
    `${x.findings.length > 0 ? ` [${x.findings.map((f) => `${f.severity}: ${f.message}`).join('; ')}]` : ''}` +
    ` (connect ${ms(x.timings.connectMs)}, first byte ${ms(x.timings.firstByteMs)}, total ${ms(x.timings.totalMs)})`));
  return { code: runs.every((r) => r.up) ? 0 : 1, text: lines.join('\n'), json: runs };
}

export async function run(args: string[], opts: CliOpts): Promise<number> {
  const out = makeOutput(opts.json === true);
  try {
    const r = await check(args, opts);
    out.result(r.text, r.json);
    return r.code;
  } catch (err) {
    // As a Nagios plugin, a failure to run is UNKNOWN (3) with a one-line reason, never a stack.
    if (opts.nagios !== true) throw err;
    const n = nagiosUnknown(`poolctl check: ${(err as Error).message}`);
    process.stdout.write(`${n.output}\n`);
    return n.exit;
  }
}
