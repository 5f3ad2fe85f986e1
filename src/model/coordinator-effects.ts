// Effects are derived by comparing the state before and after an event, so they can never disagree with
// the state the coordinator returns.
//
// Order (deterministic; PyBal's own order comes from Python sets and is arbitrary):
//   thresholdChanged;
//   then per host — the event's own host first, the others sorted by name —
//     serverAdded, adminChanged, weightChanged, health, then its pool transition
//     (depooled | repooled | forcePooled | keptPooled), then serverRemoved;
//   then thresholdUnmet; then alert.
import { poolAlertOf } from './alerts.js';
import { isEnabled, thresholdNumbers } from './coordinator-settle.js';
import type { CoordinatorEffect, CoordinatorState, PoolAlert, ThresholdNumbers } from './coordinator-types.js';
import type { Pooled } from './types.js';

/** What the diff needs of a server: satisfied by ServerState and by a published EffectiveServer. */
export interface DiffServer {
  pooledAdmin: Pooled;
  weight: number;
  up: boolean;
  pooled: boolean;
  reason: string;
}

export interface DiffView {
  depoolThreshold: number;
  servers: Record<string, DiffServer>;
  pooledDown: readonly string[];
}

export function alertOfView(name: string, view: DiffView): PoolAlert {
  let total = 0;
  for (const h in view.servers) if (view.servers[h].pooledAdmin !== 'inactive') total++;
  return poolAlertOf({ name, total, threshold: view.depoolThreshold, pooledDown: view.pooledDown });
}

export interface DiffOptions {
  /** Pool name for alert fragments. */
  name: string;
  /** The event's host: its effects come first. */
  primary?: string;
  /** Report hosts missing from `before` as serverAdded (false at a start without a previous state). */
  announceAdded: boolean;
  /** Report thresholdUnmet whenever it holds (at start), not only when it begins or its numbers change. */
  alwaysReportUnmet?: boolean;
}

export function diffEffects(before: DiffView, after: CoordinatorState, opts: DiffOptions): CoordinatorEffect[] {
  const effects: CoordinatorEffect[] = [];
  if (before.depoolThreshold !== after.depoolThreshold) {
    effects.push({ kind: 'thresholdChanged', from: before.depoolThreshold, to: after.depoolThreshold });
  }
  const numbers: ThresholdNumbers = (({ upEnabled, total, threshold, required, pooled }) => ({
    upEnabled,
    total,
    threshold,
    required,
    pooled,
  }))(thresholdNumbers(after.servers, after.depoolThreshold));
  const downBefore = new Set(before.pooledDown);
  const downAfter = new Set(after.pooledDown);

  const hosts = new Set<string>([...Object.keys(before.servers), ...Object.keys(after.servers)]);
  const ordered = [...hosts].sort();
  if (opts.primary !== undefined && hosts.has(opts.primary)) {
    ordered.splice(ordered.indexOf(opts.primary), 1);
    ordered.unshift(opts.primary);
  }

  for (const host of ordered) {
    const b = before.servers[host];
    const a = after.servers[host];
    if (a === undefined) {
      if (b.pooled) effects.push({ kind: 'depooled', host, cause: 'removed' });
      effects.push({ kind: 'serverRemoved', host });
      continue;
    }
    if (b === undefined && opts.announceAdded) effects.push({ kind: 'serverAdded', host });
    if (b !== undefined && b.pooledAdmin !== a.pooledAdmin) {
      effects.push({ kind: 'adminChanged', host, from: b.pooledAdmin, to: a.pooledAdmin });
    }
    if (b !== undefined && b.weight !== a.weight) effects.push({ kind: 'weightChanged', host, from: b.weight, to: a.weight });
    if (b !== undefined && b.up !== a.up) effects.push({ kind: 'health', host, up: a.up, reason: a.reason });
    const wasPooled = b?.pooled ?? false;
    if (wasPooled && !a.pooled) {
      effects.push({ kind: 'depooled', host, cause: isEnabled(a) ? 'down' : 'admin' });
    } else if (!wasPooled && a.pooled) {
      if (a.up) effects.push({ kind: 'repooled', host });
      else effects.push({ kind: 'forcePooled', host, ...numbers });
    } else if (wasPooled && a.pooled && downAfter.has(host) && !downBefore.has(host)) {
      effects.push({ kind: 'keptPooled', host, reason: 'couldNotDepool', ...numbers });
    }
  }

  const nb = thresholdNumbers(before.servers, before.depoolThreshold);
  const na = thresholdNumbers(after.servers, after.depoolThreshold);
  const unmetAfter = na.pooled < na.required;
  const changed = nb.pooled !== na.pooled || nb.required !== na.required || nb.enabled !== na.enabled;
  if (unmetAfter && (opts.alwaysReportUnmet === true || nb.pooled >= nb.required || changed)) {
    effects.push({ kind: 'thresholdUnmet', enabled: na.enabled, ...numbers });
  }

  const alertBefore = alertOfView(opts.name, before);
  const alertAfter = alertOfView(opts.name, after);
  if (alertBefore.status !== alertAfter.status || alertBefore.message !== alertAfter.message) {
    effects.push({ kind: 'alert', from: alertBefore, to: alertAfter });
  }
  return effects;
}

/** Adds the effects to the counters (PyBal's could_not_depool_total and friends). */
export function countEffects(counters: CoordinatorState['counters'], effects: readonly CoordinatorEffect[]): CoordinatorState['counters'] {
  const c = { ...counters };
  for (const e of effects) {
    if (e.kind === 'keptPooled') c.couldNotDepool++;
    else if (e.kind === 'forcePooled') c.forcePooled++;
    else if (e.kind === 'depooled') c.depooled++;
    else if (e.kind === 'repooled') c.repooled++;
  }
  return c;
}
