// Runs health checks for many (service, host, check) targets and turns results into health.
//
// Design choices (why):
// - Identical probes are run once: targets with the same (host, address, port, probe definition) share a
//   *group* with one Checker; each target is a *subscriber* with its own rise/fall/flapping state.
// - Fixed-rate slots: a group's slots are anchor + k*interval; each run is due at its slot plus a small
//   random spread, and the first slot is staggered randomly across the interval so 10k checks do not
//   fire together. The next run is scheduled only when the current one finishes, so one probe never runs
//   twice at once; slots that passed meanwhile (overrun, or waiting in the queue) are counted as missed
//   and skipped rather than run back to back against a slow backend.
// - One min-heap and one armed timer for all groups; a global concurrency bound with a bounded FIFO of
//   due groups. A group is in at most one of heap/queue/running, so it can never be queued twice; when
//   the FIFO is full the slot is dropped (counted), never accumulated.
// - The checker contract says check() settles by its deadline. A watchdog still reports a `deadline`
//   failure for a run that overstays by `watchdogGraceMs`, so a buggy checker cannot freeze a server's
//   health at its last value; the group stays blocked until the promise really settles. A run must be
//   seen overdue by two consecutive sweeps: after an event-loop stall (GC, CPU starvation) the sweep
//   can run before the checkers' own deadline timers, and reporting then would fake a failure.
// - Time: slots, timers, lateness and the watchdog use the clock's monotonic now(); wall time
//   (wallNow()) only stamps results and health and sets checker deadlines (sched-clock.ts), so a
//   wall-clock step cannot delay or bunch checks.

import type { CheckDef, CheckResult, FlappingDef, ServiceKey } from '../model/types.js';
import { errorMessage, UsageError } from '../model/errors.js';
import {
  applyResult,
  initialHealth,
  reconfigure as reconfigureHealth,
  validateHysteresisConfig,
  type HealthEvent,
  type HealthIds,
  type HealthState,
  type HysteresisConfig,
} from '../model/hysteresis.js';
import type { CheckDone, Checker, CheckTarget } from './checker.js';
import { DueHeap, type HeapItem } from './sched-heap.js';
import { systemClock, type SchedulerClock, type TimerHandle } from './sched-clock.js';
import { LatenessHistogram, type LatenessSummary } from './sched-stats.js';
import { effectivePort, probeKey, targetKey } from './sched-key.js';

/** One thing to check: a backend of a service, with one of the service's checks. */
export interface ScheduledTarget {
  service: ServiceKey;
  host: string;
  address: string;
  /** The service's LVS port, used when the check names none. */
  port: number;
  check: CheckDef;
  flapping: FlappingDef;
  /** Health to start from, normally the last published observation; default down. */
  initialUp?: boolean;
}

/** Emitted for every result, once per subscribing target (metrics: code, duration, lateness). */
export interface CheckRunEvent {
  target: string;
  service: ServiceKey;
  host: string;
  check: string;
  kind: CheckDef['kind'];
  address: string;
  port: number;
  result: CheckResult;
  /** Epoch ms (wall clock at finish, minus the monotonic durations since due and start). */
  dueAt: number;
  startedAt: number;
  finishedAt: number;
  latenessMs: number;
  /** Health of this target after the result. */
  health: HealthState;
  /** How many targets shared this probe run (dedupe). */
  sharedBy: number;
}

export interface TargetHealthEvent extends HealthEvent {
  target: string;
  service: ServiceKey;
}

export interface SchedulerListener {
  result?(ev: CheckRunEvent): void;
  health?(ev: TargetHealthEvent): void;
}

type ListenerErrorHandler = (err: unknown, context: { where: string; target?: string }) => void;

/**
 * Hands an event to every listener that takes its kind, in order; a listener that throws is
 * reported to `onError` and never keeps the event from the others (the in-thread scheduler and the
 * sharded one alike).
 */
