// status [pool]: one table per pool: admin state from conftool, health and effective pooling from the
// state poold published, and the reason. `pool` is dc/cluster/service or a service name.
import { NotFoundError } from '../../model/errors.js';
import { selectorMatches } from '../../model/selector.js';
import { servicePath } from '../../model/types.js';
import { withContext, type CliOpts } from '../context.js';
import { byKey, parseServiceFilter, readInventory, type Inventory } from '../inventory.js';
import { table } from '../output.js';

export interface StatusRow {
  dc: string;
  cluster: string;
  service: string;
  host: string;
  admin: string;
  weight: number | null;
  up: boolean | null;
  pooled: boolean | null;
  reason: string;
}

export function statusRows(inv: Inventory, poolArg?: string): StatusRow[] {
  const filter = parseServiceFilter(poolArg);
  const hosts = inv.hosts.filter((h) => filter === undefined || selectorMatches(filter, h)).sort(byKey);
  if (hosts.length === 0) throw new NotFoundError(poolArg === undefined ? 'no pools in etcd; run poolctl sync pools/' : `no pool matches '${poolArg}'`);
  return hosts.map((h) => {
    const eff = inv.states.get(servicePath(h))?.servers[h.host];
    return {
      dc: h.dc, cluster: h.cluster, service: h.service, host: h.host,
      admin: h.value === null ? 'INVALID' : h.value.pooled,
      weight: h.value?.weight ?? null,
      up: eff?.up ?? null,
      pooled: eff?.pooled ?? null,
      reason: h.value === null ? (h.invalid ?? '') : eff === undefined ? 'no state published by poold' : eff.reason,
    };
  });
}

const yn = (b: boolean | null, yes: string, no: string) => (b === null ? '?' : b ? yes : no);

export function statusLines(rows: StatusRow[]): string[] {
  const lines: string[] = [];
  const pools = [...new Set(rows.map((r) => servicePath(r)))];
  for (const p of pools) {
    const rs = rows.filter((r) => servicePath(r) === p);
    if (lines.length > 0) lines.push('');
    lines.push(`${p}:`);
    lines.push(...table(['HOST', 'ADMIN', 'WEIGHT', 'UP', 'POOLED', 'REASON'],
      rs.map((r) => [r.host, r.admin, String(r.weight ?? '?'), yn(r.up, 'up', 'down'), yn(r.pooled, 'pooled', 'not pooled'), r.reason])).map((l) => `  ${l}`));
  }
  return lines;
}

export async function run(args: string[], opts: CliOpts): Promise<number> {
  const rows = await withContext(opts, async (ctx) => {
    const r = statusRows(await readInventory(ctx), args[0]);
    ctx.out.result(statusLines(r), r);
    return r;
  });
  if (opts.watch !== true) return 0;
  // Follow poold's events for the pools shown, until interrupted.
  const pools = new Set(rows.map((r) => servicePath(r)));
  const { followEvents, describeEvent } = await import('../event-stream.js');
  const api = typeof opts.api === 'string' ? opts.api : 'http://127.0.0.1:9090';
  await new Promise<void>((resolve) => {
    const f = followEvents(api, ['state', 'admin', 'flapping', 'drift', 'stale', 'leadership'], {
      event: (e) => {
        if ('pool' in e && e.pool !== null && !pools.has(servicePath(e.pool))) return;
        process.stdout.write(opts.json === true ? `${JSON.stringify(e)}\n` : `${describeEvent(e)}\n`);
      },
      status: (line) => process.stderr.write(`${line}\n`),
    });
    const stop = () => {
      f.stop();
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  return 0;
}
