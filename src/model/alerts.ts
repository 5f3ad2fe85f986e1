// PyBal's /alerts, byte for byte (pybal/instrumentation.py, class Alerts), plus poold's own causes
// (flapping, drift, stale state) folded into the same shape.
//
// PyBal's rules, kept exactly:
// - A pool with pooled-down servers is CRITICAL: `<pool>: Servers a, b are marked down but pooled`.
// - Otherwise a pool with more than one server where depooling one would break the threshold
//   (`total < total * threshold + 1`) is WARNING: `Pool <p> is too small to allow depooling. ` (note the
//   trailing space: PyBal appends one sentence per pool, each ending in ". ").
// - Any CRITICAL wins: the message lists only the critical parts, joined by "; ", and warnings are dropped.
// - Nothing to report: `OK - All pools are healthy`.
// PyBal iterates dicts and sets in arbitrary order; poold sorts pools and hosts by name (code-unit order,
// independent of locale) so the text is deterministic. Pool-less extra causes come after all pools.
import { tooSmallToDepool } from './coordinator-threshold.js';
import type { PoolAlert } from './coordinator-types.js';
import { poolName, type PoolState } from './types.js';
import { byName } from './order.js';

export type AlertStatus = 'ok' | 'warning' | 'critical';

/** A further reason to alert, from outside the threshold logic (flapping, drift, stale state...). */
export interface AlertCause {
  /** Pool (PyBal section) name; omit for causes about poold as a whole. */
  pool?: string;
  severity: 'warning' | 'critical';
  /** A sentence without trailing punctuation, e.g. `Servers a, b are flapping`. */
  message: string;
}

/** The /alerts answer; `alertsText` and `alertsJson` render it. */
export interface AlertsResult {
  status: AlertStatus;
  msg: string;
}

export const OK_MESSAGE = 'All pools are healthy';

/** What PyBal needs to know about one pool to compute its alert. */
export interface PoolAlertInput {
  name: string;
  /** Servers that are pool members (not inactive). */
  total: number;
  threshold: number;
  pooledDown: readonly string[];
}


export function poolAlertInput(state: PoolState, name: string = poolName(state)): PoolAlertInput {
  let total = 0;
  for (const s of Object.values(state.servers)) if (s.pooledAdmin !== 'inactive') total++;
  return { name, total, threshold: state.depoolThreshold, pooledDown: state.pooledDown };
}

/**
 * One pool's alert fragment, exactly as it appears in PyBal's /alerts message:
 * critical `cxserver: Servers a, b are marked down but pooled`, warning `Pool cxserver is too small to allow depooling. `.
 */
export function poolAlertOf(input: PoolAlertInput): PoolAlert {
  if (input.pooledDown.length > 0) {
    const hosts = [...input.pooledDown].sort(byName).join(', ');
    return { status: 'critical', message: `${input.name}: Servers ${hosts} are marked down but pooled` };
  }
  if (tooSmallToDepool(input.total, input.threshold)) {
    return { status: 'warning', message: `Pool ${input.name} is too small to allow depooling. ` };
  }
  return { status: 'ok', message: '' };
}

/** Renders an extra cause in the shape of PyBal's own fragments. */
function causeFragment(c: AlertCause): string {
  if (c.severity === 'critical') return c.pool === undefined ? c.message : `${c.pool}: ${c.message}`;
  return c.pool === undefined ? `${c.message}. ` : `Pool ${c.pool} ${c.message}. `;
}

/**
 * Folds PyBal fragments and extra causes into one answer: CRITICAL > WARNING > OK.
 * `fragments` must already be PoolAlerts; most callers want `computeAlerts`.
 */
