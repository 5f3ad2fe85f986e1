// Admin depools held by the depool threshold (issue 14): the coordinator enforces the threshold on
// admin depools from ANY writer (poolctl, confctl, a script, a mirror replaying a backlog), not only
// on its own health verdicts. poolctl's guard (cli/guard.ts) protects only poolctl; this protects the
// pool. Pure: the coordinator (coordinator.ts) calls these on its private Draft.
//
// Serving, as poolctl's guard counts it (threshold-guard.ts): admin yes (effective), pooled, up, and a
// weight above 0 (a drained host takes no new connections).
//
// Rules, per LVS service:
// R1 An admin change of host h to `no` or `inactive` while h is effectively `yes` is a depool. It is
//    HELD when h serves and, without h, fewer than ceil(total' × threshold) hosts would serve (total'
//    is the total after the change: `inactive` leaves it). A held depool is not applied: the core
//    keeps h at `yes` with its current weight; `holds` remembers the written value and its revision.
//    Depooling a host that does not serve is never held (taking a dead host out must stay possible).
// R2 Order: events are applied in the order given, and the leader gives a tick's admin changes in
//    order of their etcd mod revision, then host name (one transaction writes several hosts at one
//    revision): first come, first depooled; the rest are held.
// R3 Release: after every event, held depools are visited in (revision, host) order; each is applied
//    when h no longer serves or when serving−1 ≥ ceil(total' × threshold). Visiting repeats until
//    nothing more is released (releasing an `inactive` lowers the total and may make room).
// R4 A write of h to `yes`, or the deletion of its conftool entry, drops its hold (superseded). A
//    newer depool write of a held h is judged afresh by R1 under its own revision.
// R5 A force marker (written in the same transaction as the conftool write, so carrying the same
//    revision) lets that write through at once, held or not; it is kept as `forced` for display until
//    the host's next admin write. A marker for another revision applies to nothing.
// R6 At start, a host the previous published state had at effective `yes` whose conftool value is now
//    a depool is replayed through R1 in revision order, so a restart or a new leader neither drops
//    held hosts nor lets a backlog of depools written while nobody led through unchecked.
//
// Invariants (checked by test/model/coordinator-hold.test.ts):
// I1 held ⇒ the core has h at admin `yes`, and `requested.pooled` is `no` or `inactive`.
// I2 after any event, no held depool satisfies R3's release condition (nothing is held without need).
// I3 holding never makes the pool lose a serving host: serving after an admin change is at least
//    min(serving before, ceil(total × threshold)).
import { requiredCount } from './coordinator-threshold.js';
import type { AdminHold, CoordinatorEffect, ServerState } from './coordinator-types.js';
import type { Draft } from './coordinator-settle.js';
import type { AdminHoldInfo, AdminWriter, ConftoolValue, PoolState } from './types.js';
import { byName } from './order.js';

/** Serving, as poolctl's guard counts it. */
export function serves(s: Pick<ServerState, 'pooledAdmin' | 'pooled' | 'up' | 'weight'>): boolean {
  return s.pooledAdmin === 'yes' && s.pooled && s.up && s.weight > 0;
}

function servingCount(draft: Draft): number {
  let n = 0;
  for (const h of draft.hosts()) if (serves(draft.get(h) as ServerState)) n++;
  return n;
}

function isDepool(v: ConftoolValue | null): v is ConftoolValue {
  return v !== null && (v.pooled === 'no' || v.pooled === 'inactive');
}

/** R1's test: would applying `value` to `host` leave fewer serving hosts than the threshold requires? */
function wouldBreak(draft: Draft, s: ServerState, value: ConftoolValue, serving: number): { breaks: boolean; total: number; required: number } {
  const leaves =
    value.pooled === 'inactive' &&
    // Stryker disable next-line ConditionalExpression,StringLiteral: equivalent as true: both callers pass a host the core has at `yes` (admitAdmin checks it; a held host is kept at `yes`, I1), never `inactive`
    s.pooledAdmin !== 'inactive';
  const total = draft.total - (leaves ? 1 : 0);
  const required = requiredCount(total, draft.threshold);
  return { breaks: serves(s) && serving - 1 < required, total, required };
}

export interface AdminInput {
  host: string;
  value: ConftoolValue | null;
  revision?: number;
  force?: AdminWriter | null;
  at: number;
}

/**
 * R1, R4, R5 for one admin change: updates `holds` and returns the value the core applies (the
 * written value, or the held host kept at `yes`).
 */
