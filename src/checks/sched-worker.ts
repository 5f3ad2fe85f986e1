// One shard of the check scheduler, in a worker thread (sched-shards.ts starts it): a CheckScheduler
// with the real checkers over the targets the main thread hands it. Results go back in batches, one
// message per BATCH_MS at most, so the cost of crossing threads is paid per batch rather than per
// check; a health event (a transition: what the coordinator acts on) sends its batch at once.
// BATCH_MS 20 rather than 5: each message costs both threads a wake-up and a serialisation, ≈ 4 µs
// less CPU per check in all at 10k checks/s (bench/checks/run.js, 2026-12-07), for results that
// reach the main thread at most 20 ms after they were taken (checks run every second or more).
import { parentPort, workerData } from 'node:worker_threads';
import { errorMessage } from '../model/errors.js';
import { createChecker } from './index.js';
import { CheckScheduler, type ScheduledTarget, type SchedulerOptions } from './scheduler.js';
import type { CheckDef } from '../model/types.js';
import type { ToShard, FromShard } from './sched-shards.js';
import { encodeHealth, encodeResult, sameTarget } from './shard-codec.js';
import { targetKey } from './sched-key.js';

const BATCH_MS = 20;
const MAX_BATCH = 512;

if (!parentPort) throw new Error('sched-worker.ts runs only as a worker thread (sched-shards.ts)');
const port = parentPort;
const opts = workerData as Omit<SchedulerOptions, 'createChecker' | 'clock' | 'random' | 'onError'>;

/** Events encoded flat (shard-codec.ts), `events` of them. */
let batch: unknown[] = [];
let events = 0;
let flushTimer: NodeJS.Timeout | undefined;

function send(m: FromShard): void {
  port.postMessage(m);
}

/**
 * The target list of the last setTargets (its generation `gen`): results name their target by its
 * index there (shard-codec.ts), found by the target's key.
 */
let gen = 0;
let given: ScheduledTarget[] = [];
let givenKeys: string[] = [];
let indexByKey = new Map<string, number>();

function flush(): void {
  if (flushTimer !== undefined) clearTimeout(flushTimer);
  flushTimer = undefined;
  if (events === 0) return;
  const json = JSON.stringify(batch);
  batch = [];
  events = 0;
  send({ type: 'events', gen, json });
}

function queued(): void {
  if (++events >= MAX_BATCH) flush();
  else flushTimer ??= setTimeout(flush, BATCH_MS);
}

const sched = new CheckScheduler({
  ...opts,
  createChecker,
  onError: (err, ctx) => send({ type: 'error', message: errorMessage(err), where: ctx.where, target: ctx.target }),
});
sched.addListener({
  result: (ev) => {
    const i = indexByKey.get(ev.target);
    encodeResult(batch, ev, i !== undefined && sameTarget(given[i], givenKeys[i], ev) ? i : -1);
    queued();
  },
  health: (ev) => {
    encodeHealth(batch, ev);
    events++;
    flush();
  },
});

/**
 * Each message arrives as a fresh copy, so equal definitions would be new objects every time; the
 * scheduler shares one checker per definition object. Equal definitions keep the object they had.
 */
let defs = new Map<string, CheckDef>();
function intern(targets: ScheduledTarget[]): ScheduledTarget[] {
  const byObject = new Map<CheckDef, CheckDef>();
  const next = new Map<string, CheckDef>();
  for (const t of targets) {
    let def = byObject.get(t.check);
    if (def === undefined) {
      const text = JSON.stringify(t.check);
      def = next.get(text) ?? defs.get(text) ?? t.check;
      next.set(text, def);
      byObject.set(t.check, def);
    }
    t.check = def;
  }
  defs = next;
  return targets;
}

send({ type: 'ready' });

port.on('message', (m: ToShard) => {
  switch (m.type) {
    case 'setTargets': {
      // Results taken so far name their targets in the previous list: they leave with its number.
      flush();
      gen = m.gen;
      given = intern(m.targets);
      givenKeys = given.map((t) => targetKey(t.service, t.host, t.check.name));
      indexByKey = new Map(givenKeys.map((k, i) => [k, i]));
      const r = sched.setTargets(given);
      // The main thread validated these already; a rejection here is a bug worth seeing.
      for (const x of r.rejected) send({ type: 'error', message: x.message, where: 'shard refused a target', target: x.target });
      return;
    }
    case 'start':
      sched.start();
      return;
    case 'stats':
      send({ type: 'stats', id: m.id, stats: sched.stats(), lateness: sched.latenessCounts() });
      return;
    case 'resetStats':
      sched.resetStats();
      return;
    case 'stop':
      void sched.stop().then(
        () => {
          flush();
          send({ type: 'stopped' });
        },
        (err: unknown) => {
          flush();
          send({ type: 'error', message: errorMessage(err), where: 'stopping the shard' });
          send({ type: 'stopped' });
        },
      );
      return;
  }
});
