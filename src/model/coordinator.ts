// The coordinator for ONE pool: a pure state machine (no I/O, no clocks; every event carries its time).
// `createCoordinator` builds the state at start, `applyEvent` / `applyEvents` apply admin, health and
// config events. Each returns the new state (the old one is never mutated) and the effects, in a
// deterministic order (see coordinator-effects.ts). The pooled set itself is decided by settling
// (coordinator-settle.ts).
//
// Semantics are PyBal's (pybal/coordinator.py) with these deliberate choices:
// - Membership follows conftool, as PyBal's etcd config does: a host is a pool member when it has a
//   conftool entry that is not `inactive`. Hosts listed in the service definition but not yet in conftool
//   are tracked (for display) as `inactive`, `registered: false`; they never count and are never pooled.
//   A host removed from the service definition stays while its conftool entry exists (the pool sync
//   deletes that entry; the deletion removes it).
// - A server without any health result is assumed up, like PyBal's Server.DEF_STATE, so (re)starting or
//   adding a server does not depool anything before checks have run. At start, health comes from
//   `health`, else from the last published state, so a restart does not flap.
// - Every event re-settles the pool, so threshold changes, admin changes and removals are held to
//   the threshold at once (PyBal 1.15 bug T184715 skipped it) and pooledDown never holds stale entries.
// - A weight of 0 (drain) is just a weight: the server stays pooled with weight 0 and counts as up.
import { CoordinatorInputError } from './coordinator-types.js';
import type {
  AdminHold,
  CoordinatorEffect,
  CoordinatorEvent,
  CoordinatorState,
  HealthInput,
  PoolAlert,
  ServerState,
  StartInput,
  Transition,
} from './coordinator-types.js';
import { poolAlertOf } from './alerts.js';
import { alertEffect, countEffects, diffEffects, type DiffServer, type PoolSummary } from './coordinator-effects.js';
import { canDepool as canDepoolServers, Draft, thresholdNumbers } from './coordinator-settle.js';
import { thresholdProblem } from './coordinator-threshold.js';
import { admitAdmin, holdInfo, pendingDepoolsAtStart, releaseHolds, setWriter } from './coordinator-hold.js';
import { gatesAfter, gatesHold, type Gates } from './coordinator-gates.js';
import { startFirstRound } from './first-verdict.js';
import {
  POOLED_VALUES,
  poolName,
  servicePath,
  type ConftoolValue,
  type EffectiveServer,
  type Finding,
  type PoolRef,
  type PoolState,
  type ServiceDef,
  type ServiceKey,
} from './types.js';

export const ASSUMED_UP_REASON = 'no health result yet (assumed up)';
export const NOT_REGISTERED_REASON = 'not in conftool';

/** A Record lookup that ignores inherited properties (a host may be called `constructor`). */
export function own<T>(rec: Readonly<Record<string, T>> | undefined, key: string): T | undefined {
  return rec !== undefined && Object.hasOwn(rec, key) ? rec[key] : undefined;
}

function checkThreshold(where: string, threshold: unknown): void {
  const problem = thresholdProblem(threshold);
  if (problem !== null) throw new CoordinatorInputError(`${where}: ${problem}`, { threshold });
}

function checkAdmin(where: string, host: string, value: ConftoolValue): void {
  if (value === null || typeof value !== 'object') {
    throw new CoordinatorInputError(`${where}: conftool value of ${host} must be an object`, { host, value });
  }
  if (!POOLED_VALUES.includes(value.pooled)) {
    throw new CoordinatorInputError(
      `${where}: conftool value of ${host} has pooled=${JSON.stringify(value.pooled)}; expected one of ${POOLED_VALUES.join(', ')}`,
      { host, value },
    );
  }
  if (
    (
      // Stryker disable next-line ConditionalExpression: the typeof operand becoming false is equivalent, it only narrows the type for TypeScript and Number.isFinite rejects every non-number
      typeof value.weight !== 'number'
    ) ||
    !Number.isFinite(value.weight) ||
    value.weight < 0
  ) {
    throw new CoordinatorInputError(
      `${where}: conftool value of ${host} has weight=${JSON.stringify(value.weight)}; expected a number >= 0`,
      { host, value },
    );
  }
}

function samePool(a: PoolRef | undefined, b: PoolRef): boolean {
  return a !== undefined && a.cluster === b.cluster && a.service === b.service;
}

