// Health-check benchmark: poold's scheduler + http checker vs HAProxy, checking the same simulated
// backends (one per 127.x address) at a 1 s interval, one new connection per check.
//
//   npm run build && node dist/bench/checks/run.js [--sizes 10000 (default; e.g. 1000,5000,10000)] [--seconds 12] [--warmup 8]
//        [--rounds 2] [--sim-procs 2] [--pin] [--check-workers N] [--json out.json]
//        [--sim haproxy|node] [--peers poold,haproxy]
//   --check-workers N: poold's checks sharded over N worker threads (sched-shards.ts, the daemon's
//   POOLD_CHECK_WORKERS); default 2; 0 runs them in the main thread. RSS and CPU count all threads.
//   --sim: the backends: one HAProxy process answering on every address (default; cheap, so the
//   checker under test is what is measured), or the Node simulators of src/sim (sims.ts).
//   --peers poold: measure poold alone (e.g. while profiling).
//   --pin: the checker under test (poold, then HAProxy) runs alone on CPU 0, the simulators on the
//   other CPUs (taskset), so "checks/s on one core" is measured literally and the simulators' CPU
//   does not compete with the checker's.
//   The poold child runs with the daemon's own V8 flags (bin poold, npm start) unless
//   BENCH_POOLD_NODE_ARGS replaces them (add '--cpu-prof --cpu-prof-dir=DIR' to profile it);
//   HAPROXY=path overrides the binary.
//
// For each size: simulator children up (backends split across --sim-procs processes); then --rounds
// times, alternately: poold child alone (warm-up, then one sample per second), HAProxy alone on the
// same backends (same sampling). Alternating rounds spread drifting machine load over both peers.
// Only one checker runs at a time, which keeps every process under the 20000 open-file hard limit
// and off each other's CPU. checks/s is counted at the simulator (requests answered); CPU comes from
// /proc/<pid>/stat (all threads); reported figures are medians of the per-second samples.
import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { call } from './ipc.js';
import { cpuSplitMicros, median, rssMiB, threadCpuMicros } from './proc.js';
import { simKind, startSims, type Sims } from './sims.js';
import { startHaproxy } from './haproxy.js';
import type { ScheduledTarget } from '../../src/checks/scheduler.js';
import { arg } from '../args.js';
import { shippedPooldNodeArgs } from '../poold-node-args.js';
import type { HttpCheckDef } from '../../src/model/types.js';

const here = dirname(fileURLToPath(import.meta.url));


const SIZES = arg('sizes', '10000').split(',').map(Number);
const SECONDS = Number(arg('seconds', '12'));
// 8 s: the first seconds after start are spent catching up (JIT warm-up of the check threads; on
// Node 24 the 5th second still ran late), and the targets are about the sustained rate.
const WARMUP = Number(arg('warmup', '8'));
const ROUNDS = Number(arg('rounds', '2'));
const SIM_PROCS = Number(arg('sim-procs', '2'));
const SIM = simKind(arg('sim', 'haproxy'));
/** `--peers poold` measures poold alone (quicker, e.g. while profiling); the default is both. */
const PEERS = new Set(arg('peers', 'poold,haproxy').split(','));
const JSON_OUT = arg('json', '');
const PIN = process.argv.includes('--pin');
// Two check threads by default: at 10k checks/s one Node thread is not enough (≈ 80–100 µs per
// new-connection check). The daemon runs the same with POOLD_CHECK_WORKERS=2.
const CHECK_WORKERS = Number(arg('check-workers', '2'));
const CPUS = availableParallelism();
if (PIN && CPUS < 2) throw new Error('--pin needs at least 2 CPUs');
const CHECKER_CPU = '0';
const SIM_CPUS = `1-${CPUS - 1}`;

/** Pins every thread of `pid` to `cpus` (taskset list syntax); later threads inherit it. */
function pin(pid: number, cpus: string): void {
  if (PIN) execFileSync('taskset', ['-a', '-p', '-c', cpus, String(pid)], { stdio: 'ignore' });
}

