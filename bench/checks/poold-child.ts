// Benchmark child: only the check scheduler and the real checkers, as the daemon would run them:
// in this thread, or sharded over `workers` worker threads (POOLD_CHECK_WORKERS in the daemon).
import { CheckScheduler, type CheckRunner, type ScheduledTarget } from '../../src/checks/scheduler.js';
import { createCheckRunner, ShardedCheckScheduler } from '../../src/checks/sched-shards.js';
import { createChecker } from '../../src/checks/index.js';
import { serve } from './ipc.js';

let sched: CheckRunner | undefined;
let failures = 0;
/** Per second since resetStats: results, results started > 100 ms late, the largest lateness (ms). */
let perSecond: { n: number; late: number; max: number }[] = [];
let since = Date.now();
const codes = new Map<string, number>();

serve({
  start(arg) {
    const { targets, concurrency, batchMs, workers } = arg as { targets: ScheduledTarget[]; concurrency?: number; batchMs?: number; workers?: number };
    // BENCH_WORKER_HEAP=young,old (MiB) overrides the workers' heap limits (sched-shards.ts WORKER_HEAP).
    const heap = process.env.BENCH_WORKER_HEAP?.split(',').map(Number);
    const workerHeap = heap ? { youngMb: heap[0], oldMb: heap[1] } : undefined;
    sched = createCheckRunner({ createChecker, concurrency, batchMs, workers: workers ?? 0, workerHeap });
    sched.addListener({
      result(e) {
        const sec = Math.floor((Date.now() - since) / 1000);
        const b = (perSecond[sec] ??= { n: 0, late: 0, max: 0 });
        b.n++;
        if (e.latenessMs > 100) b.late++;
        if (e.latenessMs > b.max) b.max = e.latenessMs;
        if (!e.result.up) {
          failures++;
          codes.set(e.result.code, (codes.get(e.result.code) ?? 0) + 1);
        }
      },
    });
    const r = sched.setTargets(targets);
    sched.start();
    return r.upserted;
  },
  resetStats() {
    if (sched instanceof CheckScheduler || sched instanceof ShardedCheckScheduler) sched.resetStats();
    failures = 0;
    codes.clear();
    perSecond = [];
    since = Date.now();
    return true;
  },
  async stats() {
    const stats = sched instanceof CheckScheduler ? sched.stats() : await (sched as ShardedCheckScheduler).stats();
    return { ...stats, failures, failureCodes: Object.fromEntries(codes), perSecond, memory: process.memoryUsage() };
  },
  async stop() {
    await sched?.stop();
    setImmediate(() => process.exit(0));
    return true;
  },
});
