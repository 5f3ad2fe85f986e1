// Service definitions for commands that need them: from etcd (what the daemon runs; the default),
// or from pools/ files with --pools DIR (offline: renderers, drift, tests).
import { loadPoolsOrThrow } from '../config/pools/index.js';
import { NotFoundError } from '../model/errors.js';
import type { ServiceDef } from '../model/types.js';
import { servicePath } from '../model/types.js';
import { DefinitionSet } from '../store/definition-set.js';
import { withContext, type CliOpts } from './context.js';

export async function loadServiceDefs(opts: CliOpts): Promise<ServiceDef[]> {
  if (typeof opts.pools === 'string') return loadPoolsOrThrow(opts.pools);
  return withContext(opts, async (ctx) => {
    // Definitions and the pools' server lists they use, in one range (store/definition-set.ts).
    const r = await ctx.kv.range({ key: ctx.keys.servicesPrefix(), prefix: true });
    const stored = new DefinitionSet(ctx.keys, () => true);
    for (const e of r.kvs) stored.change(e.key, e.value);
    const defs: ServiceDef[] = [];
    for (const { sk } of stored.take()) {
      try {
        defs.push(stored.decode(sk));
      } catch (err) {
        ctx.out.warn(`skipping ${ctx.keys.service(sk)}: ${(err as Error).message}`);
      }
    }
    if (defs.length === 0) throw new NotFoundError('no service definitions in etcd; run poolctl sync pools/ (or pass --pools DIR)');
    return defs;
  });
}

/**
 * An LVS service by `dc/name` (`eqiad/cxserver_8080`), by section name (`cxserver_8080`) or by catalog
 * name (`cxserver`), when only one LVS service in scope has it.
 */
export function resolvePool(services: ServiceDef[], text: string): ServiceDef {
  const exact = services.find((s) => servicePath(s) === text);
  if (exact) return exact;
  const bySection = services.filter((s) => s.name === text);
  const byName = bySection.length > 0 ? bySection : services.filter((s) => s.catalog === text);
  if (byName.length === 1) return byName[0];
  if (byName.length > 1) {
    throw new NotFoundError(`LVS service '${text}' is ambiguous; use one of: ${byName.map(servicePath).join(', ')}`, { pool: text });
  }
  throw new NotFoundError(`no LVS service '${text}'; known: ${services.map(servicePath).join(', ')}`, { pool: text });
}
