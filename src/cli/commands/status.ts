// status [pool]: one table per LVS service: admin state from its conftool pool, health and effective
// pooling from the state poold published for that LVS service, and the reason. `pool` is an LVS
// service (`apertium_4737` or `eqiad/apertium_4737`), a conftool pool (dc/cluster/service, a service
// name) or a selector; a conftool pool no LVS service uses gets a table of its own.
import { NotFoundError } from '../../model/errors.js';
import { selectorMatches } from '../../model/selector.js';
import { writerText } from '../../model/alerts-hold.js';
import { poolPath, servicePath, type AdminHoldInfo } from '../../model/types.js';
import { withContext, type CliOpts } from '../context.js';
import { byKey, parseServiceFilter, readInventory, servicesOverPool, type HostEntry, type Inventory } from '../inventory.js';
import { table } from '../output.js';
import { readFreezes, safetyNotes } from '../status-safety.js';

export interface StatusRow {
  dc: string;
  /** The LVS service (PyBal section); null for a conftool pool no LVS service uses. */
  lvsService: string | null;
  cluster: string;
  service: string;
  host: string;
  admin: string;
  weight: number | null;
  up: boolean | null;
  pooled: boolean | null;
  reason: string;
  /** An admin depool of this host held by the threshold, or forced through (model/coordinator-hold.ts). */
  adminHold?: AdminHoldInfo;
}

/** `admin depool held by threshold (by unknown writer)`, `admin depool forced below threshold (by alice)`. */
export function holdText(h: AdminHoldInfo): string {
  return h.status === 'held' ? `admin depool held by threshold (${writerText(h)})` : `admin depool forced below threshold (${writerText(h)})`;
}

/** The LVS service the argument names exactly (`name` or `dc/name`), if any. */
function lvsServiceArg(inv: Inventory, arg: string): string[] {
  return [...inv.services.keys()].filter((path) => path === arg || path.slice(path.indexOf('/') + 1) === arg);
}

export function statusRows(inv: Inventory, poolArg?: string): StatusRow[] {
  const named = poolArg === undefined ? [] : lvsServiceArg(inv, poolArg);
  const filter = named.length > 0 ? undefined : parseServiceFilter(poolArg);
  const hosts = inv.hosts.filter((h) => filter === undefined || selectorMatches(filter, h)).sort(byKey);
  const rows: StatusRow[] = [];
  const row = (h: HostEntry, lvsService: string | null): StatusRow => {
    const eff = lvsService === null ? undefined : inv.states.get(lvsService)?.servers[h.host];
    return {
      dc: h.dc, lvsService: lvsService === null ? null : lvsService.slice(lvsService.indexOf('/') + 1),
      cluster: h.cluster, service: h.service, host: h.host,
      admin: h.value === null ? 'INVALID' : h.value.pooled,
      weight: h.value?.weight ?? null,
      up: eff?.up ?? null,
      pooled: eff?.pooled ?? null,
      reason: h.value === null ? (h.invalid ?? '') : lvsService === null ? 'no LVS service uses this pool' : eff === undefined ? 'no state published by poold'
        : eff.adminHold !== undefined ? `${holdText(eff.adminHold)}; ${eff.reason}` : eff.reason,
      ...(eff?.adminHold !== undefined ? { adminHold: eff.adminHold } : {}),
    };
  };
  const byPool = new Map<string, HostEntry[]>();
  for (const h of hosts) byPool.set(poolPath(h), [...(byPool.get(poolPath(h)) ?? []), h]);
  for (const members of byPool.values()) {
    const lvs = servicesOverPool(inv, members[0]).map((s) => servicePath(s.key)).filter((p) => named.length === 0 || named.includes(p));
    if (lvs.length === 0 && named.length === 0) rows.push(...members.map((h) => row(h, null)));
    for (const path of lvs) rows.push(...members.map((h) => row(h, path)));
  }
  if (rows.length === 0) throw new NotFoundError(poolArg === undefined ? 'no pools in etcd; run poolctl sync pools/' : `no LVS service or pool matches '${poolArg}'`);
  return rows;
}

/** How a row's table is titled: `eqiad/apertium_4737 (pool kubernetes/kubesvc)`, or the bare pool. */
function tableOf(r: StatusRow): string {
  return r.lvsService === null ? `${r.dc}/${r.cluster}/${r.service}` : `${r.dc}/${r.lvsService} (pool ${r.cluster}/${r.service})`;
}

const yn = (b: boolean | null, yes: string, no: string) => (b === null ? '?' : b ? yes : no);

export function statusLines(rows: StatusRow[], notes: (r: StatusRow) => string[] = () => []): string[] {
  const lines: string[] = [];
  const pools = [...new Set(rows.map(tableOf))];
  for (const p of pools) {
    const rs = rows.filter((r) => tableOf(r) === p);
    if (lines.length > 0) lines.push('');
    lines.push(`${p}:`);
    for (const n of notes(rs[0])) lines.push(`  ${n}`); // issue 14: freeze, correlated failure, first round
    lines.push(...table(['HOST', 'ADMIN', 'WEIGHT', 'UP', 'POOLED', 'REASON'],
      rs.map((r) => [r.host, r.admin, String(r.weight ?? '?'), yn(r.up, 'up', 'down'), yn(r.pooled, 'pooled', 'not pooled'), r.reason])).map((l) => `  ${l}`));
  }
  return lines;
}

export async function run(args: string[], opts: CliOpts): Promise<number> {
  const rows = await withContext(opts, async (ctx) => {
    const inv = await readInventory(ctx, { states: 'all' });
    const r = statusRows(inv, args[0]);
    const freezes = await readFreezes(ctx);
    const now = Date.now();
    const notes = (row: StatusRow) => {
      if (row.lvsService === null) return [];
      const path = `${row.dc}/${row.lvsService}`;
      return safetyNotes(path, inv.states.get(path), freezes.get(path), now);
    };
    ctx.out.result(statusLines(r, notes), r);
    return r;
  });
  if (opts.watch !== true) return 0;
  // Follow poold's events for the pools shown, until interrupted.
  const services = new Set(rows.flatMap((r) => (r.lvsService === null ? [] : [`${r.dc}/${r.lvsService}`])));
  const pools = new Set(rows.map((r) => `${r.dc}/${r.cluster}/${r.service}`));
  const { followEvents, describeEvent } = await import('../event-stream.js');
  const api = typeof opts.api === 'string' ? opts.api : 'http://127.0.0.1:9090';
  await new Promise<void>((resolve) => {
    const f = followEvents(api, ['state', 'admin', 'flapping', 'drift', 'stale', 'leadership'], {
      event: (e) => {
        if ('pool' in e && e.pool !== null && !('name' in e.pool ? services.has(servicePath(e.pool)) : pools.has(poolPath(e.pool)))) return;
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