const SERVICE = 'benchsvc';
/** The V8 flags the daemon is shipped with, for this many check workers (bench/poold-node-args.ts). */
const POOLD_NODE_ARGS = shippedPooldNodeArgs(CHECK_WORKERS).join(' ');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function addresses(n: number): string[] {
  // 127.100.0.1 .. : 250 per /24, never .0 or .255.
  return Array.from({ length: n }, (_, i) => `127.${100 + Math.floor(i / 62_500)}.${Math.floor(i / 250) % 250}.${(i % 250) + 1}`);
}

/** What poold would run for `check: {kind: http, path: /_info}` with PyBal-like settings. */
const CHECK: HttpCheckDef = {
  kind: 'http',
  name: 'http',
  timeoutMs: 900,
  intervalMs: 1000,
  rise: 1,
  fall: 1,
  method: 'GET',
  scheme: 'http',
  urls: ['/_info'],
  checkAll: false,
  maxFailures: 0,
  headers: {},
  tls: { verify: true },
  expect: { status: [{ from: 200, to: 200 }] },
  unclosed: 'warn',
  unclosedGraceMs: 100,
  keepAlive: false,
};

function forkChild(file: string, nodeArgs = ''): ChildProcess {
  return fork(join(here, file), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: nodeArgs.split(' ').filter(Boolean) });
}

interface Sample {
  checksPerSec: number;
  cpuCores: number;
  cpuPerCheckUs: number;
  userPerCheckUs: number;
  systemPerCheckUs: number;
  rssMiB: number;
  load1: number;
}

interface Summary {
  checksPerSec: number;
  cpuCores: number;
  cpuPerCheckUs: number;
  userPerCheckUs: number;
  systemPerCheckUs: number;
  rssMaxMiB: number;
  load1: number;
}

function summarize(samples: Sample[]): Summary {
  return {
    checksPerSec: median(samples.map((x) => x.checksPerSec)),
    cpuCores: median(samples.map((x) => x.cpuCores)),
    cpuPerCheckUs: median(samples.map((x) => x.cpuPerCheckUs)),
    userPerCheckUs: median(samples.map((x) => x.userPerCheckUs)),
    systemPerCheckUs: median(samples.map((x) => x.systemPerCheckUs)),
    rssMaxMiB: Math.max(...samples.map((x) => x.rssMiB)),
    load1: median(samples.map((x) => x.load1)),
  };
}

/** One sample per second for SECONDS: CPU and RSS of `pid`, checks answered by the simulators. */
async function measure(pid: number, sims: Sims): Promise<{ samples: Sample[]; simCpuPerCheckUs: number; threadsPerCheckUs: Record<string, number> }> {
  const samples: Sample[] = [];
  const threads0 = threadCpuMicros(pid);
  let prevSplit = cpuSplitMicros(pid);
  let prevCpu = prevSplit.user + prevSplit.system;
  let prevReq = await sims.requests();
  let prevT = performance.now();
  const sim0 = sims.cpuMicros();
  const req0 = prevReq;
  for (let s = 0; s < SECONDS; s++) {
    await sleep(1000);
    const split = cpuSplitMicros(pid);
    const cpu = split.user + split.system;
    const req = await sims.requests();
    const t = performance.now();
    const dt = (t - prevT) / 1000;
    const checks = req - prevReq;
    samples.push({
      checksPerSec: checks / dt,
      cpuCores: (cpu - prevCpu) / 1e6 / dt,
      cpuPerCheckUs: checks > 0 ? (cpu - prevCpu) / checks : NaN,
      userPerCheckUs: checks > 0 ? (split.user - prevSplit.user) / checks : NaN,
      systemPerCheckUs: checks > 0 ? (split.system - prevSplit.system) / checks : NaN,
      rssMiB: rssMiB(pid).rss,
      load1: loadavg()[0],
    });
    prevCpu = cpu;
    prevSplit = split;
    prevReq = req;
    prevT = t;
  }
  const threads1 = threadCpuMicros(pid);
  const threadsPerCheckUs: Record<string, number> = {};
  for (const [name, us] of threads1) threadsPerCheckUs[name] = (us - (threads0.get(name) ?? 0)) / Math.max(1, prevReq - req0);
  return { samples, simCpuPerCheckUs: (sims.cpuMicros() - sim0) / Math.max(1, prevReq - req0), threadsPerCheckUs };
}