function checkKey(where: string, expected: ServiceKey & { pool: PoolRef }, got: ServiceKey & { pool: PoolRef }): void {
  if (expected.dc !== got.dc || expected.name !== got.name) {
    throw new CoordinatorInputError(
      `${where}: belongs to LVS service ${servicePath(got)}, but this coordinator manages ${servicePath(expected)}`,
      { expected: servicePath(expected), got: servicePath(got) },
    );
  }
  // Another pool means other hosts and other admin state: the caller builds a new coordinator.
  if (!samePool(got.pool, expected.pool)) {
    throw new CoordinatorInputError(
      `${where}: draws from pool ${got.pool.cluster}/${got.pool.service}, but this coordinator was built over ${expected.pool.cluster}/${expected.pool.service}; rebuild it`,
      { expected: expected.pool, got: got.pool },
    );
  }
}

function newServer(host: string, at: number, value: ConftoolValue | undefined, defWeight: number | undefined): ServerState {
  return {
    host,
    pooledAdmin: value?.pooled ?? 'inactive',
    registered: value !== undefined,
    defined: defWeight !== undefined,
    weight: value?.weight ?? defWeight ?? 0,
    up: true,
    checked: false,
    pooled: false,
    reason: value === undefined ? NOT_REGISTERED_REASON : ASSUMED_UP_REASON,
    since: at,
    flapping: false,
    findings: [],
  };
}

function withHealth(s: ServerState, h: HealthInput): ServerState {
  return {
    ...s,
    up: h.up,
    checked: true,
    reason: h.reason,
    since: s.up !== h.up || !s.checked ? h.at : s.since,
    flapping: h.flapping ?? s.flapping,
    findings: h.findings ?? s.findings,
  };
}

function emptyCounters(): CoordinatorState['counters'] {
  return { couldNotDepool: 0, forcePooled: 0, depooled: 0, repooled: 0 };
}

/**
 * Builds the pool's state at start: reuse known health, then ensure the threshold. Admin depools the
 * previous state had not applied yet are replayed through the hold (coordinator-hold.ts R6).
 */
export function createCoordinator(input: StartInput): Transition {
  const previous = input.previous !== undefined && samePool(input.previous.pool, input.service.pool) ? input.previous : undefined;
  for (const host of Object.keys(input.admin)) checkAdmin(`start of ${servicePath(input.service)}`, host, input.admin[host]);
  const pending = pendingDepoolsAtStart(previous, input.admin, input.adminRevisions);
  const forced = input.forced ?? {};
  const holds = new Map<string, AdminHold>();
  // A forced depool applied before the restart stays shown as forced while its write is current.
  for (const host of Object.keys(forced)) {
    const value = own(input.admin, host);
    if (value !== undefined && value.pooled !== 'yes' && !pending.includes(host)) {
      const prev = own(previous?.servers, host)?.adminHold;
      holds.set(host, {
        status: 'forced', requested: value, revision: own(input.adminRevisions, host) ?? 0,
        since: prev?.status === 'forced' ? prev.since : input.at, writer: forced[host],
      });
    }
  }
  if (pending.length === 0) {
    const t = createBase(input);
    return holds.size === 0 ? t : { ...t, state: { ...t.state, holds } };
  }
  const admin = { ...input.admin };
  for (const host of pending) admin[host] = { ...admin[host], pooled: 'yes' };
  const base = createBase({ ...input, admin });
  const replay = applyEvents({ ...base.state, holds }, pending.map((host) => ({
    type: 'adminChanged' as const, at: input.at, host, value: input.admin[host],
    revision: own(input.adminRevisions, host), force: own(forced, host) ?? null,
  })));
  // Earlier holds keep their time and writer when the same write is still held.
  // Stryker disable next-line ArrayDeclaration: equivalent, never reached: applyEvents returns holds in its new state, or the state given, which has them ({ ...base.state, holds })
  const replayed = new Map(replay.state.holds ?? []);
  for (const [host, h] of replayed) {
    const prev = own(
      // Stryker disable next-line OptionalChaining: `previous.servers` is equivalent, there is something to replay only when there is a previous state (pendingDepoolsAtStart returns [] without one)
      previous?.servers,
      host,
    )?.adminHold;
    if (prev !== undefined && prev.status === h.status && prev.revision === h.revision) {
      // Stryker disable next-line ConditionalExpression: `true` is equivalent, it copies `writer: undefined` only when the earlier hold had no writer, which only a held hold lacks (a forced hold always carries its marker's writer), and the replayed held hold has none either: holdInfo, setWriter, the leader and JSON all treat an undefined writer as none (the `false` mutant is killed; Stryker disables per mutator and line)
      replayed.set(host, { ...h, since: prev.since, ...(prev.writer !== undefined ? { writer: prev.writer } : {}) });
    }
  }
  return { state: { ...replay.state, holds: replayed, revision: base.state.revision }, effects: [...base.effects, ...replay.effects] };
}

