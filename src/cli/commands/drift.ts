// drift --pybal FILE --icinga FILE: compare deployed LVS and Icinga definitions with pools/.
// drift --catalog service.yaml --dc DC: compare each catalog service's PyBal monitors with its monitoring
// probes (acknowledgements from pools/ with --pools DIR, or etcd when --etcd / POOLD_ETCD is set).
// Nagios output; exit 2 (CRITICAL) on any drift, so Icinga itself alerts on it.
import { readFile } from 'node:fs/promises';
import { parseWmfCatalogOrThrow } from '../../config/wmf-catalog.js';
import { UsageError } from '../../model/errors.js';
import { catalogDrift, catalogDriftToNagios } from '../../monitoring/catalog-drift.js';
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

async function driftCatalog(file: string, opts: CliOpts): Promise<number> {
  if (typeof opts.dc !== 'string') throw new UsageError('drift --catalog needs --dc: the catalog describes every dc');
  if (opts.pybal !== undefined || opts.icinga !== undefined) throw new UsageError('drift --catalog compares the catalog with itself; run --pybal/--icinga separately');
  const catalog = parseWmfCatalogOrThrow(await readFile(file, 'utf8'), file, opts.dc);
  // Acknowledgements live in pools/; without a source, every drift is actionable (and the output says so).
  const fromEtcd = typeof opts.etcd === 'string' || process.env.POOLD_ETCD !== undefined;
  const withAcks = typeof opts.pools === 'string' || fromEtcd;
  const services = withAcks ? await loadServiceDefs(opts) : undefined;
  const report = catalogDrift(catalog, services, typeof opts.pools === 'string' ? opts.pools : 'etcd');
  if (opts.json === true) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  const n = catalogDriftToNagios(report);
  if (opts.json !== true) process.stdout.write(`${n.output}\n`);
  return n.exit;
}

async function drift(_args: string[], opts: CliOpts): Promise<number> {
  if (typeof opts.catalog === 'string') return driftCatalog(opts.catalog, opts);
  const pybalFile = typeof opts.pybal === 'string' ? opts.pybal : undefined;
  const icingaFile = typeof opts.icinga === 'string' ? opts.icinga : undefined;
  if (pybalFile === undefined && icingaFile === undefined) throw new UsageError('drift needs --pybal FILE and/or --icinga FILE, or --catalog FILE --dc DC');
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