export function notifyListeners(listeners: readonly SchedulerListener[], kind: 'result', ev: CheckRunEvent, onError: ListenerErrorHandler): void;
export function notifyListeners(listeners: readonly SchedulerListener[], kind: 'health', ev: TargetHealthEvent, onError: ListenerErrorHandler): void;
export function notifyListeners(listeners: readonly SchedulerListener[], kind: 'result' | 'health', ev: CheckRunEvent | TargetHealthEvent, onError: ListenerErrorHandler): void {
  for (const l of listeners) {
    const handler = l[kind] as ((e: CheckRunEvent | TargetHealthEvent) => void) | undefined;
    if (handler === undefined) continue;
    try {
      handler.call(l, ev);
    } catch (err) {
      onError(err, { where: `${kind} listener`, target: ev.target });
    }
  }
}

export interface SchedulerOptions {
  /** Builds the checker for a probe; normally createChecker from src/checks/index.ts. */
  createChecker: (def: CheckDef) => Checker;
  clock?: SchedulerClock;
  /** Uniform [0, 1) source for stagger and spread; inject a seeded one for deterministic tests. */
  random?: () => number;
  /** Maximum checks in flight (default 2048). */
  concurrency?: number;
  /** Maximum due groups waiting for a concurrency slot (default 8192). */
  maxQueue?: number;
  /** Fraction of the interval over which first runs are staggered (default 1 = the whole interval). */
  staggerFraction?: number;
  /** Per-round random delay as a fraction of the interval (default 0.05), capped by maxSpreadMs. */
  spreadFraction?: number;
  /** Cap on the per-round delay (default 500 ms). */
  maxSpreadMs?: number;
  /**
   * Due checks are started on ticks of this many ms (default 10; 0 starts each as soon as it is due).
   * Batching starts lets the event loop handle them in fewer wake-ups: measured with an instant checker
   * (bench/checks/scheduler-only), 30 -> 22 µs CPU per run at 1k runs/s and 7.8 -> 5.3 µs at 10k/s.
   * It adds at most this much lateness.
   */
  batchMs?: number;
  /** A run that has not settled this long after its deadline is reported as failed (default 2000 ms). */
  watchdogGraceMs?: number;
  /** Where listener exceptions, checker bugs and close() failures go (default: process.emitWarning). */
  onError?: ListenerErrorHandler;
}

/**
 * What the daemon needs of a check runner: the in-thread CheckScheduler below, or the same scheduler
 * sharded across worker threads (sched-shards.ts).
 */
export interface CheckRunner {
  start(): void;
  stop(): Promise<void>;
  addListener(listener: SchedulerListener): () => void;
  setTargets(targets: readonly ScheduledTarget[]): SetTargetsResult;
}

export interface SetTargetsResult {
  upserted: number;
  removed: number;
  /** `message` is the error's text, so the entry still says why when logged as plain JSON. */
  rejected: { target: string; message: string; error: unknown }[];
}

export interface SchedulerStats {
  targets: number;
  groups: number;
  inFlight: number;
  queueDepth: number;
  /** Highest queue depth since the last resetStats(). */
  maxQueueDepth: number;
  started: number;
  completed: number;
  /** Slots that passed without a run because the previous run (or its wait in the queue) overran. */
  missedSlots: number;
  /** Slots dropped because the queue was full. */
  queueFullDrops: number;
  /** Checkers that threw or rejected (a contract violation, reported as `error` results). */
  checkerErrors: number;
  /** Runs the watchdog reported as failed because they overstayed their deadline. */
  overdue: number;
  /** Actual start minus due time, ms. */
  lateness: LatenessSummary;
  /** Epoch ms of the last resetStats() (or creation). */
  since: number;
}

type GroupState = 'idle' | 'scheduled' | 'queued' | 'running';

