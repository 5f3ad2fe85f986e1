// The check scheduler sharded across worker threads, so checks can use more than one core
// (ARCHITECTURE.md §13 allows worker threads or shards). Optional: the daemon uses it when
// POOLD_CHECK_WORKERS is set (createCheckRunner below); by default checks run in the main thread.
//
// How: targets are partitioned by a hash of (address, port, host), so identical probes still land in
// one shard and are run once (scheduler.ts dedupe). Each shard is a worker running a CheckScheduler
// with the real checkers (sched-worker.ts). The main thread validates targets itself, so
// setTargets() answers synchronously with the same rejections as the in-thread scheduler, and
// listeners get every result and health event, in batches: results at most ~20 ms late, health
// events (transitions) as soon as they happen (sched-worker.ts).
// A shard that dies is restarted with its targets, starting from their last reported health, and
// the death is reported through onError: checks never stop silently.
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { errorMessage, UsageError } from '../model/errors.js';
import type { CheckDef } from '../model/types.js';
import type { Checker } from './checker.js';
import { createChecker } from './index.js';
import { targetKey } from './sched-key.js';
import { LatenessHistogram } from './sched-stats.js';
import { decodeBatch, type ShardEventSink, type TargetTable } from './shard-codec.js';
import {
  CheckScheduler,
  notifyListeners,
  validateTarget,
  type CheckRunner,
  type ScheduledTarget,
  type SchedulerListener,
  type SchedulerOptions,
  type SchedulerStats,
  type SetTargetsResult,
} from './scheduler.js';

export type ToShard =
  /** `gen` numbers the list: the shard's results name their targets by index in it (shard-codec.ts). */
  | { type: 'setTargets'; gen: number; targets: ScheduledTarget[] }
  | { type: 'start' }
  | { type: 'stop' }
  | { type: 'stats'; id: number }
  | { type: 'resetStats' };
export type FromShard =
  /** A batch of events, encoded flat (shard-codec.ts), as one JSON text: cheaper to cross threads
   *  than the structured clone of as many nested objects (≈3 vs ≈5 µs per event, both sides together,
   *  Node 26), and the flat encoding ≈3× cheaper again to decode than the objects' JSON. */
  | { type: 'events'; gen: number; json: string }
  | { type: 'error'; message: string; where: string; target?: string }
  | { type: 'stats'; id: number; stats: SchedulerStats; lateness: Uint32Array }
  | { type: 'ready' }
  | { type: 'stopped' };

/** Scheduler settings a shard takes (numbers only: they cross to the worker). */
export type ShardSchedulerOptions = Pick<
  SchedulerOptions,
  'concurrency' | 'maxQueue' | 'staggerFraction' | 'spreadFraction' | 'maxSpreadMs' | 'batchMs' | 'watchdogGraceMs'
>;

export interface ShardedOptions extends ShardSchedulerOptions {
  /** Worker threads (>= 1). `concurrency` and `maxQueue` are totals, split between them. */
  workers: number;
  onError?: SchedulerOptions['onError'];
  /** Builds a checker to validate a definition in the main thread (default: createChecker). */
  createChecker?: (def: CheckDef) => Checker;
  /** Delay before a dead shard is restarted (default 1000 ms). */
  restartDelayMs?: number;
  /** Heap limits of each worker (default WORKER_HEAP). */
  heap?: WorkerHeap;
}

/**
 * Each worker is a V8 isolate with its own heap. With V8's default sizing each worker's heap grew
 * to ~100 MiB under 5k checks/s (promoted garbage: the health state replaced every second per
 * target), and with two workers and the main thread the process passed 400 MiB RSS at 10k checks/s
 * (issue 16: RSS <= 256 MiB). The live set is ~5 KB per target (≈ 25–35 MiB at 5k targets per
 * worker), so 64 MiB of old space holds about 10k targets per worker; a worker that outgrows it
 * dies and is restarted with its targets (reported through onError): add workers then.
 * NOTE: V8's own --max-old-space-size / --max-semi-space-size flags, when the process is started
 * with them, override these limits for every isolate (they are process-wide); a sharded daemon is
 * started without --max-old-space-size (debian/bin/poold).
 */
