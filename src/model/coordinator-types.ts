// Types of the coordinator: the pure state machine that decides, for ONE LVS service (a PyBal section,
// over the hosts of its conftool pool), which servers are
// pooled from admin state (conftool), health and the depool threshold (ARCHITECTURE.md §6).
import { PooldError } from './errors.js';
import type { AdminHoldInfo, AdminWriter, ConftoolValue, Finding, PoolRef, PoolState, Pooled, ServiceDef, ServiceKey } from './types.js';
import type { Freeze } from './coordinator-freeze.js';
import type { FirstRound } from './first-verdict.js';

/** An event the coordinator cannot apply (wrong pool, threshold out of range, bad admin value). */
export class CoordinatorInputError extends PooldError {}

export interface ServerState {
  host: string;
  /**
   * Admin state from conftool. A host that is only listed in the service definition and has no conftool
   * entry yet (`registered: false`) is `inactive`: PyBal only ever sees hosts that have a conftool entry.
   */
  pooledAdmin: Pooled;
  /** Has a conftool entry. Membership of the pool follows conftool, as PyBal's etcd config does. */
  registered: boolean;
  /** Listed in the service definition (pools/*.yaml). */
  defined: boolean;
  weight: number;
  up: boolean;
  /**
   * False until the first health result. Like PyBal (Server.DEF_STATE) an unchecked server is assumed up,
   * so a start or a newly added server does not depool anything before checks have run.
   */
  checked: boolean;
  pooled: boolean;
  /** The health reason of the last result (or why health is assumed). */
  reason: string;
  /** Time of the last health transition (or of the server's creation). */
  since: number;
  flapping: boolean;
  findings: Finding[];
}

export interface CoordinatorCounters {
  /** PyBal's could_not_depool_total: a server went (or stayed) down and the threshold kept it pooled. */
  couldNotDepool: number;
  forcePooled: number;
  depooled: number;
  repooled: number;
}

export interface CoordinatorState extends ServiceKey {
  /** The conftool pool whose hosts and admin state this LVS service uses. */
  pool: PoolRef;
  depoolThreshold: number;
  /**
   * By host, in host-name order, so iteration (and everything derived) is deterministic. A Map rather than
   * a Record: pools of thousands of servers are copied on every event, and large Records are slow.
   */
  servers: ReadonlyMap<string, ServerState>;
  /** Hosts that are pooled although down, because the threshold kept them. Sorted by name. */
  pooledDown: string[];
  /**
   * Admin depools held by the threshold, and forced ones, by host (coordinator-hold.ts). Absent in
   * states built before holds existed: treated as empty.
   */
  holds?: ReadonlyMap<string, AdminHold>;
  /** Increases by one on every event that changed anything. */
  revision: number;
  updatedAt: number;
  counters: CoordinatorCounters;
  /** Issue 14: servers still without a first verdict hold health depools back (first-verdict.ts). */
  firstRound?: FirstRound;
  /** Issue 14: an operator's freeze of health depools (coordinator-freeze.ts). */
  freeze?: Freeze;
}

/** Health as known before a (re)start, so that a restart does not flap the pool. */
export interface HealthInput {
  up: boolean;
  reason: string;
  at: number;
  flapping?: boolean;
  findings?: Finding[];
  /** False when the observations behind it do not cover every check of the definition (not a first verdict). */
  complete?: boolean;
}

export interface StartInput {
  at: number;
  service: ServiceDef;
  /** Current conftool values by host (hosts without an entry are not pool members). */
  admin: Record<string, ConftoolValue>;
  /** The last published effective state (/poold/v1/state), if any: its health and pooled set are reused. */
  previous?: PoolState;
  /** Fresher health (e.g. decided from live observations); wins over `previous` per host. */
  health?: Record<string, HealthInput>;
  /** The etcd mod revision of each host's conftool value (orders and identifies admin depools). */
  adminRevisions?: Record<string, number>;
  /** Hosts whose current conftool write carries a force marker (same revision), with its writer. */
  forced?: Record<string, AdminWriter>;
  /** Issue 14: hold health depools until every server has a fresh verdict or this long has passed (absent/0: no gate). */
  firstRoundTimeoutMs?: number;
  /** Issue 14: a freeze of health depools in force (from etcd). */
  freeze?: Freeze;
}

