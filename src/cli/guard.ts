// poolctl's depool-threshold guard: refuse a change that would leave a pool with fewer serving
// hosts than ceil(total × threshold). Serving means pooled and up in the published effective state;
// until poold has published health for a pool, admin-pooled hosts count as serving.
import { requiredCount } from '../model/coordinator-threshold.js';
import type { HostKey } from '../model/types.js';
import { servicePath } from '../model/types.js';
import type { AdminPatch } from './admin-change.js';
import { poolMembers, type Inventory } from './inventory.js';

export interface GuardResult {
  refusals: string[];
}

function removesServing(patch: AdminPatch): boolean {
  return patch.pooled === 'no' || patch.pooled === 'inactive' || patch.weight === 0;
}

export function guardChange(inv: Inventory, changes: HostKey[], patch: AdminPatch): GuardResult {
  if (!removesServing(patch)) return { refusals: [] };
  const byPool = new Map<string, HostKey[]>();
  for (const c of changes) byPool.set(servicePath(c), [...(byPool.get(servicePath(c)) ?? []), c]);
  const refusals: string[] = [];
  for (const [path, hosts] of byPool) {
    const def = inv.services.get(path);
    const threshold = typeof def?.depoolThreshold === 'number' ? def.depoolThreshold : 0.5;
    const members = poolMembers(inv, hosts[0]);
    const state = inv.states.get(path);
    const leaving = new Set(hosts.map((h) => h.host));
    // Decommissioning shrinks the total as well as the serving count.
    const total = members.filter((m) => m.value?.pooled !== 'inactive' && !(patch.pooled === 'inactive' && leaving.has(m.host))).length;
    const serving = members.filter((m) => {
      if (m.value === null || m.value.pooled !== 'yes' || m.value.weight === 0) return false;
      const eff = state?.servers[m.host];
      return eff === undefined ? true : eff.pooled && eff.up;
    });
    const basis = state === undefined ? 'admin-pooled (no health published yet)' : 'serving (pooled and up)';
    const after = serving.filter((m) => !leaving.has(m.host)).length;
    const need = requiredCount(total, threshold);
    // Taking out hosts that serve nothing anyway (down, drained) never makes the pool smaller.
    if (after < need && after < serving.length) {
      refusals.push(
        `refusing: this would leave ${after} of ${total} hosts ${basis} in ${path} ` +
          `(now ${serving.length}); its depool threshold ${threshold} needs at least ${need}. ` +
          `Repool or fix another host first. Use --force to override.`,
      );
    }
  }
  return { refusals };
}
