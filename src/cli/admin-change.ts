// The one write path for operator admin changes (pool, depool, drain, weight, decommission, select):
// resolve → compute the change → threshold guard → confirm → one atomic, audited etcd write.
import { InvalidStoredValueError, SafetyRefusal } from '../model/errors.js';
import { servicePath } from '../model/types.js';
import { updateHosts } from '../store/write.js';
import { confirmMany } from './confirm.js';
import type { CliContext } from './context.js';
import { guardChange, type AdminPatch } from './guard.js';
import type { HostEntry, Inventory } from './inventory.js';

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
  before: Record<string, unknown> | null;
  after: Record<string, unknown>;
  changed: boolean;
}

export interface ChangeReport {
  dryRun: boolean;
  revision: number | null;
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
    throw new InvalidStoredValueError(
      `${broken.map((t) => t.invalid).join('\n')}\nrewrite ${broken.length === 1 ? 'it' : 'them'} first, e.g. etcdctl put ${broken[0].key} '{"weight": 10, "pooled": "no"}'`,
      { keys: broken.map((t) => t.key) });
  }
  const planned = targets.map((t) => {
    const before = t.value === null ? null : { ...t.value };
    const after = { ...(t.value ?? {}), ...patch } as Record<string, unknown>;
    const changed = before === null || Object.entries(patch).some(([k, v]) => before[k] !== v);
    return { key: t.key, dc: t.dc, cluster: t.cluster, service: t.service, host: t.host, before, after, changed };
  });
  const toWrite = planned.filter((p) => p.changed);

  const guard = guardChange(inv, toWrite, patch);
  const warnings: string[] = [];
  if (guard.refusals.length > 0) {
    if (opts.force !== true) throw new SafetyRefusal(guard.refusals.join('\n'), { refusals: guard.refusals });
    warnings.push(...guard.refusals.map((r) => `--force: going ahead although ${r.replace(/^refusing: /, '').replace(/ Use --force to override\.$/, '')}`));
  }

  if (opts.dryRun === true) return { dryRun: true, revision: null, changes: planned, warnings };
  await confirmMany(toWrite.map(describeChange), opts);
  if (toWrite.length === 0) return { dryRun: false, revision: null, changes: planned, warnings };

  const result = await updateHosts(
    ctx.kv,
    toWrite.map((p) => ({ key: p.key, patch: { ...patch } })),
    { keys: ctx.keys, actor: ctx.actor, reason: opts.reason ?? '' },
  );
  const byKey = new Map(result.results.map((r) => [r.key, r]));
  const changes = planned.map((p) => {
    const r = byKey.get(p.key);
    return r === undefined ? p : { ...p, before: r.before, after: r.after, changed: r.changed };
  });
  return { dryRun: false, revision: result.revision, changes, warnings };
}

export function describeChange(c: ChangeLine): string {
  const fields = new Set([...Object.keys(c.before ?? {}), ...Object.keys(c.after)]);
  const diffs = ['pooled', 'weight']
    .filter((f) => fields.has(f) && (c.before?.[f] !== c.after[f]))
    .map((f) => `${f} ${String(c.before?.[f] ?? '(unset)')} -> ${String(c.after[f])}`);
  return `${servicePath(c)} ${c.host}: ${diffs.length > 0 ? diffs.join(', ') : 'unchanged'}`;
}

export function reportLines(r: ChangeReport): string[] {
  const prefix = r.dryRun ? '(dry run) ' : '';
  return r.changes.map((c) => prefix + describeChange(c));
}