function createBase(input: StartInput): Transition {
  const { service, admin, health = {}, at } = input;
  const where = `start of ${servicePath(service)}`;
  checkThreshold(where, service.depoolThreshold);
  // A state published while the service drew from another pool says nothing about these hosts.
  const previous = input.previous !== undefined && samePool(input.previous.pool, service.pool) ? input.previous : undefined;
  if (previous !== undefined) checkKey(`${where}: previous state`, service, previous);
  for (const host of Object.keys(admin)) checkAdmin(where, host, admin[host]);

  const hosts = new Set([...Object.keys(service.servers), ...Object.keys(admin)]);
  const servers = new Map<string, ServerState>();
  for (const host of [...hosts].sort()) {
    let s = newServer(host, at, own(admin, host), own(service.servers, host)?.weight);
    const prev = own(previous?.servers, host);
    const fresh = own(health, host);
    if (fresh !== undefined) s = withHealth(s, fresh);
    else if (prev !== undefined && s.registered) {
      s = {
        ...s,
        up: prev.up,
        checked: prev.reason !== ASSUMED_UP_REASON,
        reason: prev.reason,
        flapping: prev.flapping,
        findings: prev.findings,
        // Stryker disable next-line OptionalChaining: equivalent, inside this branch prev is defined, so previous is
        since: previous?.updatedAt ?? at,
      };
    }
    // A server pooled before the restart stays pooled while the threshold needs it (no flap); settling
    // depools it if it is down and the threshold allows.
    if (
      prev?.pooled === true &&
      // Stryker disable next-line ConditionalExpression: `true` is equivalent, settling right below depools every server that is not enabled (step 1 over all hosts), and the start's effects compare with the previous state, not with this step
      s.pooledAdmin === 'yes'
    ) s = { ...s, pooled: true };
    servers.set(host, s);
  }
  // Issue 14: only fresh verdicts (not the previous state's) count for the first round.
  const members = [...servers.values()].filter((s) => s.registered && s.pooledAdmin !== 'inactive').map((s) => s.host);
  const firstRound = startFirstRound(members, (h) => { const f = own(health, h); return f !== undefined && f.complete !== false; }, at, input.firstRoundTimeoutMs ?? 0);
  // Stryker disable next-line StringLiteral,ArrayDeclaration: equivalent, gatesAfter reads `added` only for admin and config events and does nothing for a tick, nor for an event type it does not know
  const gates: Gates = gatesAfter({ ...(firstRound ? { firstRound } : {}), ...(input.freeze ? { freeze: input.freeze } : {}) }, { type: 'tick', at }, [], members.length);
  const held = gatesHold(gates, at);
  if (held) {
    // While a gate holds, a server seen down keeps the pooling it had; one the previous state does not
    // know "had" the pooling of an unchecked server (assumed up, so pooled when enabled). Otherwise a
    // leader that starts after the fast-failing servers' first verdicts arrived would depool them on
    // a half-finished round, the very thing the gate is for.
    for (const [host, s] of servers) {
      if (
        own(previous?.servers, host) === undefined &&
        s.registered &&
        // Stryker disable next-line ConditionalExpression: `true` is equivalent, a server that is not enabled pooled here is depooled by the settle right below (step 1 over all hosts), and the start's effects do not see this step
        s.pooledAdmin === 'yes' &&
        !s.pooled
      ) servers.set(host, { ...s, pooled: true });
    }
  }
  const draft = new Draft(servers, service.depoolThreshold);
  draft.healthDepoolsHeld = held;
  draft.settle(draft.hosts());
  draft.takeChanges();
  const name = poolName(service);

  // Effects compare with the previous state or, without one, with "the same servers, none pooled" (so
  // they list what got pooled, without a serverAdded per host).
  const changed = new Map<string, DiffServer | undefined>();
  let before: PoolSummary;
  let alertBefore: PoolAlert;
  if (previous !== undefined) {
    for (const host of new Set([...Object.keys(previous.servers), ...draft.hosts()])) changed.set(host, own(previous.servers, host));
    const numbers = thresholdNumbers(Object.values(previous.servers), previous.depoolThreshold);
    alertBefore = poolAlertOf({ name, total: numbers.total, threshold: previous.depoolThreshold, pooledDown: previous.pooledDown });
    before = { threshold: previous.depoolThreshold, numbers };
  } else {
    for (const host of draft.hosts()) changed.set(host, { ...(draft.get(host) as ServerState), pooled: false });
    const numbers = thresholdNumbers(changed.values() as Iterable<ServerState>, service.depoolThreshold);
    alertBefore = { status: 'ok', message: '' };
    before = { threshold: service.depoolThreshold, numbers };
  }
  const after: PoolSummary = { threshold: draft.threshold, numbers: draft.numbers() };
  const pooledDown = draft.pooledDownSorted();
  const effects = [
    // Stryker disable next-line ConditionalExpression: `true` is equivalent, without a previous state every host is given a "before" version above, so none is ever added (the `false` mutant is killed; Stryker disables per mutator and line)
    ...diffEffects(before, after, changed, (h) => draft.get(h), { announceAdded: previous !== undefined, alwaysReportUnmet: true }),
    ...alertEffect(alertBefore, poolAlertOf({ name, total: draft.total, threshold: draft.threshold, pooledDown })),
  ];
  const state: CoordinatorState = {
    dc: service.dc,
    name: service.name,
    pool: { cluster: service.pool.cluster, service: service.pool.service },
    depoolThreshold: service.depoolThreshold,
    servers: draft.finish(),
    pooledDown,
    revision: (previous?.revision ?? 0) + 1,
    updatedAt: at,
    counters: countEffects(emptyCounters(), effects),
    ...gates,
  };
  return { state, effects };
}

