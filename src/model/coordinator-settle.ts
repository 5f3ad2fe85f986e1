// The one place where the pooled set is decided. Every event (start, admin, health, config) updates the
// inputs and then settles the pool, which restores ARCHITECTURE.md §6's invariants from whatever state it is in.
// Because settling is a function of the state and not of the event, a config change cannot skip the
// threshold (PyBal bug T184715) and no event can leave a stale pooled-down entry behind.
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
// Cost: a Draft is a private copy of the pool whose counters and pooled-down set are kept up to date on
// every change, so settling after an event touches only the changed servers and the pooled-down ones
// (a scan of the pool only when servers must be force-pooled). A draft starts from the counters of the
// draft that finished its servers (no count), and finishing copies one array of n pointers
// (server-map.ts), once per batch of events (applyEvents).
import { requiredCount } from './coordinator-threshold.js';
import type { ServerState, ThresholdNumbers } from './coordinator-types.js';
import { byName } from './order.js';
import { ServerMap } from './server-map.js';

type Counted = Pick<ServerState, 'pooledAdmin' | 'up' | 'pooled'>;

export function isEnabled(s: Pick<ServerState, 'pooledAdmin'>): boolean {
  return s.pooledAdmin === 'yes';
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


/** The counters a Draft keeps, as they are for a finished map of servers. */
interface Tally {
  total: number;
  enabled: number;
  upEnabled: number;
  pooled: number;
  pooledDown: readonly string[];
}

/**
 * The counters of the maps drafts finished, so the next draft over one starts without counting it
 * again (240 servers per LVS service at eqiad). A memo of pure values on immutable maps: a map not
 * found here is counted, with the same result.
 */
const tallies = new WeakMap<ServerMap, Tally>();

/**
 * A mutable working copy of one pool. Never shared: the coordinator makes one per call and hands out
 * only the frozen result of `finish()`, so callers still see pure functions. The copy is the servers
 * given plus the changes made since (server-map.ts): making one costs nothing per server.
 */
export class Draft {
  private readonly base: ServerMap;
  /** Servers changed since the draft was made: the new state, or null for a removed server. */
  private readonly edits = new Map<string, ServerState | null>();
  /** Whether a host not in the base was ever set (then walks in name order must merge and sort). */
  // Stryker disable next-line BooleanLiteral: `true` is equivalent, a needless `grew` only takes the merge-and-sort walk, which is always right
  private grew = false;
  threshold: number;
  /** Issue 14: an unfinished first round or a freeze holds health depools back (coordinator-gates.ts): step 3 is skipped. */
  // Stryker disable next-line BooleanLiteral: equivalent, every caller assigns healthDepoolsHeld before its first settle() (createBase; applyEvents before each event's settle, which releaseHolds' settles follow), and nothing else reads it
  healthDepoolsHeld = false;
  total = 0;
  enabled = 0;
  upEnabled = 0;
  pooled = 0;
  /** Exactly the servers that are pooled and down. */
  readonly pooledDown = new Set<string>();
  /** The first version of each server changed since the last `takeChanges()`; undefined = did not exist. */
  private changes = new Map<string, ServerState | undefined>();

  constructor(servers: ReadonlyMap<string, ServerState>, threshold: number) {
    this.base = ServerMap.of(servers);
    this.threshold = threshold;
    const t = tallies.get(this.base);
    // Stryker disable next-line ConditionalExpression: `true` is equivalent, counting the servers gives the tally a finished draft recorded (the memo saves the count, it does not change it; the `false` mutant is killed)
    if (t === undefined) {
      for (const [host, s] of this.base) this.count(host, s, 1);
      return;
    }
    this.total = t.total;
    this.enabled = t.enabled;
    this.upEnabled = t.upEnabled;
    this.pooled = t.pooled;
    for (const host of t.pooledDown) this.pooledDown.add(host);
  }

  private count(host: string, s: ServerState, sign: 1 | -1): void {
    if (s.pooledAdmin !== 'inactive') this.total += sign;
    if (s.pooledAdmin === 'yes') {
      this.enabled += sign;
      if (s.up) this.upEnabled += sign;
    }
    if (s.pooled) this.pooled += sign;
    if (s.pooled && !s.up) {
      // Stryker disable next-line EqualityOperator: `sign >= 0` is equivalent, sign is 1 or -1 (the `<=` mutant is killed; Stryker disables per mutator and line)
      if (sign > 0) this.pooledDown.add(host);
      else this.pooledDown.delete(host);
    }
  }

  get(host: string): ServerState | undefined {
    const e = this.edits.get(host);
    return e === undefined ? this.base.get(host) : (e ?? undefined);
  }

  has(host: string): boolean {
    return this.get(host) !== undefined;
  }

  /** The hosts, in host-name order. */
  hosts(): string[] {
    const hosts: string[] = [];
    for (const host of this.base.keys()) if (this.get(host) !== undefined) hosts.push(host);
    // Stryker disable next-line ConditionalExpression: `false` is equivalent, with no host added the scan below adds none and sorting hosts already in order changes nothing (the `true` mutant is killed)
    if (!this.grew) return hosts;
    for (const [host, s] of this.edits) if (s !== null && !this.base.has(host)) hosts.push(host);
    return hosts.sort(byName);
  }

  /**
   * The servers in host-name order, as they are when each is reached (a caller may change the one it
   * was given). Lazy, so a walk that stops early costs only what it read.
   */
  private *inOrder(): Generator<[string, ServerState]> {
    // Stryker disable next-line ConditionalExpression: `true` is equivalent, hosts() is always right (the base's keys are a shortcut for when none was added; the `false` mutant is killed)
    const hosts = this.grew ? this.hosts() : this.base.keys();
    for (const host of hosts) {
      const s = this.get(host);
      if (s !== undefined) yield [host, s];
    }
  }

  /** Replaces (or with undefined, removes) a server, keeping the counters and pooledDown exact. */
  set(host: string, s: ServerState | undefined): void {
    const cur = this.get(host);
    if (cur === s) return;
    if (!this.changes.has(host)) this.changes.set(host, cur);
    if (cur !== undefined) this.count(host, cur, -1);
    // Stryker disable next-line ConditionalExpression,LogicalOperator: `true` for either operand (and `||`) is equivalent, a needless `grew` only takes the merge-and-sort walk, which is always right (the `false` mutants are killed)
    if (s !== undefined && !this.base.has(host)) this.grew = true;
    this.edits.set(host, s ?? null);
    if (s !== undefined) this.count(host, s, 1);
  }

  private setPooled(host: string, pooled: boolean): void {
    const s = this.get(host);
    // Stryker disable next-line ConditionalExpression: `s !== undefined` becoming true is equivalent, setPooled is called only for hosts in the draft (step 1 skips missing hosts, steps 3 and 4 walk pooledDown and the servers); the test narrows the type for TypeScript (the other ConditionalExpression mutants of this line are killed; Stryker disables per mutator and line)
    if (s !== undefined && s.pooled !== pooled) this.set(host, { ...s, pooled });
  }

  /** Settles the pool after `touched` servers changed (all servers: pass `this.hosts()`). */
  settle(touched: Iterable<string>): void {
    // Steps 1 and 2.
    for (const host of touched) {
      const s = this.get(host);
      if (s === undefined) continue;
      if (s.pooledAdmin !== 'yes') this.setPooled(host, false);
      else if (s.up) this.setPooled(host, true);
    }
    const required = requiredCount(this.total, this.threshold);
    // Step 3. Depooling a down server changes neither upEnabled nor required, so every pooled-down
    // server leaves and the order does not matter (diffEffects orders the changed hosts itself).
    if (
      !this.healthDepoolsHeld &&
      this.upEnabled >= required &&
      // Stryker disable next-line ConditionalExpression,EqualityOperator: `true` and `>= 0` are equivalent, the loop over an empty pooledDown does nothing (a shortcut; the `<= 0` mutant is killed; Stryker disables per mutator and line)
      this.pooledDown.size > 0
    ) {
      for (const host of [...this.pooledDown]) this.setPooled(host, false);
    }
    // Step 4. Pooled implies enabled, so there are candidates exactly when enabled > pooled.
    // Stryker disable next-line ConditionalExpression,LogicalOperator,EqualityOperator: the `true`, `||`, `<=` and `>=` (second operand) mutants are equivalent, the guard is a shortcut: the loop breaks at once when pooled >= required and finds no candidate when enabled == pooled (pooled implies enabled) (the `false`, first-operand `>=` and second-operand `<=` mutants are killed; Stryker disables per mutator and line)
    if (this.pooled < required && this.enabled > this.pooled) {
      for (const [host, s] of this.inOrder()) {
        if (this.pooled >= required) break;
        if (s.pooledAdmin === 'yes' && !s.pooled) this.setPooled(host, true);
      }
    }
  }

  numbers(): PoolNumbers {
    const { upEnabled, total, threshold, pooled, enabled } = this;
    return { upEnabled, total, threshold, required: requiredCount(total, threshold), pooled, enabled };
  }

  pooledDownSorted(): string[] {
    return [...this.pooledDown].sort(byName);
  }

  /** The servers changed since the last call, each with its version before the first change. */
  takeChanges(): Map<string, ServerState | undefined> {
    const c = this.changes;
    this.changes = new Map();
    return c;
  }

  /** The servers, in host-name order. The draft must not be used afterwards. */
  finish(): ServerMap {
    const servers = this.base.with(this.edits);
    tallies.set(servers, { total: this.total, enabled: this.enabled, upEnabled: this.upEnabled, pooled: this.pooled, pooledDown: [...this.pooledDown] });
    return servers;
  }
}
