// Applies pools/ definitions to etcd (poolctl sync, and poold at start): one transaction per service,
// creating missing hosts, never touching operators' pooled/weight, removing hosts only when every
// pools file parsed. Planning is pure (model/sync-plan); this file reads and writes.
import { ConfigError, type ConfigProblem } from '../model/errors.js';
import { describePlan, planIsEmpty, planSync, type ServicePlan } from '../model/sync-plan.js';
import type { Pooled, ServiceDef } from '../model/types.js';
import { servicePath } from '../model/types.js';
import { ConflictError } from './errors.js';
import type { Keys } from './keys.js';
import type { Kv } from './kv.js';
import { readServices, servicePlanOps } from './read.js';
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
  plans: ServicePlan[];
  lines: string[];
  /** Revision of each service's transaction. */
  written: { service: string; revision: number }[];
}

export async function syncServices(kv: Kv, req: SyncRequest, opts: SyncOptions): Promise<SyncReport> {
  if (req.problems.length > 0) throw new ConfigError(req.problems);
  for (let attempt = 1; ; attempt++) {
    // A garbage host value another tool wrote stops the sync (InvalidStoredValueError naming the key):
    // sync never overwrites hosts, so it must not guess either.
    const snapshot = await readServices(kv, opts.keys);
    const plans = planSync(req.services, snapshot.services, { newHostPooled: opts.newHostPooled });
    const lines = plans.flatMap(describePlan);
    if (opts.dryRun) return { dryRun: true, plans, lines, written: [] };
    const written: SyncReport['written'] = [];
    try {
      for (const plan of plans) {
        if (planIsEmpty(plan)) continue;
        const r = await writeAtomic(kv, servicePlanOps(opts.keys, plan, snapshot), { keys: opts.keys, actor: opts.actor, reason: opts.reason });
        written.push({ service: servicePath(plan.key), revision: r.revision });
      }
      return { dryRun: false, plans, lines, written };
    } catch (err) {
      // Someone changed a service while we planned it: plan again from a fresh read. Services already
      // written are then no-ops, so each service still lands in exactly one transaction.
      if (!(err instanceof ConflictError) || attempt >= 5) throw err;
    }
  }
}
