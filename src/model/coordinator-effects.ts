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
  /** In host-name order. */
  servers: ReadonlyMap<string, DiffServer>;
  pooledDown: readonly string[];
}

export function alertOfView(name: string, view: DiffView, total: number): PoolAlert {
  return poolAlertOf({ name, total, threshold: view.depoolThreshold, pooledDown: view.pooledDown });
}

/** The hosts of both views, sorted, by merging their (sorted) key orders. */
function unionSorted(a: ReadonlyMap<string, unknown>, b: ReadonlyMap<string, unknown>): string[] {
  const ka = [...a.keys()];
  const kb = [...b.keys()];
  const out: string[] = [];
  let i = 0;
  let j = 0;
  while (i < ka.length || j < kb.length) {
    if (j >= kb.length || (i < ka.length && ka[i] < kb[j])) out.push(ka[i++]);
    else if (i >= ka.length || kb[j] < ka[i]) out.push(kb[j++]);
    else {
      out.push(ka[i++]);
      j++;
    }
  }
  return out;
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
  const na = thresholdNumbers(after.servers.values(), after.depoolThreshold);
  const nb = thresholdNumbers(before.servers.values(), before.depoolThreshold);
  const numbers: ThresholdNumbers = {
    upEnabled: na.upEnabled,
    total: na.total,
    threshold: na.threshold,
    required: na.required,
    pooled: na.pooled,
  };
  const downBefore = new Set(before.pooledDown);
  const downAfter = new Set(after.pooledDown);

  const ordered = unionSorted(before.servers, after.servers);
  if (opts.primary !== undefined) {
    const at = ordered.indexOf(opts.primary);
    if (at > 0) {
      ordered.splice(at, 1);
      ordered.unshift(opts.primary);
    }
  }

  for (const host of ordered) {
    const b = before.servers.get(host);
    const a = after.servers.get(host);
    if (a === b) continue; // the same object: nothing about this host changed
    if (a === undefined) {
      if (b === undefined) continue;
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

  const unmetAfter = na.pooled < na.required;
  const changed = nb.pooled !== na.pooled || nb.required !== na.required || nb.enabled !== na.enabled;
  if (unmetAfter && (opts.alwaysReportUnmet === true || nb.pooled >= nb.required || changed)) {
    effects.push({ kind: 'thresholdUnmet', enabled: na.enabled, ...numbers });
  }

  const alertBefore = alertOfView(opts.name, before, nb.total);
  const alertAfter = alertOfView(opts.name, after, na.total);
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
