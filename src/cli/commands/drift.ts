// drift --pybal FILE --icinga FILE: compare deployed LVS and Icinga definitions with pools/.
// Nagios output; exit 2 (CRITICAL) on any drift, so Icinga itself alerts on it.
import { UsageError } from '../../model/errors.js';
import { detectDriftFromFiles } from '../../monitoring/drift-files.js';
import { driftToNagios } from '../../monitoring/drift.js';
import { nagiosUnknown } from '../../monitoring/nagios-output.js';
import type { CliOpts } from '../context.js';
import { loadServiceDefs } from '../services.js';

export async function run(args: string[], opts: CliOpts): Promise<number> {
  try {
    return await drift(args, opts);
  } catch (err) {
    // Icinga runs this: a failure to compare is UNKNOWN (3), never CRITICAL (2, which means drift).
    const n = nagiosUnknown(`poolctl drift: ${(err as Error).message}`);
    process.stdout.write(`${n.output}\n`);
    return n.exit;
  }
}

async function drift(_args: string[], opts: CliOpts): Promise<number> {
  const pybalFile = typeof opts.pybal === 'string' ? opts.pybal : undefined;
  const icingaFile = typeof opts.icinga === 'string' ? opts.icinga : undefined;
  if (pybalFile === undefined && icingaFile === undefined) throw new UsageError('drift needs --pybal FILE and/or --icinga FILE');
  const format = opts.icingaFormat ?? 'icinga2';
  if (format !== 'icinga2' && format !== 'nagios') throw new UsageError(`bad --icinga-format '${String(format)}'`);
  const report = await detectDriftFromFiles({
    services: await loadServiceDefs(opts),
    dc: typeof opts.dc === 'string' ? opts.dc : undefined,
    pybalFile,
    icingaFile,
    icingaFormat: format,
    pooldUrl: typeof opts.pooldUrl === 'string' ? opts.pooldUrl : undefined,
  });
  const n = driftToNagios(report);
  if (opts.json === true) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  else process.stdout.write(`${n.output}\n`);
  return n.exit;
}
