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
import { canDepoolWith, requiredCount } from './coordinator-threshold.js';
import type { ServerState, ThresholdNumbers } from './coordinator-types.js';

export function isEnabled(s: Pick<ServerState, 'pooledAdmin'>): boolean {
  return s.pooledAdmin === 'yes';
}

export function isMember(s: Pick<ServerState, 'pooledAdmin'>): boolean {
  return s.pooledAdmin !== 'inactive';
}

/** Counts behind the threshold for a set of servers. */
export function thresholdNumbers(
  servers: Record<string, Pick<ServerState, 'pooledAdmin' | 'up' | 'pooled'>>,
  threshold: number,
): ThresholdNumbers & { enabled: number } {
  let total = 0;
  let upEnabled = 0;
  let pooled = 0;
  let enabled = 0;
  for (const host in servers) {
    const s = servers[host];
    if (isMember(s)) total++;
    if (isEnabled(s)) {
      enabled++;
      if (s.up) upEnabled++;
    }
    if (s.pooled) pooled++;
  }
  return { upEnabled, total, threshold, required: requiredCount(total, threshold), pooled, enabled };
}

export function canDepool(servers: Record<string, Pick<ServerState, 'pooledAdmin' | 'up' | 'pooled'>>, threshold: number): boolean {
  const n = thresholdNumbers(servers, threshold);
  return canDepoolWith(n.upEnabled, n.total, threshold);
}

export interface SettleResult {
  servers: Record<string, ServerState>;
  pooledDown: string[];
}

/**
 * Returns the settled servers (objects that did not change are reused) and the sorted pooledDown list.
 * `servers` must have its keys sorted by host name: force-pooling picks hosts in that order.
 */
export function settle(servers: Record<string, ServerState>, threshold: number): SettleResult {
  const out: Record<string, ServerState> = {};
  const setPooled = (s: ServerState, pooled: boolean): ServerState => (s.pooled === pooled ? s : { ...s, pooled });

  // Steps 1 and 2.
  for (const host in servers) {
    const s = servers[host];
    if (!isEnabled(s)) out[host] = setPooled(s, false);
    else if (s.up) out[host] = setPooled(s, true);
    else out[host] = s;
  }

  // Step 3.
  const n = thresholdNumbers(out, threshold);
  const depoolAllDown = n.upEnabled >= n.required;
  const pooledDown: string[] = [];
  let pooled = 0;
  for (const host in out) {
    const s = out[host];
    if (s.pooled && !s.up) {
      if (depoolAllDown) out[host] = setPooled(s, false);
      else pooledDown.push(host);
    }
    if (out[host].pooled) pooled++;
  }

  // Step 4.
  if (pooled < n.required) {
    for (const host of Object.keys(out)) {
      if (!isEnabled(out[host]) || out[host].pooled) continue;
      if (pooled >= n.required) break;
      out[host] = setPooled(out[host], true);
      pooledDown.push(host);
      pooled++;
    }
    pooledDown.sort();
  }
  return { servers: out, pooledDown };
}
