// Applies pools/ definitions to etcd (poolctl sync, and poold at start): deleted LVS service
// definitions, then each conftool pool's hosts, then new and changed definitions (each write one
// transaction, or bounded chunks of one when it is bigger than etcd's limits allow), creating missing hosts, never touching operators' pooled/weight, removing hosts only when every
// pools file parsed. Planning is pure (model/sync-plan); this file reads and writes. All the audit
// records of one sync share one operation id.
import { compactList } from '../model/compact-list.js';
import { ConfigError, type ConfigProblem } from '../model/errors.js';
import { describePlan, planIsEmpty, planSync, type SyncPlan } from '../model/sync-plan.js';
import type { Pooled, ServiceDef } from '../model/types.js';
import { poolPath } from '../model/types.js';
import { newOperationId } from './audit.js';
import { ConflictError, PartialWriteError } from './errors.js';
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
  /** On every audit record of this sync (default: a new one). */
  operationId?: string;
}

export interface SyncReport {
  dryRun: boolean;
  plan: SyncPlan;
  lines: string[];
  /** Revision of each write's (last) transaction: `definitions` (deleted), `<dc>/<cluster>/<service>` per pool, then `definitions`. */
  written: { what: string; revision: number }[];
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
    const plan = planSync(req.services, snapshot.current, { newHostPooled: opts.newHostPooled });
    const lines = describePlan(plan);
    if (opts.dryRun || planIsEmpty(plan)) return { dryRun: opts.dryRun, plan, lines, written: [], operationId };
    const written: SyncReport['written'] = [];
    // Deleted definitions first (a removed LVS service disappears at once, before its hosts go), then
    // hosts (a new LVS service finds its pool's servers when its definition appears), then definitions.
    const steps = [
      { what: 'definitions', ops: serviceDefOps(opts.keys, plan.services.filter((s) => s.defAction === 'delete'), snapshot) },
      ...plan.pools.map((p) => ({ what: poolPath(p.key), ops: poolPlanOps(opts.keys, p, snapshot) })),
      { what: 'definitions', ops: serviceDefOps(opts.keys, plan.services.filter((s) => s.defAction !== 'delete'), snapshot) },
    ].filter((step) => step.ops.length > 0);
    try {
      for (const step of steps) {
        try {
          const r = await writeAtomic(kv, step.ops, { keys: opts.keys, actor: opts.actor, reason: opts.reason, operationId });
          written.push({ what: step.what, revision: r.revision });
          for (const o of step.ops) done.add(o.key);
        } catch (err) {
          if (err instanceof PartialWriteError) for (const k of err.done) done.add(k);
          throw err;
        }
      }
      return { dryRun: false, plan, lines, written, operationId };
    } catch (err) {
      // Someone changed a key while we planned it: plan again from a fresh read. What (and which
      // chunks) already landed is then a no-op, so nothing is written twice.
      if (isConflict(err) && attempt < 5) continue;
      if (done.size === 0) throw err;
      // Something landed: say exactly what, for the whole sync, whichever step failed.
      const cause = err instanceof PartialWriteError ? err.cause : err;
      const notDone = steps.flatMap((step) => step.ops.map((o) => o.key)).filter((k) => !done.has(k));
      throw new PartialWriteError(
        `sync partly written (operation ${operationId}): ${done.size} key(s) done, ${notDone.length} not ` +
        `(not done: ${compactList(notDone)}): ${(cause as Error).message}; the same sync again completes it`,
        operationId, [...done], notDone, cause);
    }
  }
}
