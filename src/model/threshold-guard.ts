// poolctl's safety rule (ARCHITECTURE.md §12): refuse a depool that would leave an LVS service below its depool
// threshold of serving hosts, unless --force. A conftool pool may serve many LVS services, each with its
// own threshold and published state: the caller asks once per LVS service over the pool.
//
// - Without health data (no published state yet) the serving hosts are the admin-pooled ones.
// - With health data (the published PoolState, as its ServingView), a host serves when conftool says yes
//   AND the coordinator has it pooled AND it is up. A host the state does not know yet counts as its admin
//   state says: the coordinator assumes a new host up until its first check (PyBal's default). So all the
//   guard needs of a state is which hosts it knows that do not serve: the leader publishes that list in
//   every state's header (store/state-layout.ts), and poolctl reads 44 headers, not 44 whole states.
// - A host with weight 0 (drained) takes no new connections, so it never counts as serving.
// - Total is the hosts that are not inactive (after the change: decommissioning removes from the total).
// - Depooling hosts that do not serve never reduces serving, so it is always allowed (taking a dead host
//   out must stay possible when a pool is already in trouble).
// The line is the coordinator's: ceil(total × threshold) (coordinator-threshold.ts).
import { requiredCount, thresholdProblem } from './coordinator-threshold.js';
import { compactList } from './compact-list.js';
import { NotFoundError, SafetyRefusal, UsageError } from './errors.js';
import type { ConftoolValue, PoolState } from './types.js';

/** One LVS service over a conftool pool, as the guard sees it. */
export interface GuardPool {
  /** How messages name it, e.g. `LVS service eqiad/apertium_4737 (pool kubernetes/kubesvc)`. */
  label: string;
  depoolThreshold: number;
  /** Current conftool values of the pool's hosts. */
  admin: Record<string, ConftoolValue>;
}

/** What a published state says of serving: the hosts it knows that are not pooled and up. */
export interface ServingView {
  notServing: ReadonlySet<string>;
}

/** The ServingView of a published state. */
export function servingView(state: PoolState): ServingView {
  const notServing = new Set<string>();
  for (const [host, s] of Object.entries(state.servers)) if (!(s.pooled && s.up)) notServing.add(host);
  return { notServing };
}

export interface GuardOptions {
  /** What the published effective state says, when one exists. */
  health?: ServingView | null;
  /** What the hosts become: `no` (depool, the default), `inactive` (decommission) or `drain` (weight 0). */
  to?: 'no' | 'inactive' | 'drain';
}

export interface GuardNumbers {
  pool: string;
  hosts: string[];
  basis: 'health' | 'admin';
  servingBefore: number;
  servingAfter: number;
  /** Hosts not inactive, after the change. */
  total: number;
  threshold: number;
  required: number;
}

export type GuardResult = ({ ok: true } & GuardNumbers) | ({ ok: false; message: string } & GuardNumbers);

function serving(value: ConftoolValue, host: string, health: ServingView | null | undefined): boolean {
  if (value.pooled !== 'yes' || value.weight === 0) return false;
  return health === null || health === undefined || !health.notServing.has(host);
}

export function guardDepool(pool: GuardPool, hostsToDepool: readonly string[], opts: GuardOptions = {}): GuardResult {
  const path = pool.label;
  const problem = thresholdProblem(pool.depoolThreshold);
  if (problem !== null) throw new UsageError(`${path}: ${problem}`, { pool: path });
  if (hostsToDepool.length === 0) throw new UsageError(`no hosts to depool in ${path}`, { pool: path });
  const missing = hostsToDepool.filter((h) => !Object.hasOwn(pool.admin, h));
  if (missing.length > 0) {
    throw new NotFoundError(`${compactList(missing)} ${missing.length === 1 ? 'is' : 'are'} not in ${path}`, { pool: path, hosts: missing });
  }
  const health = opts.health;
  const leaving = new Set(hostsToDepool);
  // Stryker disable next-line StringLiteral: equivalent, '' is neither 'inactive' nor 'drain', so it acts as 'no'
  const to = opts.to ?? 'no';
  let total = 0;
  let servingBefore = 0;
  let servingAfter = 0;
  for (const host of Object.keys(pool.admin)) {
    const value = pool.admin[host];
    const pooledAfter = leaving.has(host) && to === 'inactive' ? 'inactive' : value.pooled;
    if (pooledAfter !== 'inactive') total++;
    if (serving(value, host, health)) {
      servingBefore++;
      if (!leaving.has(host)) servingAfter++;
    }
  }
  const required = requiredCount(total, pool.depoolThreshold);
  const numbers: GuardNumbers = {
    pool: path,
    hosts: [...hostsToDepool],
    basis: health === null || health === undefined ? 'admin' : 'health',
    servingBefore,
    servingAfter,
    total,
    threshold: pool.depoolThreshold,
    required,
  };
  if (servingAfter >= required || servingAfter === servingBefore) return { ok: true, ...numbers };
  const verb = to === 'inactive' ? 'decommissioning' : to === 'drain' ? 'draining' : 'depooling';
  const message =
    `refusing: ${verb} ${compactList(hostsToDepool)} would leave ${servingAfter} of ${total} hosts serving in ${path}; ` +
    `the threshold ${pool.depoolThreshold} needs at least ${required}. Use --force to override.`;
  return { ok: false, message, ...numbers };
}

/** The refusal as the typed error poolctl maps to exit code 3. */
export function refusalError(result: Extract<GuardResult, { ok: false }>): SafetyRefusal {
  const { ok: _ok, message, ...context } = result;
  return new SafetyRefusal(message, { ...context });
}
