// monitoring render --format icinga2|nagios: the Icinga checks, generated from the same definitions
// as the load balancer's (one poold-check per backend, one poold-alerts per pool).
import { writeFile } from 'node:fs/promises';
import { defaultPooldUrl } from '../../config/pybal-render.js';
import { UsageError } from '../../model/errors.js';
import { renderIcinga2 } from '../../monitoring/icinga2.js';
import { renderNagios } from '../../monitoring/nagios.js';
import type { CliOpts } from '../context.js';
import { loadServiceDefs } from '../services.js';

export async function run(args: string[], opts: CliOpts): Promise<number> {
  if (args[0] !== 'render') throw new UsageError('usage: poolctl monitoring render --format icinga2|nagios [--pools DIR]');
  const format = opts.format ?? 'icinga2';
  if (format !== 'icinga2' && format !== 'nagios') throw new UsageError(`bad --format '${String(format)}': icinga2 or nagios`);
  const all = await loadServiceDefs(opts);
  const dc = typeof opts.dc === 'string' ? opts.dc : undefined;
  const services = dc === undefined ? all : all.filter((s) => s.dc === dc);
  const o = {
    pooldUrl: typeof opts.pooldUrl === 'string' ? opts.pooldUrl : defaultPooldUrl(dc ?? services[0]?.dc ?? 'eqiad'),
    poolctlPath: typeof opts.poolctl === 'string' ? opts.poolctl : undefined,
  };
  const text = format === 'icinga2' ? renderIcinga2(services, o) : renderNagios(services, o);
  if (typeof opts.out === 'string') await writeFile(opts.out, text);
  else process.stdout.write(text);
  return 0;
}
