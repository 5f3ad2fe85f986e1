// Plans `poolctl sync pools/`: what to create, update and remove in etcd so that it matches the
// pool files, without ever overwriting the runtime admin state (pooled, weight) operators changed.
// Pure: the caller reads etcd, calls planSync, and writes each service's plan in one transaction.
import type { ConftoolValue, Pooled, ServiceDef, ServiceKey } from './types.js';
import { servicePath } from './types.js';

export interface CurrentService {
  key: ServiceKey;
  /** The stored definition, or null when only conftool keys exist (unmanaged by pools/). */
  def: Record<string, unknown> | null;
  hosts: Record<string, ConftoolValue>;
}

export interface HostCreate {
  host: string;
  value: ConftoolValue;
}

/** A difference between pools/ and etcd that sync deliberately leaves alone, reported to the operator. */
export interface KeptDifference {
  host: string;
  field: 'weight';
  file: number;
  etcd: number;
}

export interface ServicePlan {
  key: ServiceKey;
  /** The definition to store (merged over unknown stored fields), or null when unchanged. */
  putDef: Record<string, unknown> | null;
  defAction: 'create' | 'update' | 'none' | 'delete';
  createHosts: HostCreate[];
  removeHosts: string[];
  kept: KeptDifference[];
}

export interface SyncOptions {
  /** Admin state given to hosts that sync creates. */
  newHostPooled: Pooled;
}

export function planSync(desired: ServiceDef[], current: CurrentService[], opts: SyncOptions): ServicePlan[] {
  const currentByPath = new Map(current.map((c) => [servicePath(c.key), c]));
  const plans: ServicePlan[] = [];
  const seen = new Set<string>();

  for (const def of [...desired].sort(byPath)) {
    const path = servicePath(def);
    seen.add(path);
    const cur = currentByPath.get(path);
    const storedDef = cur?.def ?? null;
    const merged = { ...(storedDef ?? {}), ...(def as unknown as Record<string, unknown>) };
    const defAction = storedDef === null ? 'create' : canonical(merged) === canonical(storedDef) ? 'none' : 'update';
    const hosts = cur?.hosts ?? {};
    const createHosts: HostCreate[] = [];
    const kept: KeptDifference[] = [];
    for (const host of Object.keys(def.servers).sort()) {
      const wanted = def.servers[host];
      const existing = hosts[host];
      if (existing === undefined) {
        createHosts.push({ host, value: { weight: wanted.weight, pooled: opts.newHostPooled } });
      } else if (existing.weight !== wanted.weight) {
        kept.push({ host, field: 'weight', file: wanted.weight, etcd: existing.weight });
      }
    }
    const removeHosts = Object.keys(hosts).filter((h) => !(h in def.servers)).sort();
    plans.push({ key: pick(def), putDef: defAction === 'none' ? null : merged, defAction, createHosts, removeHosts, kept });
  }

  // Services that sync once created (they have a stored definition) but that the files no longer declare.
  // Conftool keys without a poold definition belong to some other tool and are left alone.
  for (const cur of [...current].sort((a, b) => byPath(a.key, b.key))) {
    const path = servicePath(cur.key);
    if (seen.has(path) || cur.def === null) continue;
    plans.push({
      key: cur.key,
      putDef: null,
      defAction: 'delete',
      createHosts: [],
      removeHosts: Object.keys(cur.hosts).sort(),
      kept: [],
    });
  }
  return plans;
}

export function planIsEmpty(plan: ServicePlan): boolean {
  return plan.defAction === 'none' && plan.createHosts.length === 0 && plan.removeHosts.length === 0;
}

/** Human-readable diff lines, one change per line, for --dry-run and the sync report. */
export function describePlan(plan: ServicePlan): string[] {
  const path = servicePath(plan.key);
  const lines: string[] = [];
  if (plan.defAction === 'create') lines.push(`+ service ${path}`);
  if (plan.defAction === 'update') lines.push(`~ service ${path} (definition changed)`);
  if (plan.defAction === 'delete') lines.push(`- service ${path}`);
  for (const c of plan.createHosts) lines.push(`+ ${path}/${c.host} ${JSON.stringify(c.value)}`);
  for (const h of plan.removeHosts) lines.push(`- ${path}/${h}`);
  for (const k of plan.kept) {
    lines.push(`= ${path}/${k.host}: weight ${k.etcd} in etcd kept (pools/ says ${k.file}; use poolctl weight to change it)`);
  }
  return lines;
}

function pick(k: ServiceKey): ServiceKey {
  return { dc: k.dc, cluster: k.cluster, service: k.service };
}

function byPath(a: ServiceKey, b: ServiceKey): number {
  const pa = servicePath(a);
  const pb = servicePath(b);
  return pa < pb ? -1 : pa > pb ? 1 : 0;
}

/** JSON with sorted keys, so key order written by other tools never counts as a change. */
export function canonical(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return v;
    const o = v as Record<string, unknown>;
    return Object.fromEntries(Object.keys(o).sort().map((k) => [k, o[k]]));
  });
}