/** Applies an admin change to the draft; returns the touched hosts, or why the event was ignored. */
function applyAdmin(draft: Draft, pool: ServiceKey, host: string, value: ConftoolValue | null, at: number): string[] | string {
  const cur = draft.get(host);
  if (value === null) {
    if (cur === undefined || !cur.registered) return `conftool entry of ${host} deleted, but it was not known`;
    if (cur.defined) {
      const reason = cur.checked ? cur.reason : NOT_REGISTERED_REASON;
      draft.set(host, { ...cur, registered: false, pooledAdmin: 'inactive', reason });
    } else {
      draft.set(host, undefined);
    }
    return [host];
  }
  checkAdmin(`admin change in ${servicePath(pool)}`, host, value);
  if (cur === undefined) {
    draft.set(host, newServer(host, at, value, undefined));
  } else if (!cur.registered || cur.pooledAdmin !== value.pooled || cur.weight !== value.weight) {
    draft.set(host, {
      ...cur,
      registered: true,
      pooledAdmin: value.pooled,
      weight: value.weight,
      reason: cur.checked ? cur.reason : ASSUMED_UP_REASON,
    });
  }
  return [host];
}

function sameFindings(a: readonly Finding[], b: readonly Finding[]): boolean {
  return (
    // Stryker disable next-line ConditionalExpression: `a === b` becoming false is equivalent, it is a shortcut: the same array gives the same JSON (the other ConditionalExpression mutants of this line are killed; Stryker disables per mutator and line)
    a === b ||
    JSON.stringify(a) === JSON.stringify(b)
  );
}

function applyHealth(draft: Draft, pool: ServiceKey, e: Extract<CoordinatorEvent, { type: 'healthChanged' }>): string[] | string {
  const cur = draft.get(e.host);
  if (cur === undefined) return `health of ${e.host}, which is not in pool ${servicePath(pool)}`;
  const next = withHealth(cur, e);
  const same =
    cur.checked && cur.up === next.up && cur.reason === next.reason && cur.flapping === next.flapping && sameFindings(cur.findings, next.findings);
  if (!same) draft.set(e.host, next);
  return [e.host];
}

