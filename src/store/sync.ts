// Applies pools/ definitions to etcd (poolctl sync, and poold at start): one write per service (one
// transaction, or bounded chunks of one when the service is bigger than etcd's limits allow),
// creating missing hosts, never touching operators' pooled/weight, removing hosts only when every
// pools file parsed. Planning is pure (model/sync-plan); this file reads and writes. All the audit
// records of one sync share one operation id.
import { compactList } from '../model/compact-list.js';
import { ConfigError, type ConfigProblem } from '../model/errors.js';
import { describePlan, planIsEmpty, planSync, type ServicePlan } from '../model/sync-plan.js';
import type { Pooled, ServiceDef } from '../model/types.js';
import { servicePath } from '../model/types.js';
import { newOperationId } from './audit.js';
import { ConflictError, PartialWriteError } from './errors.js';
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
  /** On every audit record of this sync (default: a new one). */
  operationId?: string;
}

export interface SyncReport {
  dryRun: boolean;
  plans: ServicePlan[];
  lines: string[];
  /** Revision of each service's (last) transaction. */
  written: { service: string; revision: number }[];
  operationId: string;
}

/** Lost a race with another writer (possibly after some chunks landed): plan again from a fresh read. */
function isConflict(err: unknown): boolean {
  return err instanceof ConflictError || (err instanceof PartialWriteError && err.cause instanceof ConflictError);
}

export async function syncServices(kv: Kv, req: SyncRequest, opts: SyncOptions): Promise<SyncReport> {
  if (req.problems.length > 0) throw new ConfigError(req.problems);
  const operationId = opts.operationId ?? newOperationId();
  // Keys this sync committed, across re-plans: what a partial failure reports as done.
  const done = new Set<string>();
  for (let attempt = 1; ; attempt++) {
    // A garbage host value another tool wrote stops the sync (InvalidStoredValueError naming the key):
    // sync never overwrites hosts, so it must not guess either.
    const snapshot = await readServices(kv, opts.keys);
    const plans = planSync(req.services, snapshot.services, { newHostPooled: opts.newHostPooled });
    const lines = plans.flatMap(describePlan);
    if (opts.dryRun) return { dryRun: true, plans, lines, written: [], operationId };
    const written: SyncReport['written'] = [];
    const pending = plans.filter((p) => !planIsEmpty(p)).map((p) => ({ plan: p, ops: servicePlanOps(opts.keys, p, snapshot) }));
    try {
      for (const { plan, ops } of pending) {
        try {
          const r = await writeAtomic(kv, ops, { keys: opts.keys, actor: opts.actor, reason: opts.reason, operationId });
          written.push({ service: servicePath(plan.key), revision: r.revision });
          for (const o of ops) done.add(o.key);
        } catch (err) {
          if (err instanceof PartialWriteError) for (const k of err.done) done.add(k);
          throw err;
        }
      }
      return { dryRun: false, plans, lines, written, operationId };
    } catch (err) {
      // Someone changed a service while we planned it: plan again from a fresh read. Services (and
      // chunks) already written are then no-ops, so nothing is written twice.
      if (isConflict(err) && attempt < 5) continue;
      if (done.size === 0) throw err;
      // Something landed: say exactly what, for the whole sync, whichever service failed.
      const cause = err instanceof PartialWriteError ? err.cause : err;
      const notDone = pending.flatMap((p) => p.ops.map((o) => o.key)).filter((k) => !done.has(k));
      throw new PartialWriteError(
        `sync partly written (operation ${operationId}): ${done.size} key(s) done, ${notDone.length} not ` +
        `(not done: ${compactList(notDone)}): ${(cause as Error).message}; the same sync again completes it`,
        operationId, [...done], notDone, cause);
    }
  }
}