interface PooldStats {
  lateness: { p50: number; p99: number; max: number };
  completed: number;
  failures: number;
  failureCodes: Record<string, number>;
  perSecond: { n: number; late: number; max: number }[];
  missedSlots: number;
  queueFullDrops: number;
  memory: NodeJS.MemoryUsage;
}

async function benchSize(n: number) {
  const sims = await startSims(SIM, addresses(n), { procs: SIM_PROCS, service: SERVICE, pin: (pid) => pin(pid, SIM_CPUS) });
  const backends = sims.backends;
  const targets: ScheduledTarget[] = backends.map((b, i) => ({
    service: { dc: 'bench', name: SERVICE },
    host: `backend${i}.bench`,
    address: b.address,
    port: b.port,
    check: CHECK,
    flapping: { transitions: 0, windowMs: 0 },
    initialUp: true,
  }));
  const pooldSamples: Sample[] = [];
  const hapSamples: Sample[] = [];
  const pooldStats: PooldStats[] = [];
  const simCost: number[] = [];
  /** Per round: poold's CPU per check by thread name (main thread, each check worker, V8 helpers). */
  const threadCost: Record<string, number>[] = [];
  try {
    for (let round = 0; round < ROUNDS; round++) {
      if (PEERS.has('poold')) {
        const poold = forkChild('poold-child.js', process.env.BENCH_POOLD_NODE_ARGS ?? POOLD_NODE_ARGS);
        pin(poold.pid!, CHECKER_CPU);
        await call(poold, 'start', { targets, workers: CHECK_WORKERS, batchMs: process.env.BENCH_BATCH_MS ? Number(process.env.BENCH_BATCH_MS) : undefined });
        await sleep(WARMUP * 1000);
        await call(poold, 'resetStats');
        const pm = await measure(poold.pid!, sims);
        pooldSamples.push(...pm.samples);
        simCost.push(pm.simCpuPerCheckUs);
        threadCost.push(pm.threadsPerCheckUs);
        pooldStats.push(await call<PooldStats>(poold, 'stats'));
        await call(poold, 'stop');
        await sleep(1500); // let the simulators drain between the two peers
      }
      if (!PEERS.has('haproxy')) continue;
      const hap = await startHaproxy(backends);
      pin(hap.child.pid!, CHECKER_CPU);
      try {
        await sleep(WARMUP * 1000);
        hapSamples.push(...(await measure(hap.child.pid!, sims)).samples);
      } finally {
        await hap.stop();
      }
      await sleep(1500);
    }
  } finally {
    await sims.stop();
  }
  const poold = summarize(pooldSamples);
  const haproxy = summarize(hapSamples);
  return {
    backends: n,
    seconds: SECONDS * ROUNDS,
    poold: {
      ...poold,
      latenessP50: median(pooldStats.map((s) => s.lateness.p50)),
      latenessP99: Math.max(...pooldStats.map((s) => s.lateness.p99)),
      failures: pooldStats.reduce((a, s) => a + s.failures, 0),
      failureCodes: pooldStats.map((s) => s.failureCodes),
      /** Per measured second: results, results started > 100 ms late, the largest lateness. */
      perSecond: pooldStats.map((s) => s.perSecond),
      missedSlots: pooldStats.reduce((a, s) => a + s.missedSlots, 0),
      heapUsedMiB: Math.max(...pooldStats.map((s) => s.memory.heapUsed / 2 ** 20)),
      heapTotalMiB: Math.max(...pooldStats.map((s) => s.memory.heapTotal / 2 ** 20)),
      /** µs CPU per check by thread name, per round (whole measured period of the round). */
      threadsPerCheckUs: threadCost,
    },
    haproxy,
    ratioCpuPerCheck: poold.cpuPerCheckUs / haproxy.cpuPerCheckUs,
    simulatorCpuPerCheckUs: median(simCost),
    samples: { poold: pooldSamples, haproxy: hapSamples },
  };
}

const f0 = (x: number) => (Number.isFinite(x) ? x.toFixed(0) : 'n/a');
const f1 = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : 'n/a');
const f2 = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : 'n/a');

