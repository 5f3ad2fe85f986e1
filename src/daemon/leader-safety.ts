// The leader's side of issue 14 (the decisions are in src/model: coordinator-gates.ts, correlated.ts):
// timers that wake a service when its first round or freeze ends, whether a verdict covers every
// check of the definition (a first verdict), and the correlated-failure verdict from the coordinator
// state and the live observations.
import type { CoordinatorState } from '../model/coordinator-types.js';
import { correlatedFailure, DEFAULT_CORRELATED_SHARE, type CorrelatedFailure, type FailingServer } from '../model/correlated.js';
import type { Observation, ServiceDef } from '../model/types.js';

/** One timer per LVS service, for the next time one of its gates ends by itself. */
export class GateTimers {
  private readonly timers = new Map<string, { at: number; timer: NodeJS.Timeout }>();

  constructor(private readonly now: () => number) {}

  /** Wakes `fire` at `at` (replacing an earlier timer of this service); undefined clears it. */
  schedule(path: string, at: number | undefined, fire: () => void): void {
    const cur = this.timers.get(path);
    if (cur !== undefined && cur.at === at) return;
    if (cur !== undefined) clearTimeout(cur.timer);
    this.timers.delete(path);
    if (at === undefined) return;
    // +5 ms: the coordinator compares `at < deadline`, so wake just after it.
    const timer = setTimeout(() => {
      this.timers.delete(path);
      fire();
    }, Math.max(0, at - this.now()) + 5);
    timer.unref();
    this.timers.set(path, { at, timer });
  }

  clear(): void {
    for (const t of this.timers.values()) clearTimeout(t.timer);
    this.timers.clear();
  }
}

/** Whether every live observation covers every check of the definition (so the verdict is a first verdict). */
export function coversChecks(obs: readonly Observation[], live: Iterable<string>, def: ServiceDef): boolean {
  const alive = new Set(live);
  const names = def.checks.map((c) => c.name);
  return obs.filter((o) => alive.has(o.observer)).every((o) => o.checks !== undefined && names.every((n) => Object.hasOwn(o.checks, n)));
}

/** A signature of the checks: a change of checks starts a new first round (every server needs a fresh verdict). */
export function checksSignature(def: ServiceDef): string {
  return JSON.stringify(def.checks);
}

/**
 * The correlated failure of a service now, if any: its down members, each with the checks the live
 * observers that see it down say fail, and the time it went down.
 */
export function correlatedOf(
  state: CoordinatorState,
  def: ServiceDef,
  observations: ReadonlyMap<string, ReadonlyMap<string, Observation>> | undefined,
  live: Iterable<string>,
): CorrelatedFailure | undefined {
  const alive = new Set(live);
  const failing: FailingServer[] = [];
  let total = 0;
  for (const s of state.servers.values()) {
    if (!s.registered || s.pooledAdmin === 'inactive') continue;
    total++;
    if (s.up || !s.checked) continue;
    const checks = new Set<string>();
    for (const o of observations?.get(s.host)?.values() ?? []) {
      if (!alive.has(o.observer) || o.up) continue;
      for (const [name, c] of Object.entries(o.checks ?? {})) if (!c.up) checks.add(name);
    }
    failing.push({ host: s.host, checks: [...checks], since: s.since });
  }
  return correlatedFailure({ checks: def.checks, share: def.correlatedFailureShare ?? DEFAULT_CORRELATED_SHARE, total, failing });
}
