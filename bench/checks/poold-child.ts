// Benchmark child: only the check scheduler and the real checkers, as the daemon would run them.
import { CheckScheduler, type ScheduledTarget } from '../../src/checks/scheduler.js';
import { createChecker } from '../../src/checks/index.js';
import { serve } from './ipc.js';

let sched: CheckScheduler | undefined;
let failures = 0;
const codes = new Map<string, number>();

serve({
  start(arg) {
    const { targets, concurrency, batchMs } = arg as { targets: ScheduledTarget[]; concurrency?: number; batchMs?: number };
    sched = new CheckScheduler({ createChecker, concurrency, batchMs });
    sched.addListener({
      result(e) {
        if (!e.result.up) {
          failures++;
          codes.set(e.result.code, (codes.get(e.result.code) ?? 0) + 1);
        }
      },
    });
    sched.setTargets(targets);
    sched.start();
    return sched.stats().groups;
  },
  resetStats() {
    sched!.resetStats();
    failures = 0;
    codes.clear();
    return true;
  },
  stats() {
    return { ...sched!.stats(), failures, failureCodes: Object.fromEntries(codes), memory: process.memoryUsage() };
  },
  async stop() {
    await sched?.stop();
    setImmediate(() => process.exit(0));
    return true;
  },
});
