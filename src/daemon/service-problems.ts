// What else is wrong with an LVS service, beside its servers, merged into one list for /alerts
// (the view's drift problems): another leader scope covering its dc, a stored definition rejected
// (the last good one runs), rejected values of its own keys or of its pool's conftool keys (the last
// good ones are kept), and drift against the deployed pybal.conf / Icinga config.
import { poolOf, poolPath, servicePath, type ServiceKey } from '../model/types.js';
import type { DriftProblem, PoolView } from '../api/state-view.js';
import type { CorruptValue, DaemonData } from './data.js';
import { overlappingScopes } from './scope-conflict.js';

export interface ServiceProblemsOptions {
  data: DaemonData;
  view: PoolView;
  /** This instance's election scope, and the other scopes that currently have a leader (live). */
  scope: string;
  otherScopes: ReadonlySet<string>;
  drift: (path: string) => readonly DriftProblem[];
}

export class ServiceProblems {
  constructor(private readonly o: ServiceProblemsOptions) {}

  /** Recomputes one LVS service's problems and hands them to the view (which alerts on a change). */
  refresh(sk: ServiceKey): void {
    const { data } = this.o;
    const path = servicePath(sk);
    const invalid = data.invalidServices.get(path);
    const def = data.services.get(path);
    const overlap = overlappingScopes(sk.dc, this.o.scope, this.o.otherScopes);
    this.o.view.setDrift(sk, [
      ...overlap.map((other) => ({
        where: 'election',
        message: `leader scopes '${this.o.scope}' and '${other}' both cover dc ${sk.dc}, so two leaders coordinate this pool; give every poold of a dc the same --dc`,
      })),
      ...(invalid === undefined ? [] : [{ where: 'etcd', message: `${invalid}; running the last good definition` }]),
      ...this.corruptFor(path, def === undefined ? undefined : poolPath(poolOf(def))).map((message) => ({ where: 'etcd', message: `${message}; keeping the last good value` })),
      ...this.o.drift(path),
    ]);
  }

  refreshAll(): void {
    for (const def of this.o.data.services.values()) this.refresh(def);
  }

  /**
   * Records (or, with undefined, clears) a value the decoding layer rejected, and refreshes the
   * problems of every LVS service it concerns when that changes.
   */
  setCorrupt(key: string, c: CorruptValue | undefined): void {
    const { data } = this.o;
    const before = data.corrupt.get(key);
    if (c === undefined ? before === undefined : before?.message === c.message) return;
    if (c === undefined) data.corrupt.delete(key);
    else data.corrupt.set(key, c);
    const concerned = before ?? c!;
    const paths = concerned.service !== undefined ? [concerned.service] : [...data.servicesOfPool(concerned.pool ?? '')];
    for (const p of paths) {
      const def = data.services.get(p);
      if (def) this.refresh(def);
    }
  }

  /** Messages of the rejected values concerning one LVS service (its own keys, or its pool's). */
  private corruptFor(path: string, pool: string | undefined): string[] {
    const out: string[] = [];
    for (const c of this.o.data.corrupt.values()) if (c.service === path || (pool !== undefined && c.pool === pool)) out.push(c.message);
    return out.sort();
  }
}
