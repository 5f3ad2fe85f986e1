// Per-(host, check) health state machine: rise/fall hysteresis plus flapping detection.
// Pure: callers pass the time in; the scheduler (src/checks/scheduler.ts) owns clocks.
//
// Semantics (why, not what):
// - A server starts in the state the caller gives (normally its last published health), so a poold
//   restart does not make every backend go down and up again.
// - `rise` consecutive successes bring a down server up, `fall` consecutive failures take an up
//   server down (PyBal/HAProxy semantics). A result of the other polarity resets the streak.
// - Every up<->down transition is remembered for `flapping.windowMs`. When the window holds at least
//   `flapping.transitions` of them the server is flapping; it stops flapping as soon as the window holds
//   fewer. This catches the EventLogging writer that failed and recovered all day without an alert.
//   Flapping annotates the state; it does not change up/down (the coordinator decides what to do).
// - Events follow Envoy's health-check event log: first_failure is the first failure of a streak on an
//   up server (so "trouble started" is visible before fall is reached), went_down/came_up are the
//   transitions, flapping_started/flapping_stopped the flapping edges.

import { UsageError } from './errors.js';
import { formatDuration } from './duration.js';
import type { FlappingDef, ReasonCode } from './types.js';

export interface HysteresisConfig {
  rise: number;
  fall: number;
  /** transitions <= 0 or windowMs <= 0 disables flapping detection. */
  flapping: FlappingDef;
}

export interface HealthState {
  readonly up: boolean;
  /** Length of the current run of successes (0 after a failure). */
  readonly okStreak: number;
  /** Length of the current run of failures (0 after a success). */
  readonly failStreak: number;
  /** Times of up/down transitions still inside the flapping window, oldest first. */
  readonly transitions: readonly number[];
  readonly flapping: boolean;
  /** `flapping: 7 transitions in 10m` while flapping, else ''. */
  readonly flappingReason: string;
  /** Time of the last up/down transition, or of initialisation. */
  readonly since: number;
  /** Reason for the current state: the result that caused the last transition, or the initial reason. */
  readonly code: ReasonCode;
  readonly message: string;
  /** The most recent result seen (time -1 before the first). */
  readonly last: { readonly at: number; readonly up: boolean; readonly code: ReasonCode; readonly message: string };
}

export type HealthEventType = 'first_failure' | 'went_down' | 'came_up' | 'flapping_started' | 'flapping_stopped';

/** Reason codes of events: a check's ReasonCode, or `flapping` for the flapping edges. */
export type HealthEventCode = ReasonCode | 'flapping';

export interface HealthEvent {
  type: HealthEventType;
  host: string;
  check: string;
  at: number;
  code: HealthEventCode;
  message: string;
  /** State after the event. */
  up: boolean;
  flapping: boolean;
}

/** The part of a CheckResult the machine needs. */
export interface ResultSummary {
  up: boolean;
  code: ReasonCode;
  message: string;
}

export interface HealthIds {
  host: string;
  check: string;
}

export interface HealthStep {
  state: HealthState;
  events: readonly HealthEvent[];
}

const NO_EVENTS: readonly HealthEvent[] = Object.freeze([]);

function isPositiveInt(n: unknown): boolean {
  return (
    // Stryker disable next-line ConditionalExpression: the typeof only narrows the type for TypeScript; Number.isInteger is false for every non-number
    typeof n === 'number' &&
    Number.isInteger(n) &&
    n >= 1
  );
}

/** Throws a UsageError naming the bad field; callers validate once, not per result. */
export function validateHysteresisConfig(cfg: HysteresisConfig, where = 'hysteresis config'): void {
  if (!isPositiveInt(cfg.rise)) {
    throw new UsageError(`${where}: rise must be an integer >= 1, got ${String(cfg.rise)}`, { rise: cfg.rise });
  }
  if (!isPositiveInt(cfg.fall)) {
    throw new UsageError(`${where}: fall must be an integer >= 1, got ${String(cfg.fall)}`, { fall: cfg.fall });
  }
  const f = cfg.flapping;
  if (!f || !Number.isInteger(f.transitions) || !Number.isFinite(f.windowMs) || f.windowMs < 0) {
    throw new UsageError(`${where}: flapping needs integer transitions and windowMs >= 0, got ${JSON.stringify(f)}`, {
      flapping: f,
    });
  }
}

export function flappingEnabled(f: FlappingDef): boolean {
  return f.transitions > 0 && f.windowMs > 0;
}

/** The state a server starts in; `up` is normally its last published health. */
export function initialHealth(up: boolean, at: number, message = up ? 'initial state: up' : 'initial state: down'): HealthState {
  return {
    up,
    okStreak: 0,
    failStreak: 0,
    transitions: [],
    flapping: false,
    flappingReason: '',
    since: at,
    code: up ? 'ok' : 'error',
    message,
    last: { at: -1, up, code: up ? 'ok' : 'error', message },
  };
}

export function flappingMessage(count: number, windowMs: number): string {
  return `flapping: ${count} transitions in ${formatDuration(windowMs)}`;
}

/** Drops transitions that left the window (older than at - windowMs). Returns the same array when nothing dropped. */
function prune(transitions: readonly number[], at: number, windowMs: number): readonly number[] {
  const cutoff = at - windowMs;
  let i = 0;
  while (
    // Stryker disable next-line ConditionalExpression,EqualityOperator: past the end transitions[i] is undefined and `undefined <= cutoff` is false, so the loop stops there without this bound
    i < transitions.length &&
    transitions[i] <= cutoff
  )
    i++;
  return i === 0 ? transitions : transitions.slice(i);
}