function applyConfig(draft: Draft, pool: ServiceKey & { pool: PoolRef }, service: ServiceDef, at: number): string[] {
  const where = `config change of ${servicePath(pool)}`;
  checkKey(where, pool, service);
  checkThreshold(where, service.depoolThreshold);
  for (const host of draft.hosts()) {
    const cur = draft.get(host) as ServerState;
    const def = own(service.servers, host);
    if (def === undefined && !cur.registered) {
      draft.set(host, undefined); // neither defined nor in conftool: gone
      continue;
    }
    // Stryker disable next-line OptionalChaining: equivalent, a host that is neither registered nor defined was removed just above, so def is defined here
    const weight = cur.registered ? cur.weight : (def?.weight ?? cur.weight);
    const defined = def !== undefined;
    if (cur.defined !== defined || cur.weight !== weight) draft.set(host, { ...cur, defined, weight });
  }
  for (const host of Object.keys(service.servers)) {
    if (!draft.has(host)) draft.set(host, newServer(host, at, undefined, service.servers[host].weight));
  }
  draft.threshold = service.depoolThreshold;
  return draft.hosts();
}

/**
 * Applies events in order, with exactly the semantics of applying them one by one (PyBal's outcome is
 * history-dependent, so a batch is never settled as a whole), but copies the pool only once: use it for
 * bursts of health changes in large pools. Throws CoordinatorInputError on invalid input (nothing of the
 * batch is applied then); never mutates `state`.
 */
export function applyEvents(state: CoordinatorState, events: readonly CoordinatorEvent[]): Transition {
  const draft = new Draft(state.servers, state.depoolThreshold);
  const name = poolName(state);
  const effects: CoordinatorEffect[] = [];
  const holds = new Map(state.holds ?? []);
  let holdsChanged = false;
  let revision = state.revision;
  let updatedAt = state.updatedAt;
  let before: PoolSummary = { threshold: state.depoolThreshold, numbers: draft.numbers() };
  const totalBefore = draft.total;
  let gates: Gates = { ...(state.firstRound ? { firstRound: state.firstRound } : {}), ...(state.freeze ? { freeze: state.freeze } : {}) };
  for (const event of events) {
    let touched: string[] | string;
    let primary: string | undefined;
    const isMember = (h: string) => { const s = draft.get(h); return s !== undefined && s.registered && s.pooledAdmin !== 'inactive'; };
    // Stryker disable next-line ConditionalExpression,BooleanLiteral: the `true` and `: false` mutants are equivalent, wasMember is read only in `added` below, which is [] for any event but an admin change (the `false` mutant is killed; Stryker disables per mutator and line)
    const wasMember = event.type === 'adminChanged' ? isMember(event.host) : true;
    switch (event.type) {
      case 'adminChanged': {
        const n = effects.length;
        const sizeBefore = holds.size;
        const before = holds.get(event.host);
        const value = admitAdmin(draft, holds, event, effects);
        if (
          (
            // Stryker disable next-line ConditionalExpression,LogicalOperator: equivalent, admitAdmin changes holds (and pushes an effect) only for the event's host, so when the first or the second operand holds, the third does too: `a || b` or `a` becoming false, and `a && b`, cannot be told apart
            effects.length !== n ||
            // Stryker disable next-line ConditionalExpression: `false` is equivalent, see above
            holds.size !== sizeBefore
          ) ||
          holds.get(event.host) !== before
        ) holdsChanged = true;
        touched = applyAdmin(draft, state, event.host, value, event.at);
        primary = event.host;
        break;
      }
      case 'adminWriter':
        // A new state at once (the writer is shown with the hold); not marked as a pending holds
        // change, which would bump the revision again on the next event of the batch that changes nothing.
        if (setWriter(holds, event.host, event.revision, event.writer)) {
          revision++;
          updatedAt = event.at;
        }
        continue;
      case 'healthChanged':
        touched = applyHealth(draft, state, event);
        primary = event.host;
        break;
      case 'configChanged':
        touched = applyConfig(draft, state, event.service, event.at);
        break;
      case 'freezeChanged':
      case 'tick':
        // Stryker disable next-line ArrayDeclaration: equivalent, settle() skips a host that does not exist (a host named "Stryker was here" is not in the pool)
        touched = []; // settling alone applies what the gates held back (step 3 is pool-wide)
        break;
      default: {
        const never: never = event;
        throw new CoordinatorInputError(`unknown coordinator event ${JSON.stringify(never)}`, { event: never });
      }
    }
    if (typeof touched === 'string') {
      effects.push({ kind: 'ignored', host: primary, reason: touched });
      continue;
    }
    // Stryker disable next-line ConditionalExpression: `event.type === 'adminChanged'` becoming true is equivalent, for any other event wasMember is true, so `added` is [] either way (the other ConditionalExpression mutants of this line are killed; Stryker disables per mutator and line)
    const added = event.type === 'adminChanged' && !wasMember && isMember(event.host) ? [event.host] : [];
    const gatesBefore = gates;
    gates = gatesAfter(gates, event, added, draft.total);
    draft.healthDepoolsHeld = gatesHold(gates, event.at);
    draft.settle(touched);
    // Stryker disable next-line ConditionalExpression,EqualityOperator: `true` and `>= 0` are equivalent, a shortcut: releaseHolds over no holds releases nothing and pushes no effect (the `false` and `<= 0` mutants are killed; Stryker disables per mutator and line)
    if (holds.size > 0) {
      const released = releaseHolds(draft, holds, (host, value) => draft.settle(applyAdmin(draft, state, host, value, event.at) as string[]), effects);
      // Stryker disable next-line ConditionalExpression,EqualityOperator,BooleanLiteral: `false`, `<= 0` and `holdsChanged = false` are equivalent, a release applies the written depool to a host kept at admin yes, which always changes that server, so the event is published anyway (the `true` and `>= 0` mutants are killed; Stryker disables per mutator and line)
      if (released.length > 0) holdsChanged = true;
    }
    const changed = draft.takeChanges();
    if (changed.size === 0 && draft.threshold === before.threshold && gates === gatesBefore) {
      if (holdsChanged) {
        revision++;
        updatedAt = event.at;
        holdsChanged = false;
      }
      continue;
    }
    holdsChanged = false;
    const after: PoolSummary = { threshold: draft.threshold, numbers: draft.numbers() };
    effects.push(...diffEffects(before, after, changed, (h) => draft.get(h), { primary, announceAdded: true }));
    revision++;
    updatedAt = event.at;
    before = after;
  }
  if (revision === state.revision) return { state, effects };
  const alertBefore = poolAlertOf({ name, total: totalBefore, threshold: state.depoolThreshold, pooledDown: state.pooledDown });
  const pooledDown = draft.pooledDownSorted();
  effects.push(...alertEffect(alertBefore, poolAlertOf({ name, total: draft.total, threshold: draft.threshold, pooledDown })));
  const { firstRound: _fr, freeze: _fz, ...rest } = state; // gates are replaced by the current ones
  return {
    state: {
      ...rest,
      ...gates,
      depoolThreshold: draft.threshold,
      pooledDown,
      servers: draft.finish(),
      holds,
      revision,
      updatedAt,
      counters: countEffects(state.counters, effects),
    },
    effects,
  };
}

