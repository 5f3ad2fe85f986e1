// poolctl's depool-threshold guard: groups a change by pool and asks the model's guardDepool (the
// same arithmetic as the coordinator) whether each pool keeps enough serving hosts.
import { guardDepool } from '../model/threshold-guard.js';
import type { ConftoolValue, HostKey, Pooled } from '../model/types.js';
import { servicePath } from '../model/types.js';
import { poolMembers, type Inventory } from './inventory.js';

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

export function guardChange(inv: Inventory, changes: HostKey[], patch: AdminPatch): GuardResult {
  const to = guardTarget(patch);
  if (to === null) return { refusals: [] };
  const byPool = new Map<string, HostKey[]>();
  for (const c of changes) byPool.set(servicePath(c), [...(byPool.get(servicePath(c)) ?? []), c]);
  const refusals: string[] = [];
  for (const [path, hosts] of byPool) {
    const def = inv.services.get(path);
    const admin: Record<string, ConftoolValue> = {};
    for (const m of poolMembers(inv, hosts[0])) if (m.value !== null) admin[m.host] = m.value;
    const r = guardDepool(
      { ...hosts[0], depoolThreshold: typeof def?.depoolThreshold === 'number' ? def.depoolThreshold : 0.5, admin },
      hosts.map((h) => h.host).filter((h) => h in admin),
      { health: inv.states.get(path) ?? null, to },
    );
    if (!r.ok) refusals.push(r.message);
  }
  return { refusals };
}
