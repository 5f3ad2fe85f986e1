// Applies pools/ definitions to etcd (poolctl sync, and poold at start): the hosts of each pool, then
// the LVS service definitions, creating missing hosts, never touching operators' pooled/weight, removing hosts only when every
// pools file parsed. Planning is pure (model/sync-plan); this file reads and writes.
import { ConfigError, type ConfigProblem } from '../model/errors.js';
import { describePlan, planIsEmpty, planSync, type SyncPlan } from '../model/sync-plan.js';
import type { Pooled, ServiceDef } from '../model/types.js';
import { poolPath } from '../model/types.js';
import { ConflictError } from './errors.js';
import type { Keys } from './keys.js';
import type { Kv } from './kv.js';
import { poolPlanOps, readServices, serviceDefOps } from './read.js';
import { writeAtomic } from './write.js';

export interface SyncRequest {
  /** What the loader returned. Any problem refuses the whole sync: nothing is written. */
  services: ServiceDef[];
  problems: ConfigProblem[];
}

export interface SyncOptions {
  keys: Keys;
  actor: string;
  reason: string;
  dryRun: boolean;
  newHostPooled: Pooled;
}

export interface SyncReport {
  dryRun: boolean;
  plan: SyncPlan;
  lines: string[];
  /** Revision of each write: one per changed pool (`<dc>/<cluster>/<service>`), then `services` for the definitions. */
  written: { what: string; revision: number }[];
}

export async function syncServices(kv: Kv, req: SyncRequest, opts: SyncOptions): Promise<SyncReport> {
  if (req.problems.length > 0) throw new ConfigError(req.problems);
  for (let attempt = 1; ; attempt++) {
    // A garbage host value another tool wrote stops the sync (InvalidStoredValueError naming the key):
    // sync never overwrites hosts, so it must not guess either.
    const snapshot = await readServices(kv, opts.keys);
    const plan = planSync(req.services, snapshot.current, { newHostPooled: opts.newHostPooled });
    const lines = describePlan(plan);
    if (opts.dryRun || planIsEmpty(plan)) return { dryRun: opts.dryRun, plan, lines, written: [] };
    const written: SyncReport['written'] = [];
    const audit = { keys: opts.keys, actor: opts.actor, reason: opts.reason };
    try {
      // Hosts first, so a new LVS service finds its pool's servers when its definition appears.
      for (const p of plan.pools) {
        const ops = poolPlanOps(opts.keys, p, snapshot);
        if (ops.length === 0) continue;
        const r = await writeAtomic(kv, ops, audit);
        written.push({ what: poolPath(p.key), revision: r.revision });
      }
      const defOps = serviceDefOps(opts.keys, plan.services, snapshot);
      if (defOps.length > 0) written.push({ what: 'services', revision: (await writeAtomic(kv, defOps, audit)).revision });
      return { dryRun: false, plan, lines, written };
    } catch (err) {
      // Someone changed a key while we planned it: plan again from a fresh read. What was already
      // written is then a no-op, so nothing is written twice.
      if (!(err instanceof ConflictError) || attempt >= 5) throw err;
    }
  }
}