export function admitAdmin(draft: Draft, holds: Map<string, AdminHold>, e: AdminInput, effects: CoordinatorEffect[]): ConftoolValue | null {
  const { host, value, at } = e;
  const revision = e.revision ?? 0;
  const prev = holds.get(host);
  if (!isDepool(value)) {
    if (prev !== undefined) {
      holds.delete(host);
      if (prev.status === 'held') effects.push({ kind: 'adminReleased', host, why: 'superseded' });
    }
    return value;
  }
  if (e.force !== undefined && e.force !== null) {
    const same = prev !== undefined && prev.revision === revision;
    holds.set(host, { status: 'forced', requested: value, revision, since: same ? prev.since : at, writer: e.force });
    if (prev?.status === 'held') effects.push({ kind: 'adminReleased', host, why: 'forced' });
    return value;
  }
  // The same write delivered again (the leader re-reads a host when its force marker changes): unchanged.
  if (prev !== undefined && prev.revision === revision && revision !== 0) {
    // Stryker disable next-line OptionalChaining: a held host is always in the draft (it is registered: deleting its conftool entry drops the hold, R4)
    return prev.status === 'held' ? { ...value, pooled: 'yes', weight: draft.get(host)?.weight ?? value.weight } : value;
  }
  // Stryker disable next-line ConditionalExpression: equivalent as true: deleting a host that has no hold is a no-op
  if (prev !== undefined) holds.delete(host);
  const cur = draft.get(host);
  // Only a depool of an effectively enabled host can break the threshold (no → inactive cannot).
  if (
    cur === undefined ||
    // Stryker disable next-line ConditionalExpression: a fast path, equivalent as false: a host not at `yes` does not serve, so wouldBreak finds nothing to hold and the value is returned the same
    cur.pooledAdmin !== 'yes'
  )
    return value;
  const serving = servingCount(draft);
  const { breaks, total, required } = wouldBreak(draft, cur, value, serving);
  if (!breaks) {
    if (prev?.status === 'held') effects.push({ kind: 'adminReleased', host, why: 'superseded' });
    return value;
  }
  holds.set(host, { status: 'held', requested: value, revision, since: prev?.status === 'held' ? prev.since : at });
  const n = draft.numbers();
  effects.push({
    kind: 'adminHeld', host, requested: value.pooled, revision, serving,
    upEnabled: n.upEnabled, total, threshold: draft.threshold, required, pooled: n.pooled,
  });
  // The core keeps the host as it serves now (the written weight applies on release).
  return { ...value, pooled: 'yes', weight: cur.weight };
}

/** Held depools in release order (R2): by revision, then host name. */
export function heldInOrder(holds: ReadonlyMap<string, AdminHold>): string[] {
  return [...holds]
    .filter(([, h]) => h.status === 'held')
    .sort(([ha, a], [hb, b]) => a.revision - b.revision || byName(ha, hb))
    .map(([host]) => host);
}

/**
 * R3: applies every held depool there is room for, through `apply` (the core's admin change, which
 * settles). Returns the released hosts.
 */
export function releaseHolds(
  draft: Draft,
  holds: Map<string, AdminHold>,
  apply: (host: string, value: ConftoolValue) => void,
  effects: CoordinatorEffect[],
): string[] {
  const released: string[] = [];
  for (let progress = true; progress;) {
    progress = false;
    let serving = servingCount(draft);
    for (const host of heldInOrder(holds)) {
      const h = holds.get(host) as AdminHold;
      const cur = draft.get(host);
      // Stryker disable next-line ConditionalExpression,BlockStatement: defensive, unreachable: a held host is registered, and the draft drops only unregistered hosts
      if (cur === undefined) {
        holds.delete(host);
        continue;
      }
      if (wouldBreak(draft, cur, h.requested, serving).breaks) continue;
      holds.delete(host);
      apply(host, h.requested);
      effects.push({ kind: 'adminReleased', host, why: 'room' });
      released.push(host);
      // Stryker disable next-line BooleanLiteral: a second pass never releases more (no host skipped earlier in a pass can fit after a later release: test/model/MUTATION.md has the argument; 20,000 random histories with one pass gave identical states and effects)
      progress = true;
      serving = servingCount(draft); // the core's settle may have moved other hosts
    }
  }
  return released;
}

/** Records the writer of a held or forced write; false when `revision` is not that write's. */
export function setWriter(holds: Map<string, AdminHold>, host: string, revision: number, writer: AdminWriter | null): boolean {
  const h = holds.get(host);
  if (h === undefined || h.revision !== revision || h.writer === writer) return false;
  if (h.writer !== undefined && writer !== null && h.writer !== null && h.writer.actor === writer.actor && h.writer.reason === writer.reason) return false;
  holds.set(host, { ...h, writer });
  return true;
}

/** R2: admin changes of one tick in revision order, then by host name (a stable order for one transaction). */
export function orderAdminChanges<T extends { host: string; revision?: number }>(changes: readonly T[]): T[] {
  return [...changes].sort((a, b) => (a.revision ?? 0) - (b.revision ?? 0) || byName(a.host, b.host));
}

/**
 * R6: hosts the previous published state had at effective `yes` whose conftool value is now a depool
 * (held before the restart, or written while nobody led), in revision order.
 */
export function pendingDepoolsAtStart(
  previous: PoolState | undefined,
  admin: Readonly<Record<string, ConftoolValue>>,
  revisions: Readonly<Record<string, number>> = {},
): string[] {
  if (previous === undefined) return [];
  const hosts: { host: string; revision: number }[] = [];
  for (const host of Object.keys(admin)) {
    const prev = Object.hasOwn(previous.servers, host) ? previous.servers[host] : undefined;
    if (prev?.pooledAdmin === 'yes' && isDepool(admin[host])) {
      hosts.push({ host, revision: Object.hasOwn(revisions, host) ? revisions[host] : 0 });
    }
  }
  return orderAdminChanges(hosts).map((h) => h.host);
}

/** The published form of a hold (EffectiveServer.adminHold). */
export function holdInfo(h: AdminHold): AdminHoldInfo {
  return {
    status: h.status,
    requested: h.requested.pooled,
    revision: h.revision,
    since: h.since,
    // Stryker disable next-line ConditionalExpression: equivalent as true: `writer: undefined` is dropped by JSON (etcd, the API) and writerText reads it as "being looked up" either way
    ...(h.writer !== undefined ? { writer: h.writer } : {}),
  };
}