interface Group extends HeapItem {
  key: string;
  def: CheckDef;
  target: CheckTarget;
  checker: Checker;
  intervalMs: number;
  subs: Map<string, Subscriber>;
  state: GroupState;
  /** No subscribers left; kept only until its in-flight run settles. */
  retired: boolean;
  anchor: number;
  runDue: number;
  runStart: number;
  /** Monotonic, for the watchdog (the checker gets the same deadline on the wall clock). */
  runDeadline: number;
  /** The watchdog already reported the current run. */
  runReported: boolean;
  /** Sweep number that first saw the current run overdue (0: none). */
  overdueSweep: number;
  /** Lost its last slot to a full queue; gets precedence over fresh entries next time. */
  starved: boolean;
  /** Numbers runs through Checker.run, so a late second callback cannot end another run. */
  runSeq: number;
}

interface Subscriber {
  key: string;
  target: ScheduledTarget;
  ids: HealthIds;
  cfg: HysteresisConfig;
  health: HealthState;
  group: Group;
}

const EMPTY_DETAIL_FINDINGS: CheckResult['findings'] = [];

/**
 * Whether one checker can serve many targets and be closed only when the last of them goes:
 * not for checkers that hold per-target connections (idle-connection, keep-alive http), whose
 * close() must release a removed target's connections when that target goes.
 */
function shareableChecker(def: CheckDef): boolean {
  return def.kind !== 'idle-connection' && !(def.kind === 'http' && def.keepAlive);
}

/** Throws UsageError when the target cannot be scheduled (no address, bad interval, timeout, rise/fall). */
export function validateTarget(t: ScheduledTarget, key: string): void {
  const d = t.check;
  if (!t.address) throw new UsageError(`${key}: no address to check`, { target: key });
  if (!(Number.isFinite(d.intervalMs) && d.intervalMs > 0)) {
    throw new UsageError(`${key}: check interval must be > 0 ms, got ${String(d.intervalMs)}`, { target: key });
  }
  if (!(Number.isFinite(d.timeoutMs) && d.timeoutMs > 0)) {
    throw new UsageError(`${key}: check timeout must be > 0 ms, got ${String(d.timeoutMs)}`, { target: key });
  }
  validateHysteresisConfig({ rise: d.rise, fall: d.fall, flapping: t.flapping }, key);
}

export class CheckScheduler implements CheckRunner {
  private readonly clock: SchedulerClock;
  private readonly random: () => number;
  private readonly createChecker: (def: CheckDef) => Checker;
  private readonly concurrency: number;
  private readonly maxQueue: number;
  private readonly staggerFraction: number;
  private readonly spreadFraction: number;
  private readonly maxSpreadMs: number;
  private readonly batchMs: number;
  private readonly watchdogGraceMs: number;
  private readonly onError: (err: unknown, context: { where: string; target?: string }) => void;

  private readonly groups = new Map<string, Group>();
  /**
   * Checkers shared by every group probing with the same definition object (all hosts of a
   * service): one HttpChecker with its caches per service instead of one per backend (~1 KB each,
   * all live heap the garbage collector marks again and again at 10k backends).
   */
  private readonly sharedCheckers = new Map<CheckDef, { checker: Checker; groups: number }>();
  private readonly subs = new Map<string, Subscriber>();
  private readonly heap = new DueHeap<Group>();
  private queue: (Group | null)[] = [];
  private queueHead = 0;
  private queued = 0;
  private readonly running = new Set<Group>();
  private listeners: SchedulerListener[] = [];

  private timer: TimerHandle | null = null;
  private timerAt = Infinity;
  private watchdog: TimerHandle | null = null;
  private sweeps = 0;
  private started = false;
  private idleWaiters: (() => void)[] = [];

  private counters = { started: 0, completed: 0, missedSlots: 0, queueFullDrops: 0, checkerErrors: 0, overdue: 0, maxQueueDepth: 0 };
  private readonly lateness = new LatenessHistogram();
  private statsSince: number;

