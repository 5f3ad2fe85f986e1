// Plans `poolctl sync pools/`: what to create, update and remove in etcd so that it matches the
// pool files, without ever overwriting the runtime admin state (pooled, weight) operators changed.
// Pure: the caller reads etcd, calls planSync, and writes the plan (each write bounded by etcd's limits).
//
// Two kinds of things are synced, as at a real site:
// - LVS service definitions (`<poold>/services/<dc>/<name>`), one per PyBal section;
// - conftool pools (`<conftool>/pools/<dc>/<cluster>/<service>/<host>`), which supply the real servers.
//   Many LVS services may share one pool; its hosts are planned once;
// - each such pool's server list (`<poold>/services/~pools/<dc>/<cluster>/<service>`), stored once for all
//   the definitions over it: a stored definition carries no `servers` (one that does, from an older
//   version, is rewritten without them).
// Invariant: a pool is managed by sync only when pools/ (or a stored definition sync wrote) names it.
// Conftool pools no stored definition refers to belong to some other tool and are never touched.
import type { ConftoolValue, PoolKey, Pooled, ServiceDef, ServiceKey } from './types.js';
import { poolOf, poolPath, servicePath } from './types.js';

export interface CurrentService {
  key: ServiceKey;
  /** The stored definition. */
  def: Record<string, unknown>;
}

export interface CurrentPool {
  key: PoolKey;
  hosts: Record<string, ConftoolValue>;
  /** The stored server list, when the pool has one ('unreadable': sync rewrites it). */
  list?: Record<string, unknown> | 'unreadable';
}

export interface CurrentState {
  services: CurrentService[];
  pools: CurrentPool[];
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
  /** The definition to store (merged over unknown stored fields), or null when unchanged or deleted. */
  putDef: Record<string, unknown> | null;
  defAction: 'create' | 'update' | 'none' | 'delete';
}

export interface PoolPlan {
  key: PoolKey;
  createHosts: HostCreate[];
  removeHosts: string[];
  kept: KeptDifference[];
  /** The server list to store for the definitions over this pool, or null when the stored one is right. */
  putList: ServiceDef['servers'] | null;
  /** No definition names the pool any more: its stored list goes. */
  deleteList: boolean;
}

export interface SyncPlan {
  services: ServicePlan[];
  pools: PoolPlan[];
}

export interface SyncOptions {
  /** Admin state given to hosts that sync creates. */
  newHostPooled: Pooled;
}

/** The pool a stored definition names, if it names one validly (definitions written by older versions may not). */
function storedPool(c: CurrentService): PoolKey | undefined {
  const pool = c.def.pool as { cluster?: unknown; service?: unknown } | undefined;
  if (pool === null || typeof pool !== 'object' || typeof pool.cluster !== 'string' || typeof pool.service !== 'string') return undefined;
  return { dc: c.key.dc, cluster: pool.cluster, service: pool.service };
}

