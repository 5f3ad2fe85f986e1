// Issue 14 item 5: no depool from a half-finished first round.
//
// Before its first check a server is assumed up (PyBal's Server.DEF_STATE). That is right for
// pooling (a start must not empty a pool) but wrong for DEPOOLING: when the failing servers answer
// fast and the healthy ones slowly, the first verdicts to arrive are all "down" while the others
// still count as up, so the threshold lets the failing ones go on a partial picture.
//
// So after a start (the leader builds the coordinator) and after a definition change that adds
// servers or changes the checks, health depools wait until every server of the LVS service has a
// first verdict (a quorum decision on observations that cover every check of the current
// definition), or until a start timeout has passed. Meanwhile a server that is seen down stays as it
// was (pooled if it was pooled); repools and admin changes apply at once. Pure: times are passed in.
import type { ServiceDef } from './types.js';
import { byName } from './order.js';

export interface FirstRound {
  /** Servers (not inactive) still without a first verdict, sorted by name. */
  waiting: string[];
  /** Servers the round covers (pool members when it started, plus any added meanwhile). */
  total: number;
  /** Epoch ms after which health depools apply even if some servers never got a verdict. */
  deadline: number;
  startedAt: number;
}

/** Default start timeout: 2 × (fall × interval + timeout) of the slowest check (issue 14). */
export function defaultFirstRoundTimeoutMs(def: Pick<ServiceDef, 'checks'>): number {
  let worst = 0;
  for (const c of def.checks) worst = Math.max(worst, c.fall * c.intervalMs + c.timeoutMs);
  return 2 * worst;
}

/** The start timeout of an LVS service: its own setting, else the default. */
export function firstRoundTimeoutMs(def: Pick<ServiceDef, 'checks'> & { startTimeoutMs?: number }): number {
  return def.startTimeoutMs ?? defaultFirstRoundTimeoutMs(def);
}

/** A new round over `hosts` (pool members) of which `haveVerdict` already have one; undefined when none waits. */
export function startFirstRound(hosts: Iterable<string>, haveVerdict: (host: string) => boolean, at: number, timeoutMs: number): FirstRound | undefined {
  const all = [...hosts];
  const waiting = all.filter((h) => !haveVerdict(h)).sort(byName);
  if (waiting.length === 0 || timeoutMs <= 0) return undefined;
  return { waiting, total: all.length, deadline: at + timeoutMs, startedAt: at };
}

/** Adds servers (new in the definition) to a running round, or starts one for them. */
export function extendFirstRound(fr: FirstRound | undefined, hosts: readonly string[], total: number, at: number, timeoutMs: number): FirstRound | undefined {
  if (hosts.length === 0 || timeoutMs <= 0) return fr;
  const waiting = [...new Set([...(fr?.waiting ?? []), ...hosts])].sort(byName);
  return { waiting, total, deadline: Math.max(fr?.deadline ?? 0, at + timeoutMs), startedAt: fr?.startedAt ?? at };
}

/** The round after `host` got a verdict (undefined once every server has one). */
export function noteVerdict(fr: FirstRound | undefined, host: string): FirstRound | undefined {
  if (fr === undefined || !fr.waiting.includes(host)) return fr;
  const waiting = fr.waiting.filter((h) => h !== host);
  return waiting.length === 0 ? undefined : { ...fr, waiting };
}

/** The round after `host` left the pool. */
export function forgetHost(fr: FirstRound | undefined, host: string): FirstRound | undefined {
  const next = noteVerdict(fr, host);
  return next === undefined || next === fr ? next : { ...next, total: Math.max(next.waiting.length, next.total - 1) };
}

/** Whether the round still holds health depools back at `at`. */
export function firstRoundHolds(fr: FirstRound | undefined, at: number): boolean {
  return fr !== undefined && fr.waiting.length > 0 && at < fr.deadline;
}

/** `pending 3 of 10` (what /v1 and poolctl status show). */
export function describeFirstRound(fr: Pick<FirstRound, 'waiting' | 'total'>): string {
  return `pending ${fr.waiting.length} of ${fr.total}`;
}
