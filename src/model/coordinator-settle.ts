// The one place where the pooled set is decided. Every event (start, admin, health, config) updates the
// inputs and then calls `settle`, which restores DESIGN §6's invariants from whatever state it is given.
// Because it is a function of the state and not of the event, a config change cannot skip the threshold
// (PyBal bug T184715) and no event can leave a stale pooled-down entry behind.
//
// Steps, in this order:
// 1. A server that is not enabled (admin no / inactive / not in conftool) is not pooled.
// 2. A server that is up and enabled is pooled (PyBal's repool).
// 3. canDepool = upEnabled >= ceil(total × threshold). Depooling a down server does not change upEnabled,
//    so canDepool is the same for every pooled-down server: either all of them leave (PyBal's repool loop
//    `while pooledDown and canDepool: depool one`) or all of them stay, kept by the threshold.
// 4. Ensure the threshold (PyBal's _ensureDepoolThreshold): while fewer than ceil(total × threshold) are
//    pooled, force-pool enabled servers that are not pooled (all of them down by step 2), by host name.
//    They join pooledDown. If the enabled servers run out, the pool stays below (effect thresholdUnmet).
// After step 4, if any server is pooled and down then pooled < required was true or canDepool was false;
// in both cases upEnabled < required (up and enabled implies pooled), so every pooled-down server is
// genuinely kept by the threshold (P1).
//
// Cost: one pass over the pool plus a pass over the pooled-down servers (a second full pass only when
// servers must be force-pooled), so a 10k-server pool settles in about a millisecond.
import { requiredCount } from './coordinator-threshold.js';
import type { ServerState, ThresholdNumbers } from './coordinator-types.js';

type Counted = Pick<ServerState, 'pooledAdmin' | 'up' | 'pooled'>;

export function isEnabled(s: Pick<ServerState, 'pooledAdmin'>): boolean {
  return s.pooledAdmin === 'yes';
}

export function isMember(s: Pick<ServerState, 'pooledAdmin'>): boolean {
  return s.pooledAdmin !== 'inactive';
}

export type PoolNumbers = ThresholdNumbers & { enabled: number };

/** Counts behind the threshold for a set of servers. */
export function thresholdNumbers(servers: Iterable<Counted>, threshold: number): PoolNumbers {
  let total = 0;
  let upEnabled = 0;
  let pooled = 0;
  let enabled = 0;
  for (const s of servers) {
    if (s.pooledAdmin !== 'inactive') total++;
    if (s.pooledAdmin === 'yes') {
      enabled++;
      if (s.up) upEnabled++;
    }
    if (s.pooled) pooled++;
  }
  return { upEnabled, total, threshold, required: requiredCount(total, threshold), pooled, enabled };
}

export function canDepool(servers: Iterable<Counted>, threshold: number): boolean {
  const n = thresholdNumbers(servers, threshold);
  return n.upEnabled >= n.required;
}

export interface SettleResult {
  servers: Map<string, ServerState>;
  pooledDown: string[];
  numbers: PoolNumbers;
}

/**
 * Returns the settled servers (objects that did not change are reused) and the sorted pooledDown list.
 * `servers` must be in host-name order: force-pooling picks hosts in that order.
 */
export function settle(servers: ReadonlyMap<string, ServerState>, threshold: number): SettleResult {
  const out = new Map<string, ServerState>();
  const setPooled = (s: ServerState, pooled: boolean): ServerState => (s.pooled === pooled ? s : { ...s, pooled });
  let total = 0;
  let enabled = 0;
  let upEnabled = 0;
  let pooled = 0;
  const down: string[] = []; // pooled, enabled and down: kept or depooled together in step 3

  // Steps 1 and 2, counting as we go.
  for (const [host, cur] of servers) {
    let s = cur;
    if (s.pooledAdmin !== 'yes') s = setPooled(s, false);
    else if (s.up) s = setPooled(s, true);
    out.set(host, s);
    if (s.pooledAdmin !== 'inactive') total++;
    if (s.pooledAdmin === 'yes') {
      enabled++;
      if (s.up) upEnabled++;
    }
    if (s.pooled) {
      pooled++;
      if (!s.up) down.push(host);
    }
  }

  // Step 3.
  const required = requiredCount(total, threshold);
  let pooledDown: string[];
  if (upEnabled >= required) {
    for (const host of down) out.set(host, setPooled(out.get(host) as ServerState, false));
    pooled -= down.length;
    pooledDown = [];
  } else {
    pooledDown = down;
  }

  // Step 4.
  if (pooled < required) {
    for (const [host, s] of out) {
      if (pooled >= required) break;
      if (s.pooledAdmin !== 'yes' || s.pooled) continue;
      out.set(host, setPooled(s, true));
      pooledDown.push(host);
      pooled++;
    }
    pooledDown.sort();
  }
  return { servers: out, pooledDown, numbers: { upEnabled, total, threshold, required, pooled, enabled } };
}