const results = [];
for (const n of SIZES) {
  process.stderr.write(`bench checks: ${n} backends...\n`);
  const r = await benchSize(n);
  results.push(r);
  process.stderr.write(
    `  poold   ${f0(r.poold.checksPerSec)} checks/s, ${f1(r.poold.cpuPerCheckUs)} µs/check (user ${f1(r.poold.userPerCheckUs)}, sys ${f1(r.poold.systemPerCheckUs)}), ${f2(r.poold.cpuCores)} cores, RSS ${f0(r.poold.rssMaxMiB)} MiB (heap ${f0(r.poold.heapUsedMiB)}/${f0(r.poold.heapTotalMiB)}), ` +
      `lateness p50/p99 ${r.poold.latenessP50}/${r.poold.latenessP99} ms, failures ${r.poold.failures}, load ${f1(r.poold.load1)}\n` +
      `  poold µs CPU/check by thread, per round: ${r.poold.threadsPerCheckUs.map((t) => Object.entries(t).filter(([, us]) => us >= 0.05).sort((a, b) => b[1] - a[1]).map(([name, us]) => `${name} ${f1(us)}`).join(', ')).join(' | ')}\n` +
      `  poold lateness per second (results/late>100ms/max ms): ${r.poold.perSecond.map((p) => p.map((x) => `${x.n}/${x.late}/${Math.round(x.max)}`).join(' ')).join(' | ')}\n` +
      `  haproxy ${f0(r.haproxy.checksPerSec)} checks/s, ${f1(r.haproxy.cpuPerCheckUs)} µs/check (user ${f1(r.haproxy.userPerCheckUs)}, sys ${f1(r.haproxy.systemPerCheckUs)}), ${f2(r.haproxy.cpuCores)} cores, RSS ${f0(r.haproxy.rssMaxMiB)} MiB, load ${f1(r.haproxy.load1)}\n` +
      `  ratio   ${f2(r.ratioCpuPerCheck)}x (simulator ${f1(r.simulatorCpuPerCheckUs)} µs/check)\n`,
  );
}

console.log(
  '| backends | poold checks/s | poold µs CPU/check (user+sys) | poold cores | poold RSS MiB | poold lateness p50/p99 ms | poold failed checks | HAProxy checks/s | HAProxy µs CPU/check (user+sys) | HAProxy cores | ratio poold/HAProxy per check | load avg (poold/HAProxy) |',
);
console.log('|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
for (const r of results) {
  console.log(
    `| ${r.backends} | ${f0(r.poold.checksPerSec)} | ${f1(r.poold.cpuPerCheckUs)} (${f0(r.poold.userPerCheckUs)}+${f0(r.poold.systemPerCheckUs)}) | ${f2(r.poold.cpuCores)} | ${f0(r.poold.rssMaxMiB)} | ${r.poold.latenessP50}/${r.poold.latenessP99} | ${r.poold.failures} | ` +
      `${f0(r.haproxy.checksPerSec)} | ${f1(r.haproxy.cpuPerCheckUs)} (${f0(r.haproxy.userPerCheckUs)}+${f0(r.haproxy.systemPerCheckUs)}) | ${f2(r.haproxy.cpuCores)} | ${f2(r.ratioCpuPerCheck)} | ${f1(r.poold.load1)}/${f1(r.haproxy.load1)} |`,
  );
}
const pooldNodeArgs = process.env.BENCH_POOLD_NODE_ARGS ?? POOLD_NODE_ARGS;
console.log(`\npoold child: node ${process.version} ${pooldNodeArgs}, ${CHECK_WORKERS > 0 ? `checks on ${CHECK_WORKERS} worker threads` : 'checks in the main thread'}; backends: ${SIM === 'haproxy' ? 'one HAProxy process (--sim haproxy)' : `${SIM_PROCS} Node simulator processes (--sim node)`}${PIN ? `; checkers pinned to CPU ${CHECKER_CPU}, simulators to ${SIM_CPUS}` : ''}`);
if (JSON_OUT) writeFileSync(JSON_OUT, JSON.stringify({ at: new Date().toISOString(), node: process.version, argv: process.argv.slice(2), pooldNodeArgs, checkWorkers: CHECK_WORKERS, sim: SIM, pinned: PIN, results }, null, 2));