  constructor(opts: SchedulerOptions) {
    this.clock = opts.clock ?? systemClock;
    this.random = opts.random ?? Math.random;
    this.createChecker = opts.createChecker;
    this.concurrency = opts.concurrency ?? 2048;
    this.maxQueue = opts.maxQueue ?? 8192;
    this.staggerFraction = opts.staggerFraction ?? 1;
    this.spreadFraction = opts.spreadFraction ?? 0.05;
    this.maxSpreadMs = opts.maxSpreadMs ?? 500;
    this.batchMs = opts.batchMs ?? 10;
    this.watchdogGraceMs = opts.watchdogGraceMs ?? 2000;
    this.onError =
      opts.onError ??
      ((err, ctx) => process.emitWarning(`check scheduler: ${ctx.where}${ctx.target ? ` (${ctx.target})` : ''}: ${errorMessage(err)}`));
    if (!(Number.isInteger(this.concurrency) && this.concurrency >= 1)) {
      throw new UsageError(`scheduler concurrency must be an integer >= 1, got ${String(opts.concurrency)}`);
    }
    if (!(Number.isInteger(this.maxQueue) && this.maxQueue >= 0)) {
      throw new UsageError(`scheduler maxQueue must be an integer >= 0, got ${String(opts.maxQueue)}`);
    }
    for (const [name, v] of [
      ['staggerFraction', this.staggerFraction],
      ['spreadFraction', this.spreadFraction],
    ] as const) {
      if (!(v >= 0 && v <= 1)) throw new UsageError(`scheduler ${name} must be within [0, 1], got ${String(v)}`);
    }
    this.statsSince = this.clock.wallNow();
  }

  // ---- public API ----

  /** Starts running checks; targets added before start get their staggered first slot now. */
  start(): void {
    if (this.started) return;
    this.started = true;
    const now = this.clock.now();
    for (const g of this.groups.values()) if (g.state === 'idle') this.scheduleFirst(g, now);
    this.armWatchdog();
  }

  /** Stops scheduling, waits for in-flight runs to settle (their results are still delivered), closes checkers. */
  async stop(): Promise<void> {
    this.started = false;
    if (this.timer !== null) this.clock.clearTimer(this.timer);
    this.timer = null;
    this.timerAt = Infinity;
    while (this.heap.pop());
    for (const g of this.groups.values()) if (g.state !== 'running') g.state = 'idle';
    this.queue = [];
    this.queueHead = 0;
    this.queued = 0;
    // A checker that never settles is abandoned once the watchdog has reported it, so stop() cannot hang.
    if (!this.allRunsSettledOrReported()) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    if (this.watchdog !== null) this.clock.clearTimer(this.watchdog);
    this.watchdog = null;
    const closing = [...this.groups.values()].map((g) => this.closeChecker(g));
    await Promise.all(closing);
  }

  addListener(listener: SchedulerListener): () => void {
    this.listeners = [...this.listeners, listener];
    return () => {
      this.listeners = this.listeners.filter((l) => l !== listener);
    };
  }

  /**
   * Adds or reconfigures one target without disturbing others. Same probe: only rise/fall/flapping
   * change and the health state is kept. Different probe (address, port, definition): the target moves
   * to that probe's group, keeping its up/down and flapping state but restarting its streaks.
   * Returns the target key.
   */
  upsert(target: ScheduledTarget): string {
    const key = targetKey(target.service, target.host, target.check.name);
    validateTarget(target, key);
    const port = effectivePort(target.check, target.port);
    const gkey = probeKey(target.host, target.address, port, target.check);
    const cfg: HysteresisConfig = { rise: target.check.rise, fall: target.check.fall, flapping: target.flapping };
    const now = this.clock.now();
    const wall = this.clock.wallNow();
    const existing = this.subs.get(key);
    if (existing && existing.group.key === gkey) {
      existing.target = target;
      existing.cfg = cfg;
      const step = reconfigureHealth(existing.health, cfg, existing.ids, wall);
      existing.health = step.state;
      this.emitHealth(existing, step.events);
      return key;
    }
    const group = this.groupFor(gkey, target, port, now);
    if (existing) {
      this.detach(existing);
      const carried: HealthState = { ...existing.health, okStreak: 0, failStreak: 0 };
      const sub: Subscriber = { ...existing, target, cfg, group, health: carried };
      const step = reconfigureHealth(sub.health, cfg, sub.ids, wall);
      sub.health = step.state;
      this.attach(sub);
      this.emitHealth(sub, step.events);
      return key;
    }
    const ids = { host: target.host, check: target.check.name };
    this.attach({ key, target, ids, cfg, health: initialHealth(target.initialUp ?? false, wall), group });
    return key;
  }

