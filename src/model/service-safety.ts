// Issue 14's additions to a published LVS service state (PoolState extends this): what holds health
// depools back (an unfinished first round, a freeze) and a correlated failure, so every poold's
// /alerts, /v1, dashboard and metrics, and poolctl status, show what the leader decided.
import type { Freeze } from './coordinator-freeze.js';
import type { CorrelatedFailure } from './correlated.js';
import type { FirstRound } from './first-verdict.js';

export interface ServiceSafety {
  /** Present while servers still wait for their first verdict (health depools held back). */
  firstRound?: FirstRound;
  /** Present while an operator's freeze holds health depools back. */
  freeze?: Freeze;
  /** Present while a large share of the servers fail one check together. */
  correlatedFailure?: CorrelatedFailure;
}

/** Issue 14's settings of an LVS service (pools/: `correlated_failure_share`, `start_timeout`); ServiceDef extends this. */
export interface ServiceSafetyDef {
  /** Share of the servers failing one check within one interval that makes a correlated failure (default 0.5). */
  correlatedFailureShare?: number;
  /** How long health depools wait for every server's first verdict (default 2 × (fall × interval + timeout)). */
  startTimeoutMs?: number;
}