export interface WorkerHeap {
  youngMb: number;
  oldMb: number;
}
export const WORKER_HEAP: WorkerHeap = { youngMb: 12, oldMb: 64 };

interface Shard {
  index: number;
  worker: Worker;
  targets: ScheduledTarget[];
  /**
   * The target lists sent to the worker by generation, with their keys, until a batch of a later
   * one arrives (the worker sends batches in order, each naming the list its indexes refer to).
   */
  tables: Map<number, TargetTable>;
  /** The worker has loaded its modules and listens (messages sent before wait in its queue). */
  ready: boolean;
  stopped?: () => void;
}

const here = import.meta.url;
/** The worker's entry next to this file: .js when built, .ts when the tests run the sources. */
const WORKER_URL = new URL(here.endsWith('.ts') ? './sched-worker.ts' : './sched-worker.js', here);

/** FNV-1a: a cheap, stable spread of probe identities over shards. */
function shardOf(t: ScheduledTarget, n: number): number {
  const s = `${t.address}|${t.port}|${t.host}`;
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return (h >>> 0) % n;
}

export class ShardedCheckScheduler implements CheckRunner {
  private readonly shards: Shard[] = [];
  private readonly onError: NonNullable<SchedulerOptions['onError']>;
  private readonly build: (def: CheckDef) => Checker;
  private readonly shardOpts: ShardSchedulerOptions;
  private listeners: SchedulerListener[] = [];
  /** Every accepted target by key, as last accepted (a rejected update keeps the previous one). */
  private readonly accepted = new Map<string, ScheduledTarget>();
  /** Last reported health per target: a restarted shard starts from it. */
  private readonly lastUp = new Map<string, boolean>();
  private started = false;
  private stopping = false;
  private nextStatsId = 1;
  private nextGen = 1;
  private readonly statsWaiters = new Map<number, { left: number; replies: { stats: SchedulerStats; lateness: Uint32Array }[]; resolve: (s: SchedulerStats) => void }>();

  constructor(private readonly opts: ShardedOptions) {
    if (!(Number.isInteger(opts.workers) && opts.workers >= 1)) throw new UsageError(`check workers must be an integer >= 1, got ${String(opts.workers)}`);
    this.onError = opts.onError ?? ((err, ctx) => process.emitWarning(`check shards: ${ctx.where}${ctx.target ? ` (${ctx.target})` : ''}: ${errorMessage(err)}`));
    this.build = opts.createChecker ?? createChecker;
    const n = opts.workers;
    this.shardOpts = {
      ...pickShardOptions(opts),
      concurrency: Math.max(1, Math.ceil((opts.concurrency ?? 2048) / n)),
      maxQueue: Math.max(0, Math.ceil((opts.maxQueue ?? 8192) / n)),
    };
    for (let i = 0; i < n; i++) this.shards.push(this.spawn(i, []));
  }

  get workers(): number {
    return this.shards.length;
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    for (const s of this.shards) this.post(s, { type: 'start' });
  }

  async stop(): Promise<void> {
    this.started = false;
    this.stopping = true;
    await Promise.all(
      this.shards.map(
        (s) =>
          new Promise<void>((resolve) => {
            // A shard still loading has run nothing yet: it is just terminated.
            if (!s.ready) return resolve();
            s.stopped = resolve;
            this.post(s, { type: 'stop' });
          }),
      ),
    );
    await Promise.all(this.shards.map((s) => s.worker.terminate()));
  }

  addListener(listener: SchedulerListener): () => void {
    this.listeners = [...this.listeners, listener];
    return () => {
      this.listeners = this.listeners.filter((l) => l !== listener);
    };
  }