  /** Removes one target; its probe stops when no other target shares it. Returns false if unknown. */
  remove(key: string): boolean {
    const sub = this.subs.get(key);
    if (!sub) return false;
    this.detach(sub);
    return true;
  }

  /**
   * Makes the target set exactly `targets` (the daemon calls this on every etcd change). A target that
   * cannot be applied (bad definition, checker refused it) is reported in `rejected` and does not stop
   * the others; if it existed before, it keeps running with its previous definition.
   */
  setTargets(targets: readonly ScheduledTarget[]): SetTargetsResult {
    const keep = new Set<string>();
    const rejected: SetTargetsResult['rejected'] = [];
    for (const t of targets) {
      const key = targetKey(t.service, t.host, t.check?.name);
      keep.add(key);
      try {
        this.upsert(t);
      } catch (error) {
        rejected.push({ target: key, message: errorMessage(error), error });
      }
    }
    let removed = 0;
    for (const key of [...this.subs.keys()]) {
      if (!keep.has(key) && this.remove(key)) removed++;
    }
    return { upserted: keep.size - rejected.length, removed, rejected };
  }

  /** Current health of one target, or undefined if unknown. */
  health(key: string): HealthState | undefined {
    return this.subs.get(key)?.health;
  }

  targetKeys(): string[] {
    return [...this.subs.keys()];
  }

  stats(): SchedulerStats {
    return {
      targets: this.subs.size,
      groups: [...this.groups.values()].filter((g) => !g.retired).length,
      inFlight: this.running.size,
      queueDepth: this.queued,
      ...this.counters,
      lateness: this.lateness.summary(),
      since: this.statsSince,
    };
  }

  /** The lateness histogram's buckets, for merging several schedulers' (sched-shards.ts). */
  latenessCounts(): Uint32Array {
    return this.lateness.counts();
  }

  resetStats(): void {
    for (const k of Object.keys(this.counters) as (keyof typeof this.counters)[]) this.counters[k] = 0;
    this.lateness.reset();
    this.statsSince = this.clock.wallNow();
  }

  // ---- groups and subscribers ----

  private groupFor(gkey: string, target: ScheduledTarget, port: number, now: number): Group {
    const g = this.groups.get(gkey);
    if (g) {
      // A retired group still running its last probe is revived rather than duplicated, so the same
      // probe never runs twice at once even across a quick remove/re-add.
      g.retired = false;
      return g;
    }
    const checker = this.checkerFor(target.check);
    const group: Group = {
      key: gkey,
      def: target.check,
      target: { host: target.host, address: target.address, port },
      checker,
      intervalMs: target.check.intervalMs,
      subs: new Map(),
      state: 'idle',
      retired: false,
      anchor: 0,
      runDue: 0,
      runStart: 0,
      runDeadline: 0,
      runReported: false,
      overdueSweep: 0,
      starved: false,
      runSeq: 0,
      due: 0,
      heapIndex: -1,
      heapSeq: 0,
    };
    this.groups.set(gkey, group);
    if (this.started) this.scheduleFirst(group, now);
    return group;
  }

  private attach(sub: Subscriber): void {
    sub.group.subs.set(sub.key, sub);
    this.subs.set(sub.key, sub);
  }