/** Applies one event. Throws CoordinatorInputError on invalid input; never mutates `state`. */
export function applyEvent(state: CoordinatorState, event: CoordinatorEvent): Transition {
  return applyEvents(state, [event]);
}

/** PyBal's canDepool for the current state: another down server may leave the pool. */
export function canDepool(state: CoordinatorState): boolean {
  return canDepoolServers(state.servers.values(), state.depoolThreshold);
}

/** One server as published: its effective state, with its admin hold when one is in force. A fresh object. */
export function effectiveServer(s: ServerState, hold: AdminHold | undefined): EffectiveServer {
  const server: EffectiveServer = {
    pooledAdmin: s.pooledAdmin,
    enabled: s.pooledAdmin === 'yes',
    up: s.up,
    pooled: s.pooled,
    weight: s.weight,
    reason: s.reason,
    flapping: s.flapping,
    findings: s.findings,
  };
  if (hold !== undefined) server.adminHold = holdInfo(hold);
  return server;
}

/**
 * The state to publish (/poold/v1/state, /pools). Includes hosts that are inactive or not in conftool
 * (pooledAdmin `inactive`); PyBal-compatible listings must leave those out.
 */
export function effectiveState(state: CoordinatorState): PoolState {
  const servers: Record<string, EffectiveServer> = {};
  for (const [host, s] of state.servers) servers[host] = effectiveServer(s, state.holds?.get(host));
  return {
    dc: state.dc,
    name: state.name,
    pool: { ...state.pool },
    revision: state.revision,
    updatedAt: state.updatedAt,
    depoolThreshold: state.depoolThreshold,
    servers,
    pooledDown: [...state.pooledDown],
    ...(state.firstRound ? { firstRound: state.firstRound } : {}),
    ...(state.freeze ? { freeze: state.freeze } : {}),
  };
}