  setTargets(targets: readonly ScheduledTarget[]): SetTargetsResult {
    const keep = new Set<string>();
    const rejected: SetTargetsResult['rejected'] = [];
    const defProblems = new Map<CheckDef, unknown>();
    for (const t of targets) {
      const key = targetKey(t.service, t.host, t.check?.name);
      keep.add(key);
      try {
        validateTarget(t, key);
        this.validateDef(t.check, defProblems);
        this.accepted.set(key, t);
      } catch (error) {
        rejected.push({ target: key, message: errorMessage(error), error });
      }
    }
    let removed = 0;
    for (const key of [...this.accepted.keys()]) {
      if (keep.has(key)) continue;
      this.accepted.delete(key);
      this.lastUp.delete(key);
      removed++;
    }
    const parts: ScheduledTarget[][] = this.shards.map(() => []);
    for (const t of this.accepted.values()) parts[shardOf(t, parts.length)].push(t);
    for (const s of this.shards) {
      s.targets = parts[s.index];
      this.sendTargets(s, s.targets);
    }
    return { upserted: keep.size - rejected.length, removed, rejected };
  }

  /** Counters summed over the shards; lateness from their merged histograms. */
  async stats(): Promise<SchedulerStats> {
    const id = this.nextStatsId++;
    return new Promise((resolve) => {
      this.statsWaiters.set(id, { left: this.shards.length, replies: [], resolve });
      for (const s of this.shards) this.post(s, { type: 'stats', id });
    });
  }

  resetStats(): void {
    for (const s of this.shards) this.post(s, { type: 'resetStats' });
  }

  // ---- shards ----

  private validateDef(def: CheckDef, seen: Map<CheckDef, unknown>): void {
    if (!seen.has(def)) {
      let problem: unknown = null;
      try {
        const c = this.build(def);
        void c.close?.().catch(() => undefined);
      } catch (err) {
        problem = err;
      }
      seen.set(def, problem);
    }
    const problem = seen.get(def);
    if (problem !== null) throw problem;
  }

  private spawn(index: number, targets: ScheduledTarget[]): Shard {
    const heap = this.opts.heap ?? WORKER_HEAP;
    const worker = new Worker(WORKER_URL, {
      workerData: this.shardOpts,
      name: `poold-checks-${index}`,
      resourceLimits: { maxYoungGenerationSizeMb: heap.youngMb, maxOldGenerationSizeMb: heap.oldMb },
    });
    const shard: Shard = { index, worker, targets, tables: new Map(), ready: false };
    worker.on('message', (m: FromShard) => this.onMessage(shard, m));
    worker.on('error', (err) => this.onError(err, { where: `check shard ${index} failed` }));
    worker.on('exit', (code) => this.onExit(shard, code));
    return shard;
  }

  private onExit(shard: Shard, code: number): void {
    if (this.stopping) {
      shard.stopped?.();
      return;
    }
    this.onError(new Error(`check shard ${shard.index} exited with code ${code}; restarting it with its ${shard.targets.length} targets`), { where: 'check shard died' });
    setTimeout(() => {
      if (this.stopping) return;
      // Its targets start from the health they last reported, so a restart does not flap them.
      const targets = shard.targets.map((t) => {
        const up = this.lastUp.get(targetKey(t.service, t.host, t.check.name));
        return up === undefined ? t : { ...t, initialUp: up };
      });
      const fresh = this.spawn(shard.index, shard.targets);
      this.shards[shard.index] = fresh;
      this.sendTargets(fresh, targets);
      if (this.started) this.post(fresh, { type: 'start' });
    }, this.opts.restartDelayMs ?? 1000).unref();
  }

  private post(shard: Shard, m: ToShard): void {
    shard.worker.postMessage(m);
  }

  private sendTargets(shard: Shard, targets: ScheduledTarget[]): void {
    const gen = this.nextGen++;
    shard.tables.set(gen, { targets, keys: targets.map((t) => targetKey(t.service, t.host, t.check.name)) });
    this.post(shard, { type: 'setTargets', gen, targets });
  }