  private detach(sub: Subscriber): void {
    this.subs.delete(sub.key);
    const g = sub.group;
    g.subs.delete(sub.key);
    if (g.subs.size > 0) return;
    g.retired = true;
    if (g.state === 'running') return; // finish() closes it
    if (g.state === 'scheduled') {
      this.heap.remove(g);
      this.armTimer();
    } else if (g.state === 'queued') {
      this.dequeueSpecific(g);
    }
    g.state = 'idle';
    this.groups.delete(g.key);
    void this.closeChecker(g);
  }

  private checkerFor(def: CheckDef): Checker {
    if (!shareableChecker(def)) return this.createChecker(def);
    let shared = this.sharedCheckers.get(def);
    if (!shared) {
      shared = { checker: this.createChecker(def), groups: 0 };
      this.sharedCheckers.set(def, shared);
    }
    shared.groups++;
    return shared.checker;
  }

  private async closeChecker(g: Group): Promise<void> {
    const shared = this.sharedCheckers.get(g.def);
    if (shared && shared.checker === g.checker) {
      if (--shared.groups > 0) return;
      this.sharedCheckers.delete(g.def);
    }
    if (!g.checker.close) return;
    try {
      await g.checker.close();
    } catch (err) {
      this.onError(err, { where: 'closing checker', target: this.label(g) });
    }
  }

  // ---- scheduling ----

  private spread(intervalMs: number): number {
    const max = Math.min(intervalMs * this.spreadFraction, this.maxSpreadMs);
    return max > 0 ? Math.floor(this.random() * max) : 0;
  }

  private scheduleFirst(g: Group, now: number): void {
    g.anchor = now + Math.floor(this.random() * g.intervalMs * this.staggerFraction);
    g.due = g.anchor + this.spread(g.intervalMs);
    g.state = 'scheduled';
    this.heap.push(g);
    this.armTimer();
  }

  /** Moves to the first slot whose anchor has not passed; the slots skipped are missed. */
  private scheduleNext(g: Group, now: number): void {
    const I = g.intervalMs;
    const k = Math.max(1, Math.ceil((now - g.anchor) / I));
    this.counters.missedSlots += k - 1;
    g.anchor += k * I;
    g.due = g.anchor + this.spread(I);
    g.state = 'scheduled';
    this.heap.push(g);
    this.armTimer();
  }

  private armTimer(): void {
    if (!this.started) return;
    const top = this.heap.peek();
    if (!top) {
      if (this.timer !== null) this.clock.clearTimer(this.timer);
      this.timer = null;
      this.timerAt = Infinity;
      return;
    }
    const at = this.batchMs > 0 ? Math.ceil(top.due / this.batchMs) * this.batchMs : top.due;
    if (this.timer !== null && this.timerAt <= at) return;
    if (this.timer !== null) this.clock.clearTimer(this.timer);
    this.timerAt = at;
    this.timer = this.clock.setTimer(() => this.onTimer(), at - this.clock.now());
  }

  private onTimer(): void {
    this.timer = null;
    this.timerAt = Infinity;
    if (!this.started) return;
    const now = this.clock.now();
    for (let top = this.heap.peek(); top && top.due <= now; top = this.heap.peek()) {
      this.heap.pop();
      this.dispatch(top, now);
    }
    this.armTimer();
  }

  private dispatch(g: Group, now: number): void {
    if (this.running.size < this.concurrency && this.queued === 0) {
      this.startRun(g, now);
    } else if (this.queued < this.maxQueue) {
      this.enqueue(g);
    } else {
      // Queue full: a slot is lost. Without care the same groups would lose every round (their phase is
      // fixed), so a group that lost last time evicts the newest non-starved entry instead.
      const victim = g.starved ? this.evictNewestFresh() : undefined;
      if (victim) {
        this.enqueue(g);
        this.dropSlot(victim, now);
      } else {
        this.dropSlot(g, now);
      }
    }
  }

