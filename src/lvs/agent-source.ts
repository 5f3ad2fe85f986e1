// Where the LVS agent learns service definitions and pool states: etcd (watch) or poold's JSON API
// (event stream, polling as the fallback). Both give the same snapshot; the agent does not care which one it has.
import type { PoolState, ServiceDef } from '../model/types.js';

export interface ServiceInputs {
  def?: ServiceDef;
  state?: PoolState;
  /** Why the stored def or state could not be used (the agent then leaves the service alone). */
  problem?: string;
}

export interface AgentSource {
  readonly kind: 'etcd' | 'poold';
  /** Begins watching/polling. Never throws for an unreachable store: it retries and reports unhealthy. */
  start(onChange: (services: string[]) => void): Promise<void>;
  stop(): Promise<void>;
  /** True when the source is reachable and its snapshot is current. */
  healthy(): boolean;
  /** Asks the store right now whether it is reachable (the periodic reconcile calls this first). */
  probe(): Promise<boolean>;
  lastError(): string | undefined;
  /** servicePath → what is known about it. */
  snapshot(): ReadonlyMap<string, ServiceInputs>;
  /** Source-specific facts for /status (the poold source: stream or polling, resumes, fetches). */
  detail?(): object;
}

/** `dc/name` (LVS service) list → predicate; undefined selects everything. */
export function serviceFilter(services: readonly string[] | undefined): (path: string) => boolean {
  if (!services || services.length === 0) return () => true;
  const set = new Set(services);
  return (path) => set.has(path);
}

