import type { CheckDef, CheckResult } from '../model/types.js';

/** What a check is run against: one backend of one service. */
export interface CheckTarget {
  /** The backend's FQDN as named in conftool (used for Host headers only when the check sets none). */
  host: string;
  /** IP address to connect to. */
  address: string;
  /** Port to connect to when the check names none (the LVS port). */
  port: number;
  /**
   * What a checker derived from this target and keeps for its next runs (the scheduler passes the
   * same object on every run of a probe), marked with the checker that owns it; nobody else reads
   * it. A plain field instead of a WeakMap entry: thousands of weak entries are re-traced by every
   * full garbage collection.
   */
  memo?: { owner: object; data: unknown };
}

/**
 * Receives the result of one run. `error` set (and `result` undefined): the checker broke its
 * contract (threw or rejected), as a rejected check() promise would say.
 */
export type CheckDone = (result: CheckResult | undefined, error?: unknown) => void;

/**
 * One check kind. `check` must settle by `deadline` (epoch ms, Date.now() clock) no matter what the
 * backend does; it never throws for backend behaviour, it returns a down result with a reason code.
 * Scheduling, rise/fall and flapping live outside the checkers.
 */
export interface Checker {
  readonly def: CheckDef;
  check(target: CheckTarget, deadline: number): Promise<CheckResult>;
  /**
   * The same run without a promise (the scheduler's path, ~10k times a second): `done` is called
   * exactly once, never before run() returns. Optional; the scheduler uses check() without it.
   */
  run?(target: CheckTarget, deadline: number, done: CheckDone): void;
  /** Release pooled connections (keep-alive) when the check is removed. */
  close?(): Promise<void>;
}