  private enqueue(g: Group): void {
    g.state = 'queued';
    this.queue.push(g);
    this.queued++;
    if (this.queued > this.counters.maxQueueDepth) this.counters.maxQueueDepth = this.queued;
  }

  private dropSlot(g: Group, now: number): void {
    this.counters.queueFullDrops++;
    g.starved = true;
    // Move its phase too: with fixed phases the groups due right after the queue filled would lose
    // every round.
    g.anchor += Math.floor(this.random() * g.intervalMs);
    this.scheduleNext(g, now);
  }

  /** Removes and returns the most recently queued group that did not lose its previous slot. */
  private evictNewestFresh(): Group | undefined {
    for (let i = this.queue.length - 1; i >= this.queueHead; i--) {
      const q = this.queue[i];
      if (!q || q.starved) continue;
      if (i === this.queue.length - 1) this.queue.pop();
      else this.queue[i] = null;
      this.queued--;
      return q;
    }
    return undefined;
  }

  private dequeue(): Group | undefined {
    while (this.queueHead < this.queue.length) {
      const g = this.queue[this.queueHead++];
      if (g) {
        this.queued--;
        this.compactQueue();
        return g;
      }
    }
    this.compactQueue();
    return undefined;
  }

  private dequeueSpecific(g: Group): void {
    const i = this.queue.indexOf(g, this.queueHead);
    if (i >= 0) {
      this.queue[i] = null;
      this.queued--;
    }
  }