export function foldAlerts(pools: readonly { name: string; alert: PoolAlert }[], extra: readonly AlertCause[] = []): AlertsResult {
  const critical: string[] = [];
  const warning: string[] = [];
  // Stryker disable next-line MethodExpression,ArrowFunction: equivalent, the pools are not sorted here for the output: names are sorted again below, and alertByName keeps the input order of equal names either way (Array.prototype.sort is stable)
  const sortedPools = [...pools].sort((a, b) => byName(a.name, b.name));
  const extraByPool = new Map<string, AlertCause[]>();
  const global: AlertCause[] = [];
  for (const c of extra) {
    // Stryker disable next-line ConditionalExpression,BlockStatement: equivalent, a pool-less cause stored under the key undefined still comes last: Array.prototype.sort moves undefined to the end, and its message is built the same way (the ConditionalExpression `true` mutant on this line is killed; Stryker disables per mutator and line)
    if (c.pool === undefined) {
      global.push(c);
      continue;
    }
    const list = extraByPool.get(c.pool) ?? [];
    list.push(c);
    extraByPool.set(c.pool, list);
  }
  const push = (c: AlertCause): void => {
    (c.severity === 'critical' ? critical : warning).push(causeFragment(c));
  };
  // Extra causes may name pools poold has no state for (e.g. drift on a pool that failed to load).
  const names = new Set<string>(sortedPools.map((p) => p.name));
  for (const name of extraByPool.keys()) names.add(name);
  const alertByName = new Map<string, PoolAlert[]>();
  // Stryker disable next-line ArrayDeclaration: equivalent, a string in the list has no status, so the loop below skips it (the `[]` mutant of this line is killed; Stryker disables per mutator and line)
  for (const p of sortedPools) alertByName.set(p.name, [...(alertByName.get(p.name) ?? []), p.alert]);
  for (const name of [...names].sort(byName)) {
    // Stryker disable next-line ArrayDeclaration: equivalent, a string in the list has no status, so it is skipped
    for (const a of alertByName.get(name) ?? []) {
      if (a.status === 'critical') critical.push(a.message);
      else if (a.status === 'warning') warning.push(a.message);
    }
    for (const c of extraByPool.get(name) ?? []) push(c);
  }
  for (const c of global) push(c);
  if (critical.length > 0) return { status: 'critical', msg: critical.join('; ') };
  if (warning.length > 0) return { status: 'warning', msg: warning.join('') };
  return { status: 'ok', msg: OK_MESSAGE };
}

/** PyBal's /alerts for these pools, plus extra causes. */
export function computeAlerts(
  pools: readonly PoolState[],
  extra: readonly AlertCause[] = [],
  nameOf: (state: PoolState) => string = poolName,
): AlertsResult {
  return foldAlerts(
    pools.map((p) => {
      const name = nameOf(p);
      return { name, alert: poolAlertOf(poolAlertInput(p, name)) };
    }),
    extra,
  );
}

/** The text/plain body: `OK - All pools are healthy`. */
export function alertsText(result: AlertsResult): string {
  return `${result.status.toUpperCase()} - ${result.msg}`;
}

/** The application/json body, with Python json.dumps separators as PyBal sends it. */
export function alertsJson(result: AlertsResult): string {
  return `{"status": ${JSON.stringify(result.status)}, "msg": ${JSON.stringify(result.msg)}}`;
}

/** CRITICAL cause for a pool whose (non-inactive) servers flap: `Servers a, b are flapping`. */
export function flappingCause(state: PoolState, name: string = poolName(state)): AlertCause | null {
  const hosts = Object.keys(state.servers)
    .filter((h) => state.servers[h].flapping && state.servers[h].pooledAdmin !== 'inactive')
    .sort(byName);
  if (hosts.length === 0) return null;
  return { pool: name, severity: 'critical', message: `Servers ${hosts.join(', ')} are flapping` };
}

/** WARNING cause for a pool whose published state is older than it should be: `state stale for 42s`. */
export function staleStateCause(pool: string, ageMs: number): AlertCause {
  return { pool, severity: 'warning', message: `state stale for ${Math.floor(ageMs / 1000)}s` };
}
