// The one write path for operator admin changes (pool, depool, drain, weight, decommission, select):
// resolve → compute the change → threshold guard → confirm → one audited etcd write (atomic up to 64
// hosts; beyond that bounded chunks sharing one operation id, see store/chunked-write.ts).
import { compactList } from '../model/compact-list.js';
import { InvalidStoredValueError, SafetyRefusal } from '../model/errors.js';
import { poolPath, servicePath } from '../model/types.js';
import { forceMarkerOp } from '../store/force-marker.js';
import { updateHosts } from '../store/write.js';
import { updateHostsV2 } from '../store/write-v2.js';
import { confirmMany } from './confirm.js';
import type { CliContext } from './context.js';
import { guardApplies, guardChange, type AdminPatch } from './guard.js';
import { loadServingOverPools, loadStatesOverPools, servicesOverPool, stateOf, type HostEntry, type Inventory } from './inventory.js';

export type { AdminPatch } from './guard.js';

export interface AdminChangeOptions {
  reason?: string;
  dryRun?: boolean;
  yes?: boolean;
  force?: boolean;
}

export interface ChangeLine {
  key: string;
  dc: string;
  cluster: string;
  service: string;
  host: string;
  /** The LVS services (section names) over this host's pool: one write reaches them all. */
  lvsServices: string[];
  before: Record<string, unknown> | null;
  after: Record<string, unknown>;
  changed: boolean;
}

export interface ChangeReport {
  dryRun: boolean;
  revision: number | null;
  /** On every audit record this change wrote (null: nothing written). */
  operationId: string | null;
  changes: ChangeLine[];
  warnings: string[];
}

export async function applyAdminChange(
  ctx: CliContext,
  inv: Inventory,
  targets: HostEntry[],
  patch: AdminPatch,
  opts: AdminChangeOptions,
): Promise<ChangeReport> {
  // A value another tool broke cannot be reasoned about (is that host serving?), so the threshold
  // guard cannot vouch for the change: refuse with the stored value's problem instead of guessing.
  const broken = targets.filter((t) => t.invalid !== undefined);
  if (broken.length > 0) {
    // At most a few problems in full; the rest by key (their count can be the size of a pool).
    const shown = broken.slice(0, 3).map((t) => t.invalid);
    if (broken.length > 3) shown.push(`and ${broken.length - 3} more invalid values: ${compactList(broken.slice(3).map((t) => t.key))}`);
    throw new InvalidStoredValueError(
      `${shown.join('\n')}\nrewrite ${broken.length === 1 ? 'it' : 'them'} first, e.g. etcdctl put ${broken[0].key} '{"weight": 10, "pooled": "no"}'`,
      { keys: broken.map((t) => t.key) });
  }
  // The guard reads, of every section over these pools, the header of its published state; a change
  // that takes no host out (pool, a weight above 0) needs none. The held-depool check of a --force
  // depool needs the hosts' whole states.
  const depools = patch.pooled === 'no' || patch.pooled === 'inactive';
  if (opts.force === true && depools) await loadStatesOverPools(ctx, inv, targets);
  if (guardApplies(patch)) await loadServingOverPools(ctx, inv, targets);
  const planned = targets.map((t) => {
    const before = t.value === null ? null : { ...t.value };
    const after = { ...(t.value ?? {}), ...patch } as Record<string, unknown>;
    const changed = before === null || Object.entries(patch).some(([k, v]) => before[k] !== v);
    const lvsServices = servicesOverPool(inv, t).map((x) => x.key.name);
    return { key: t.key, dc: t.dc, cluster: t.cluster, service: t.service, host: t.host, lvsServices, before, after, changed };
  });
  // --force on a depool the daemon holds (the value already says no, written by anyone): write it
  // again, with a force marker, so the daemon lets it through (store/force-marker.ts).
  const heldNow = (p: (typeof planned)[number]): boolean => opts.force === true && depools && !p.changed &&
    servicesOverPool(inv, p).some((s) => stateOf(inv, servicePath(s.key))?.servers[p.host]?.adminHold?.status === 'held');
  const rewrite = new Set(planned.filter(heldNow).map((p) => p.key));
  for (const p of planned) if (rewrite.has(p.key)) p.changed = true;
  const toWrite = planned.filter((p) => p.changed);

  const guard = guardChange(inv, toWrite, patch);
  const warnings: string[] = [];
  if (guard.refusals.length > 0) {
    if (opts.force !== true) throw new SafetyRefusal(guard.refusals.join('\n'), { refusals: guard.refusals });
    warnings.push(...guard.refusals.map((r) => `--force: going ahead although ${r.replace(/^refusing: /, '').replace(/ Use --force to override\.$/, '')}`));
  }

  if (opts.dryRun === true) return { dryRun: true, revision: null, operationId: null, changes: planned, warnings };
  await confirmMany(toWrite.map(describeChange), opts);
  if (toWrite.length === 0) return { dryRun: false, revision: null, operationId: null, changes: planned, warnings };

  // --force: each host's write carries a force marker in its own transaction, so the daemon's
  // threshold hold lets exactly that write through (model/coordinator-hold.ts R5).
  const time = new Date().toISOString();
  const hostChanges = toWrite.map((p) => ({
    key: p.key,
    patch: { ...patch },
    ...(opts.force === true
      ? { extra: [forceMarkerOp(ctx.keys, p, { op: ctx.operationId, actor: ctx.actor, reason: opts.reason ?? '', time })], rewrite: rewrite.has(p.key) }
      : {}),
  }));
  const writeOpts = { keys: ctx.keys, actor: ctx.actor, reason: opts.reason ?? '', operationId: ctx.operationId };
  // --conftool-v2: conftool's own keyspace first, then the v3 copy and audit record (write-v2.ts).
  const result = ctx.v2 !== undefined
    ? await updateHostsV2(ctx.v2, ctx.kv, hostChanges, writeOpts)
    : await updateHosts(ctx.kv, hostChanges, writeOpts);
  const byKey = new Map(result.results.map((r) => [r.key, r]));
  const changes = planned.map((p) => {
    const r = byKey.get(p.key);
    return r === undefined ? p : { ...p, before: r.before, after: r.after, changed: r.changed };
  });
  return { dryRun: false, revision: result.revision, operationId: result.operationId, changes, warnings };
}

export function describeChange(c: ChangeLine): string {
  const fields = new Set([...Object.keys(c.before ?? {}), ...Object.keys(c.after)]);
  const diffs = ['pooled', 'weight']
    .filter((f) => fields.has(f) && (c.before?.[f] !== c.after[f]))
    .map((f) => `${f} ${String(c.before?.[f] ?? '(unset)')} -> ${String(c.after[f])}`);
  return `${poolPath(c)} ${c.host}: ${diffs.length > 0 ? diffs.join(', ') : 'unchanged'}`;
}

export function reportLines(r: ChangeReport): string[] {
  const prefix = r.dryRun ? '(dry run) ' : '';
  return r.changes.map((c) => prefix + describeChange(c));
}
