// monitoring render --format icinga2|nagios: the Icinga checks, generated from the same definitions
// as the load balancer's (one poold-check per backend, one poold-alerts per pool).
import { writeFile } from 'node:fs/promises';
import { defaultPooldUrl } from '../../config/pybal-render.js';
import { UsageError } from '../../model/errors.js';
import { MONITORING_FORMATS, renderMonitoring } from '../../monitoring/render.js';
import type { CliOpts } from '../context.js';
import { loadServiceDefs } from '../services.js';

export async function run(args: string[], opts: CliOpts): Promise<number> {
  if (args[0] !== 'render') throw new UsageError('usage: poolctl monitoring render --format icinga2|nagios [--pools DIR] [--dc DC]');
  const format = opts.format ?? 'icinga2';
  if (!(MONITORING_FORMATS as readonly unknown[]).includes(format)) throw new UsageError(`bad --format '${String(format)}': ${MONITORING_FORMATS.join(' or ')}`);
  const all = await loadServiceDefs(opts);
  const dc = typeof opts.dc === 'string' ? opts.dc : undefined;
  const services = dc === undefined ? all : all.filter((s) => s.dc === dc);
  // Every pool-alert check reads one poold URL, and each dc has its own poold: a render covers one dc.
  // (Rendering per dc and concatenating would define the shared commands and templates twice.)
  const dcs = [...new Set(services.map((s) => s.dc))].sort();
  if (dcs.length > 1) {
    throw new UsageError(`the pools span dcs ${dcs.join(', ')}; each dc's alert checks read that dc's poold: pass --dc ${dcs[0]} (one render per dc)`, { dcs });
  }
  const text = renderMonitoring(services, format as string, {
    pooldUrl: typeof opts.pooldUrl === 'string' ? opts.pooldUrl : defaultPooldUrl(dc ?? dcs[0] ?? 'eqiad'),
    poolctlPath: typeof opts.poolctl === 'string' ? opts.poolctl : undefined,
  });
  if (typeof opts.out === 'string') await writeFile(opts.out, text);
  else process.stdout.write(text);
  return 0;
}
