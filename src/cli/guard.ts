// poolctl's depool-threshold guard: groups a change by conftool pool and, for every LVS service over
// that pool, asks the model's guardDepool (the same arithmetic as the coordinator) whether it keeps
// enough serving hosts. Every LVS service that would break is named.
import { guardDepool } from '../model/threshold-guard.js';
import type { ConftoolValue, HostKey, Pooled } from '../model/types.js';
import { poolPath, servicePath } from '../model/types.js';
import { poolMembers, servicesOverPool, servingOf, type Inventory } from './inventory.js';

/** An admin change to some hosts (admin-change.ts applies it; the guard judges it). */
export interface AdminPatch {
  pooled?: Pooled;
  weight?: number;
}

export interface GuardResult {
  refusals: string[];
}

function guardTarget(patch: AdminPatch): 'no' | 'inactive' | 'drain' | null {
  if (patch.pooled === 'inactive') return 'inactive';
  if (patch.pooled === 'no') return 'no';
  if (patch.weight === 0) return 'drain';
  return null;
}

/** Whether the guard judges this change at all (it takes hosts out: depool, decommission, drain). */
export function guardApplies(patch: AdminPatch): boolean {
  return guardTarget(patch) !== null;
}

/** The services over the changed pools must have been read (loadServingOverPools or loadStatesOverPools). */
export function guardChange(inv: Inventory, changes: HostKey[], patch: AdminPatch): GuardResult {
  const to = guardTarget(patch);
  if (to === null) return { refusals: [] };
  const byPool = new Map<string, HostKey[]>();
  for (const c of changes) byPool.set(poolPath(c), [...(byPool.get(poolPath(c)) ?? []), c]);
  const refusals: string[] = [];
  for (const [path, hosts] of byPool) {
    const admin: Record<string, ConftoolValue> = {};
    for (const m of poolMembers(inv, hosts[0])) if (m.value !== null) admin[m.host] = m.value;
    const leaving = hosts.map((h) => h.host).filter((h) => h in admin);
    const services = servicesOverPool(inv, hosts[0]);
    // A pool no LVS service uses (yet) is still guarded, at PyBal's default threshold, on admin state.
    const targets = services.length > 0
      ? services.map((s) => ({
        label: `LVS service ${servicePath(s.key)} (pool ${path})`,
        depoolThreshold: typeof s.def.depoolThreshold === 'number' ? s.def.depoolThreshold : 0.5,
        health: servingOf(inv, servicePath(s.key)),
      }))
      : [{ label: `pool ${path}`, depoolThreshold: 0.5, health: null }];
    for (const t of targets) {
      const r = guardDepool({ label: t.label, depoolThreshold: t.depoolThreshold, admin }, leaving, { health: t.health, to });
      if (!r.ok) refusals.push(r.message);
    }
  }
  return { refusals };
}