  private compactQueue(): void {
    if (this.queueHead >= this.queue.length) {
      this.queue = [];
      this.queueHead = 0;
    } else if (this.queueHead > 1024 && this.queueHead * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.queueHead);
      this.queueHead = 0;
    }
  }

  private drainQueue(): void {
    while (this.started && this.running.size < this.concurrency) {
      const g = this.dequeue();
      if (!g) return;
      this.startRun(g, this.clock.now());
    }
  }

  // ---- runs ----

  private startRun(g: Group, now: number): void {
    g.state = 'running';
    g.runDue = g.due;
    g.runStart = now;
    g.runDeadline = now + g.def.timeoutMs;
    g.runReported = false;
    g.overdueSweep = 0;
    g.starved = false;
    this.running.add(g);
    this.counters.started++;
    this.lateness.record(now - g.due);
    const deadline = this.clock.wallNow() + g.def.timeoutMs;
    const checker = g.checker;
    if (checker.run) {
      // No promise per run (~10k a second). `seq` ties the callback to this run: a checker that
      // called it twice must not end a later run of the group.
      const seq = ++g.runSeq;
      let returned = false;
      const done: CheckDone = (r, err) => {
        // A checker breaking the contract by calling back before run() returned: finish later, as
        // a settled promise would, not inside this dispatch.
        if (!returned) return queueMicrotask(() => done(r, err));
        if (g.runSeq !== seq || g.state !== 'running') return;
        g.runSeq++;
        this.finish(g, r === undefined ? this.checkerFailed(g, err) : r);
      };
      try {
        checker.run(g.target, deadline, done);
      } catch (err) {
        queueMicrotask(() => done(undefined, err));
      }
      returned = true;
      return;
    }
    let p: Promise<CheckResult>;
    try {
      p = checker.check(g.target, deadline);
    } catch (err) {
      p = Promise.reject(err);
    }
    p.then(
      (r) => this.finish(g, r),
      (err) => this.finish(g, this.checkerFailed(g, err)),
    );
  }

  private checkerFailed(g: Group, err: unknown): CheckResult {
    this.counters.checkerErrors++;
    this.onError(err, { where: 'checker threw instead of returning a result', target: this.label(g) });
    return {
      up: false,
      code: 'error',
      message: `checker error: ${errorMessage(err)}`,
      timings: { totalMs: this.clock.now() - g.runStart },
      findings: EMPTY_DETAIL_FINDINGS,
    };
  }

  private finish(g: Group, result: CheckResult): void {
    const now = this.clock.now();
    this.running.delete(g);
    this.counters.completed++;
    if (!g.runReported) this.deliver(g, result, now);
    if (g.retired) {
      if (this.groups.get(g.key) === g) this.groups.delete(g.key);
      g.state = 'idle';
      void this.closeChecker(g);
    } else if (this.started) {
      this.scheduleNext(g, now);
    } else {
      g.state = 'idle';
    }
    this.drainQueue();
    this.wakeIdleWaiters();
  }

  private allRunsSettledOrReported(): boolean {
    for (const g of this.running) if (!g.runReported) return false;
    return true;
  }

  private wakeIdleWaiters(): void {
    if (this.idleWaiters.length === 0 || !this.allRunsSettledOrReported()) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  /** `now` is monotonic; what listeners and health get is wall time. */
  private deliver(g: Group, result: CheckResult, now: number): void {
    const listeners = this.listeners;
    const sharedBy = g.subs.size;
    const finishedAt = this.clock.wallNow();
    const startedAt = finishedAt - (now - g.runStart);
    const dueAt = startedAt - (g.runStart - g.runDue);
    for (const sub of g.subs.values()) {
      const step = applyResult(sub.health, sub.cfg, sub.ids, result, finishedAt);
      sub.health = step.state;
      if (listeners.length === 0) continue;
      const t = sub.target;
      const ev: CheckRunEvent = {
        target: sub.key,
        service: t.service,
        host: t.host,
        check: t.check.name,
        kind: t.check.kind,
        address: g.target.address,
        port: g.target.port,
        result,
        dueAt,
        startedAt,
        finishedAt,
        latenessMs: g.runStart - g.runDue,
        health: step.state,
        sharedBy,
      };
      notifyListeners(listeners, 'result', ev, this.onError);
      this.emitHealth(sub, step.events);
    }
  }

  private emitHealth(sub: Subscriber, events: readonly HealthEvent[]): void {
    if (events.length === 0) return;
    for (const e of events) {
      notifyListeners(this.listeners, 'health', { ...e, target: sub.key, service: sub.target.service }, this.onError);
    }
  }

  // ---- watchdog ----

  private armWatchdog(): void {
    if (this.watchdog !== null) return;
    this.watchdog = this.clock.setTimer(() => {
      this.watchdog = null;
      this.sweepOverdue();
      this.wakeIdleWaiters();
      // Keep sweeping while stop() may still be waiting on runs.
      if (this.started || this.idleWaiters.length > 0) this.armWatchdog();
    }, Math.max(250, this.watchdogGraceMs / 2));
  }

  /** For messages: the targets of a probe, not its (long) dedupe key. */
  private label(g: Group): string {
    const first = g.subs.keys().next();
    const who = first.done ? '(removed target)' : first.value;
    const more = g.subs.size > 1 ? ` and ${g.subs.size - 1} more` : '';
    return `${who}${more} at ${g.target.address}:${g.target.port}`;
  }

  private sweepOverdue(): void {
    this.sweeps++;
    const now = this.clock.now();
    for (const g of this.running) {
      if (g.runReported || now < g.runDeadline + this.watchdogGraceMs) continue;
      if (g.overdueSweep === 0) {
        g.overdueSweep = this.sweeps;
        continue;
      }
      g.runReported = true;
      this.counters.overdue++;
      this.onError(new Error(`check did not settle ${now - g.runDeadline} ms after its deadline`), {
        where: 'checker overstayed its deadline',
        target: this.label(g),
      });
      this.deliver(
        g,
        {
          up: false,
          code: 'deadline',
          message: `check did not finish by its deadline (${g.def.timeoutMs} ms)`,
          timings: { totalMs: now - g.runStart },
          findings: EMPTY_DETAIL_FINDINGS,
        },
        now,
      );
    }
  }
}