export function planSync(desired: ServiceDef[], current: CurrentState, opts: SyncOptions): SyncPlan {
  const storedByPath = new Map(current.services.map((c) => [servicePath(c.key), c]));
  const poolsByPath = new Map(current.pools.map((p) => [poolPath(p.key), p]));
  const services: ServicePlan[] = [];
  const seen = new Set<string>();
  /** Pools the files define, with the servers they list (the loader guarantees one list per pool). */
  const wantedPools = new Map<string, { key: PoolKey; servers: ServiceDef['servers'] }>();

  for (const def of [...desired].sort(byServicePath)) {
    const path = servicePath(def);
    seen.add(path);
    const storedDef = storedByPath.get(path)?.def ?? null;
    const merged: Record<string, unknown> = { ...(storedDef ?? {}), ...(def as unknown as Record<string, unknown>) };
    delete merged.servers; // stored once per pool (putList below)
    const defAction = storedDef === null ? 'create' : canonical(merged) === canonical(storedDef) ? 'none' : 'update';
    services.push({ key: { dc: def.dc, name: def.name }, putDef: defAction === 'none' ? null : merged, defAction });
    const pool = poolOf(def);
    if (!wantedPools.has(poolPath(pool))) wantedPools.set(poolPath(pool), { key: pool, servers: def.servers });
  }

  // LVS services that sync once created but that the files no longer declare; the pools they named
  // are emptied below unless the files still use them.
  const abandoned = new Map<string, PoolKey>();
  for (const cur of [...current.services].sort((a, b) => byServicePath(a.key, b.key))) {
    if (seen.has(servicePath(cur.key))) continue;
    services.push({ key: cur.key, putDef: null, defAction: 'delete' });
    const pool = storedPool(cur);
    if (pool !== undefined) abandoned.set(poolPath(pool), pool);
  }

  const pools: PoolPlan[] = [];
  for (const [path, { key, servers }] of [...wantedPools].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const hosts = poolsByPath.get(path)?.hosts ?? {};
    const createHosts: HostCreate[] = [];
    const kept: KeptDifference[] = [];
    for (const host of Object.keys(servers).sort()) {
      const wanted = servers[host];
      const existing = Object.hasOwn(hosts, host) ? hosts[host] : undefined;
      if (existing === undefined) {
        createHosts.push({ host, value: { weight: wanted.weight, pooled: opts.newHostPooled } });
      } else if (existing.weight !== wanted.weight) {
        kept.push({ host, field: 'weight', file: wanted.weight, etcd: existing.weight });
      }
    }
    const removeHosts = Object.keys(hosts).filter((h) => !Object.hasOwn(servers, h)).sort();
    const stored = poolsByPath.get(path)?.list;
    const putList = stored !== undefined && stored !== 'unreadable' && canonical(stored) === canonical(servers) ? null : servers;
    pools.push({ key, createHosts, removeHosts, kept, putList, deleteList: false });
  }
  for (const [path, key] of [...abandoned].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (wantedPools.has(path)) continue;
    const cur = poolsByPath.get(path);
    pools.push({ key, createHosts: [], removeHosts: Object.keys(cur?.hosts ?? {}).sort(), kept: [], putList: null, deleteList: cur?.list !== undefined });
  }
  // A stored list no definition names (a sync that stopped between its steps): it goes too.
  for (const cur of [...current.pools].sort((a, b) => (poolPath(a.key) < poolPath(b.key) ? -1 : 1))) {
    const path = poolPath(cur.key);
    if (cur.list === undefined || wantedPools.has(path) || abandoned.has(path)) continue;
    pools.push({ key: cur.key, createHosts: [], removeHosts: [], kept: [], putList: null, deleteList: true });
  }
  return { services, pools };
}

export function planIsEmpty(plan: SyncPlan): boolean {
  return plan.services.every((s) => s.defAction === 'none') &&
    plan.pools.every((p) => p.createHosts.length === 0 && p.removeHosts.length === 0 && p.putList === null && !p.deleteList);
}

/** Human-readable diff lines, one change per line, for --dry-run and the sync report. */
export function describePlan(plan: SyncPlan): string[] {
  const lines: string[] = [];
  for (const s of plan.services) {
    const path = servicePath(s.key);
    if (s.defAction === 'create') lines.push(`+ service ${path}`);
    if (s.defAction === 'update') lines.push(`~ service ${path} (definition changed)`);
    if (s.defAction === 'delete') lines.push(`- service ${path}`);
  }
  for (const p of plan.pools) {
    const path = poolPath(p.key);
    for (const c of p.createHosts) lines.push(`+ ${path}/${c.host} ${JSON.stringify(c.value)}`);
    for (const h of p.removeHosts) lines.push(`- ${path}/${h}`);
    if (p.putList !== null) lines.push(`~ pool ${path}: server list (${Object.keys(p.putList).length} servers)`);
    if (p.deleteList) lines.push(`- pool ${path}: server list`);
    for (const k of p.kept) {
      lines.push(`= ${path}/${k.host}: weight ${k.etcd} in etcd kept (pools/ says ${k.file}; use poolctl weight to change it)`);
    }
  }
  return lines;
}

function byServicePath(a: ServiceKey, b: ServiceKey): number {
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