/** One held or forced admin depool (published as EffectiveServer.adminHold). */
export interface AdminHold extends Omit<AdminHoldInfo, 'requested'> {
  /** The whole conftool value written (applied when the hold is released). */
  requested: ConftoolValue;
}

export type CoordinatorEvent =
  /**
   * A conftool entry was written (value) or deleted (null). `revision` is the write's etcd mod
   * revision; `force` is the writer named by a force marker written in the same transaction.
   */
  | { type: 'adminChanged'; at: number; host: string; value: ConftoolValue | null; revision?: number; force?: AdminWriter | null; firstRoundTimeoutMs?: number }
  /** Who wrote the admin value of `host` at `revision` (null: no audit record). Ignored unless it is the held/forced write. */
  | { type: 'adminWriter'; at: number; host: string; revision: number; writer: AdminWriter | null }
  | {
      type: 'healthChanged';
      at: number;
      host: string;
      up: boolean;
      reason: string;
      flapping?: boolean;
      findings?: Finding[];
      /** False: the observations do not cover every check of the definition yet (not a first verdict). */
      complete?: boolean;
    }
  /** The service definition changed: threshold, servers listed, weights of unregistered servers. */
  | { type: 'configChanged'; at: number; service: ServiceDef; firstRoundTimeoutMs?: number }
  /** Issue 14: a freeze was set (or replaced) or ended early (null). */
  | { type: 'freezeChanged'; at: number; freeze: Freeze | null }
  /** Issue 14: time passed (a first round's deadline or a freeze's end): re-settle. */
  | { type: 'tick'; at: number };

/** Why a server left the pool. */
export type DepoolCause = 'down' | 'admin' | 'removed';

/** Numbers behind a threshold decision, for logs and events, as they stand after the event. */
export interface ThresholdNumbers {
  /** Servers that are up and enabled (admin yes). */
  upEnabled: number;
  /** Servers that are not inactive. */
  total: number;
  threshold: number;
  /** ceil(total × threshold): how many must be up and enabled before another down server may be depooled. */
  required: number;
  pooled: number;
}

export type CoordinatorEffect =
  | { kind: 'serverAdded'; host: string }
  | { kind: 'serverRemoved'; host: string }
  | { kind: 'health'; host: string; up: boolean; reason: string }
  | { kind: 'adminChanged'; host: string; from: Pooled; to: Pooled }
  | { kind: 'weightChanged'; host: string; from: number; to: number }
  | { kind: 'thresholdChanged'; from: number; to: number }
  | { kind: 'depooled'; host: string; cause: DepoolCause }
  /** Entered the pool because it is up and enabled. */
  | { kind: 'repooled'; host: string }
  /** Entered the pool although down (or unchecked-down), to meet the threshold (PyBal's _ensureDepoolThreshold). */
  | ({ kind: 'forcePooled'; host: string } & ThresholdNumbers)
  /** Down but kept pooled: depooling it would break the threshold (PyBal's "Could not depool server"). */
  | ({ kind: 'keptPooled'; host: string; reason: 'couldNotDepool' } & ThresholdNumbers)
  /** Even with every enabled server pooled, the pool is below the threshold (PyBal logs this as critical). */
  | ({ kind: 'thresholdUnmet'; enabled: number } & ThresholdNumbers)
  /** The pool's own /alerts status changed. */
  | { kind: 'alert'; from: PoolAlert; to: PoolAlert }
  /** An admin depool that would break the threshold: not applied, the host stays pooled. */
  | ({ kind: 'adminHeld'; host: string; requested: Pooled; revision: number; serving: number } & ThresholdNumbers)
  /** A held admin depool was applied: room appeared, the host stopped serving, a force marker, or a newer write. */
  | { kind: 'adminReleased'; host: string; why: 'room' | 'forced' | 'superseded' }
  /** The event referred to something the coordinator does not track; nothing changed. */
  | { kind: 'ignored'; host?: string; reason: string };

/** One pool's contribution to PyBal's /alerts. */
export interface PoolAlert {
  status: 'ok' | 'warning' | 'critical';
  /** PyBal's sentence for this pool, without the pool prefix; '' when ok. */
  message: string;
}

export interface Transition {
  state: CoordinatorState;
  effects: CoordinatorEffect[];
}