  private onMessage(shard: Shard, m: FromShard): void {
    switch (m.type) {
      case 'events': {
        const tables = shard.tables;
        // Lists older than this batch's are done with: the worker has moved past them.
        for (const gen of tables.keys()) if (gen < m.gen) tables.delete(gen);
        try {
          decodeBatch(JSON.parse(m.json) as unknown[], this.sink, tables.get(m.gen));
        } catch (err) {
          // A bug (listeners' own errors are caught in the sink): said, not thrown into the event loop.
          this.onError(err, { where: `decoding the events of check shard ${shard.index}` });
        }
        return;
      }
      case 'error':
        this.onError(new Error(m.message), { where: `${m.where} (check shard ${shard.index})`, target: m.target });
        return;
      case 'stats': {
        const w = this.statsWaiters.get(m.id);
        if (!w) return;
        w.replies.push({ stats: m.stats, lateness: m.lateness });
        if (--w.left === 0) {
          this.statsWaiters.delete(m.id);
          w.resolve(mergeStats(w.replies));
        }
        return;
      }
      case 'ready':
        shard.ready = true;
        return;
      case 'stopped':
        shard.stopped?.();
        return;
    }
  }

  private readonly sink: ShardEventSink = {
    result: (ev) => {
      this.lastUp.set(ev.target, ev.health.up);
      notifyListeners(this.listeners, 'result', ev, this.onError);
    },
    health: (ev) => notifyListeners(this.listeners, 'health', ev, this.onError),
  };
}

function pickShardOptions(o: ShardSchedulerOptions): ShardSchedulerOptions {
  const out: ShardSchedulerOptions = {};
  for (const k of ['concurrency', 'maxQueue', 'staggerFraction', 'spreadFraction', 'maxSpreadMs', 'batchMs', 'watchdogGraceMs'] as const) {
    if (o[k] !== undefined) out[k] = o[k];
  }
  return out;
}

function mergeStats(replies: { stats: SchedulerStats; lateness: Uint32Array }[]): SchedulerStats {
  const h = new LatenessHistogram();
  const sum = (f: (s: SchedulerStats) => number) => replies.reduce((a, r) => a + f(r.stats), 0);
  for (const r of replies) h.add(r.lateness, r.stats.lateness.max);
  return {
    targets: sum((s) => s.targets),
    groups: sum((s) => s.groups),
    inFlight: sum((s) => s.inFlight),
    queueDepth: sum((s) => s.queueDepth),
    maxQueueDepth: sum((s) => s.maxQueueDepth),
    started: sum((s) => s.started),
    completed: sum((s) => s.completed),
    missedSlots: sum((s) => s.missedSlots),
    queueFullDrops: sum((s) => s.queueFullDrops),
    checkerErrors: sum((s) => s.checkerErrors),
    overdue: sum((s) => s.overdue),
    lateness: h.summary(),
    since: Math.min(...replies.map((r) => r.stats.since)),
  };
}

/**
 * How many check worker threads POOLD_CHECK_WORKERS asks for: unset or 0, none (checks run in the
 * main thread); `auto`, one per core but one (the main thread keeps etcd, the API and the
 * coordinator), at least one; a number, that many.
 */
export function checkWorkersFromEnv(value = process.env.POOLD_CHECK_WORKERS): number {
  if (value === undefined || value === '' || value === '0') return 0;
  if (value === 'auto') return Math.max(1, availableParallelism() - 1);
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`POOLD_CHECK_WORKERS must be 0, a positive integer or "auto", got ${JSON.stringify(value)}`);
  return n;
}

/** The daemon's check runner: in the main thread, or sharded over `workers` worker threads. */
export function createCheckRunner(opts: SchedulerOptions & { workers?: number; workerHeap?: WorkerHeap }): CheckRunner {
  const { workers = 0, workerHeap, ...rest } = opts;
  if (workers === 0) return new CheckScheduler(rest);
  return new ShardedCheckScheduler({ ...pickShardOptions(rest), workers, onError: rest.onError, createChecker: rest.createChecker, heap: workerHeap });
}
