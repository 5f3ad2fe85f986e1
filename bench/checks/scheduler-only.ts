// The scheduler's own cost: 10k targets at 1 s with a checker that answers at once (no I/O), so the
// CPU measured is scheduling, hysteresis and fan-out only.
//   node dist/bench/checks/scheduler-only.js [--targets 10000] [--seconds 10] [--batch-ms 10]
import { CheckScheduler } from '../../src/checks/scheduler.js';
import type { Checker } from '../../src/checks/checker.js';
import { arg } from '../args.js';
import type { CheckDef, CheckResult } from '../../src/model/types.js';

const N = Number(arg('targets', '10000'));
const SECONDS = Number(arg('seconds', '10'));
const BATCH = Number(arg('batch-ms', '10'));

const OK: CheckResult = { up: true, code: 'ok', message: 'ok', timings: { totalMs: 0 }, findings: [] };
const instant = (def: CheckDef): Checker => ({ def, check: async () => OK });

const sched = new CheckScheduler({ createChecker: instant, batchMs: BATCH });
let results = 0;
sched.addListener({ result: () => results++ });
for (let i = 0; i < N; i++) {
  sched.upsert({
    service: { dc: 'bench', name: 'svc' },
    host: `h${i}`,
    address: `127.100.${Math.floor(i / 250)}.${(i % 250) + 1}`,
    port: 80,
    check: { kind: 'tcp', name: 'tcp', timeoutMs: 900, intervalMs: 1000, rise: 1, fall: 1 },
    flapping: { transitions: 6, windowMs: 600_000 },
    initialUp: true,
  });
}
sched.start();
await new Promise((r) => setTimeout(r, 2000));
sched.resetStats();
const c0 = process.cpuUsage();
const r0 = results;
await new Promise((r) => setTimeout(r, SECONDS * 1000));
const c = process.cpuUsage(c0);
const n = results - r0;
const st = sched.stats();
await sched.stop();
const cpu = c.user + c.system;
console.log(
  `scheduler only: ${N} targets, batch ${BATCH} ms, ${(n / SECONDS).toFixed(0)} runs/s, ${(cpu / n).toFixed(2)} µs CPU per run, ` +
    `${(cpu / 1e6 / SECONDS).toFixed(3)} cores, lateness p50/p99 ${st.lateness.p50}/${st.lateness.p99} ms, RSS ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB`,
);
