// Effects are derived by comparing each changed server before and after an event, so they can never
// disagree with the state the coordinator returns.
//
// Order (deterministic; PyBal's own order comes from Python sets and is arbitrary):
//   thresholdChanged;
//   then per changed host — the event's own host first, the others sorted by name —
//     serverAdded, adminChanged, weightChanged, health, then its pool transition
//     (depooled | repooled | forcePooled | keptPooled), then serverRemoved;
//   then thresholdUnmet;
//   and after all events of the call, alert (once).
import { isEnabled, type PoolNumbers } from './coordinator-settle.js';
import type { CoordinatorEffect, CoordinatorState, PoolAlert, ThresholdNumbers } from './coordinator-types.js';
import type { Pooled } from './types.js';
import { byName } from './order.js';

/** What the diff needs of a server: satisfied by ServerState and by a published EffectiveServer. */
export interface DiffServer {
  pooledAdmin: Pooled;
  weight: number;
  up: boolean;
  pooled: boolean;
  reason: string;
}

/** The pool-wide facts compared before and after an event. */
export interface PoolSummary {
  threshold: number;
  numbers: PoolNumbers;
}

export interface DiffOptions {
  /** The event's host: its effects come first. */
  primary?: string;
  /** Report hosts that did not exist before as serverAdded (false at a start without a previous state). */
  announceAdded: boolean;
  /** Report thresholdUnmet whenever it holds (at start), not only when it begins or its numbers change. */
  alwaysReportUnmet?: boolean;
}


function hostEffects(host: string, b: DiffServer | undefined, a: DiffServer | undefined, numbers: ThresholdNumbers, announceAdded: boolean, out: CoordinatorEffect[]): void {
  if (a === undefined) {
    if (b === undefined) return;
    if (b.pooled) out.push({ kind: 'depooled', host, cause: 'removed' });
    out.push({ kind: 'serverRemoved', host });
    return;
  }
  if (b === undefined) {
    if (announceAdded) out.push({ kind: 'serverAdded', host });
  } else {
    if (b.pooledAdmin !== a.pooledAdmin) out.push({ kind: 'adminChanged', host, from: b.pooledAdmin, to: a.pooledAdmin });
    if (b.weight !== a.weight) out.push({ kind: 'weightChanged', host, from: b.weight, to: a.weight });
    if (b.up !== a.up) out.push({ kind: 'health', host, up: a.up, reason: a.reason });
  }
  const wasPooled = b?.pooled ?? false;
  const wasDown =
    // Stryker disable next-line LogicalOperator: `wasPooled || b !== undefined` is equivalent, wasDown is read only together with wasPooled (below), so it may be true without it (the `|| !b.up` mutant is killed; Stryker disables per mutator and line)
    wasPooled &&
    // Stryker disable next-line ConditionalExpression: `true` is equivalent, wasPooled (b?.pooled ?? false) is true only when b is defined; the test narrows the type for TypeScript
    b !== undefined &&
    !b.up;
  if (wasPooled && !a.pooled) {
    out.push({ kind: 'depooled', host, cause: isEnabled(a) ? 'down' : 'admin' });
  } else if (!wasPooled && a.pooled) {
    if (a.up) out.push({ kind: 'repooled', host });
    else out.push({ kind: 'forcePooled', host, ...numbers });
  } else if (
    // Stryker disable next-line LogicalOperator: `wasPooled || a.pooled` is equivalent, this branch is reached only when wasPooled == a.pooled (the two branches above take the others), where || and && agree (the other LogicalOperator mutants are killed; Stryker disables per mutator and line)
    wasPooled && a.pooled && !a.up && !wasDown
  ) {
    out.push({ kind: 'keptPooled', host, reason: 'couldNotDepool', ...numbers });
  }
}

/**
 * Effects of one event. `changed` maps each changed host to its version before the event (undefined:
 * it did not exist); `after` looks up its version now (undefined: removed).
 */
export function diffEffects(
  before: PoolSummary,
  after: PoolSummary,
  changed: ReadonlyMap<string, DiffServer | undefined>,
  lookup: (host: string) => DiffServer | undefined,
  opts: DiffOptions,
): CoordinatorEffect[] {
  const effects: CoordinatorEffect[] = [];
  if (before.threshold !== after.threshold) effects.push({ kind: 'thresholdChanged', from: before.threshold, to: after.threshold });
  const { upEnabled, total, threshold, required, pooled } = after.numbers;
  const numbers: ThresholdNumbers = { upEnabled, total, threshold, required, pooled };
  const hosts = [...changed.keys()].sort(byName);
  // Stryker disable next-line ConditionalExpression: `opts.primary !== undefined` becoming true is equivalent, the keys of changed are host names, so changed.has(undefined) is false (the whole-condition `true`/`false` mutants are killed; Stryker disables per mutator and line)
  if (opts.primary !== undefined && changed.has(opts.primary)) {
    hosts.splice(hosts.indexOf(opts.primary), 1);
    hosts.unshift(opts.primary);
  }
  for (const host of hosts) hostEffects(host, changed.get(host), lookup(host), numbers, opts.announceAdded, effects);

  const nb = before.numbers;
  const na = after.numbers;
  const unmetAfter = na.pooled < na.required;
  const moved = nb.pooled !== na.pooled || nb.required !== na.required || nb.enabled !== na.enabled;
  if (
    unmetAfter &&
    (opts.alwaysReportUnmet === true ||
      // Stryker disable next-line ConditionalExpression,EqualityOperator: `false` and `>` are equivalent, when the threshold was met before and is unmet now, pooled or required moved, so `moved` already holds (the `<` mutant is killed; Stryker disables per mutator and line)
      nb.pooled >= nb.required ||
      moved)
  ) {
    effects.push({ kind: 'thresholdUnmet', enabled: na.enabled, ...numbers });
  }
  return effects;
}

/**
 * The alert effect, once per call (after all other effects): the alert is a state, and listing every
 * intermediate message of a burst would cost O(pooled-down) per event.
 */
export function alertEffect(from: PoolAlert, to: PoolAlert): CoordinatorEffect[] {
  return from.status === to.status && from.message === to.message ? [] : [{ kind: 'alert', from, to }];
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