function event(
  type: HealthEventType,
  ids: HealthIds,
  at: number,
  code: HealthEventCode,
  message: string,
  s: { up: boolean; flapping: boolean },
): HealthEvent {
  return { type, host: ids.host, check: ids.check, at, code, message, up: s.up, flapping: s.flapping };
}

/** Re-evaluates flapping for time `at` and appends the edge event, if any. Mutates `next`/`events`. */
function evaluateFlapping(next: Mutable<HealthState>, cfg: HysteresisConfig, ids: HealthIds, at: number, events: HealthEvent[]): void {
  const f = cfg.flapping;
  if (!flappingEnabled(f)) {
    // Stryker disable next-line ConditionalExpression,EqualityOperator: the guard only avoids replacing an empty window with another empty array (same contents)
    if (next.transitions.length > 0) next.transitions = [];
    if (next.flapping) {
      next.flapping = false;
      next.flappingReason = '';
      events.push(event('flapping_stopped', ids, at, 'flapping', 'flapping detection disabled', next));
    }
    return;
  }
  next.transitions = prune(next.transitions, at, f.windowMs);
  const count = next.transitions.length;
  if (count >= f.transitions) {
    next.flappingReason = flappingMessage(count, f.windowMs);
    if (!next.flapping) {
      next.flapping = true;
      events.push(event('flapping_started', ids, at, 'flapping', next.flappingReason, next));
    }
  } else if (next.flapping) {
    next.flapping = false;
    next.flappingReason = '';
    events.push(
      event('flapping_stopped', ids, at, 'flapping', `flapping stopped: ${count} transitions in ${formatDuration(f.windowMs)}`, next),
    );
  }
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** Feeds one check result observed at `at`. */
export function applyResult(state: HealthState, cfg: HysteresisConfig, ids: HealthIds, result: ResultSummary, at: number): HealthStep {
  // An explicit literal, not a spread: this runs for every check result (10k/s), and a fixed-shape
  // literal is several times cheaper to build.
  const next: Mutable<HealthState> = {
    up: state.up,
    okStreak: state.okStreak,
    failStreak: state.failStreak,
    transitions: state.transitions,
    flapping: state.flapping,
    flappingReason: state.flappingReason,
    since: state.since,
    code: state.code,
    message: state.message,
    last: { at, up: result.up, code: result.code, message: result.message },
  };
  let events: HealthEvent[] | null = null;
  const push = (e: HealthEvent) => (events ??= []).push(e);

  if (result.up) {
    next.okStreak = state.okStreak + 1;
    next.failStreak = 0;
    if (!state.up && next.okStreak >= cfg.rise) {
      next.up = true;
      next.since = at;
      next.code = result.code;
      next.message = `${next.okStreak} consecutive successes (rise ${cfg.rise})`;
      next.transitions = [...state.transitions, at];
      push(event('came_up', ids, at, result.code, next.message, next));
    }
  } else {
    next.failStreak = state.failStreak + 1;
    next.okStreak = 0;
    if (state.up) {
      if (next.failStreak === 1) {
        push(event('first_failure', ids, at, result.code, result.message, next));
      }
      if (next.failStreak >= cfg.fall) {
        next.up = false;
        next.since = at;
        next.code = result.code;
        next.message = `${result.message} (${next.failStreak} consecutive failures, fall ${cfg.fall})`;
        next.transitions = [...state.transitions, at];
        push(event('went_down', ids, at, result.code, next.message, next));
      }
    } else if (result.code !== state.last.code || result.message !== state.last.message) {
      // Already down, for another reason now: keep the reason current so alerts say why it is down *now*.
      next.code = result.code;
      next.message = result.message;
    }
    // Already down for the same failure as last time: the message it went down with stays. Rewriting
    // it would change the host's observation every round for nothing, and every change is an etcd write
    // (issue 12: no etcd writes while nothing changes).
  }

  if (
    // Stryker disable next-line ConditionalExpression,EqualityOperator: a fast path; with no transitions and not flapping, evaluateFlapping changes nothing (0 transitions never reach an enabled limit >= 1, and prune keeps the same empty array)
    next.transitions.length > 0 ||
    next.flapping
  ) {
    const flapEvents: HealthEvent[] = [];
    evaluateFlapping(next, cfg, ids, at, flapEvents);
    for (const e of flapEvents) push(e);
  }
  return { state: next, events: events ?? NO_EVENTS };
}

/**
 * Applies a new config to a live state (reconfiguration from etcd). The up/down state is kept (no flap
 * on reconfigure); a streak that already satisfies a lowered rise/fall takes effect at the next result.
 */
export function reconfigure(state: HealthState, cfg: HysteresisConfig, ids: HealthIds, at: number): HealthStep {
  // Only flapping depends on the config and the time; it may start or stop under the new window.
  if (state.transitions.length === 0 && !state.flapping) return { state, events: NO_EVENTS };
  const next: Mutable<HealthState> = { ...state };
  const events: HealthEvent[] = [];
  evaluateFlapping(next, cfg, ids, at, events);
  return { state: next, events: events.length ? events : NO_EVENTS };
}
