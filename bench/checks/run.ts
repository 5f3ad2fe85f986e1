// Health-check benchmark: poold's scheduler + http checker vs HAProxy, checking the same simulated
// backends (one per 127.x address) at a 1 s interval, one new connection per check.
//
//   npm run build && node dist/bench/checks/run.js [--sizes 1000,5000,10000] [--seconds 20] [--warmup 5] [--json out.json]
//   (BENCH_POOLD_NODE_ARGS='--cpu-prof --cpu-prof-dir=DIR' profiles the poold child; HAPROXY=path overrides the binary.)
//
// Each size runs: simulator child up; poold child alone (warm-up, then per-second samples); poold
// stopped; HAProxy alone on the same backends (same sampling); simulator down. Only one checker runs at
// a time, which keeps every process under the 20000 open-file hard limit and off each other's CPU.
// checks/s is counted at the simulator (requests), CPU from /proc/<pid>/stat (all threads).
import { fork, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { call } from './ipc.js';
import { cpuMicros, median, rssMiB } from './proc.js';
import { startHaproxy } from './haproxy.js';
import type { ScheduledTarget } from '../../src/checks/scheduler.js';
import type { HttpCheckDef } from '../../src/model/types.js';

const here = dirname(fileURLToPath(import.meta.url));

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : dflt;
}

const SIZES = arg('sizes', '1000,5000,10000').split(',').map(Number);
const SECONDS = Number(arg('seconds', '20'));
const WARMUP = Number(arg('warmup', '5'));
const JSON_OUT = arg('json', '');

const SERVICE = 'benchsvc';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function addresses(n: number): string[] {
  // 127.100.0.1 .. : 250 per /24, never .0 or .255.
  return Array.from({ length: n }, (_, i) => `127.${100 + Math.floor(i / 62_500)}.${Math.floor(i / 250) % 250}.${(i % 250) + 1}`);
}

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

/** BENCH_POOLD_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" profiles the poold child only. */
function forkChild(file: string, nodeArgs = ''): ChildProcess {
  return fork(join(here, file), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: nodeArgs.split(' ').filter(Boolean) });
}

interface Sample {
  checksPerSec: number;
  cpuCores: number;
  cpuPerCheckUs: number;
  rssMiB: number;
}

interface Measured {
  samples: Sample[];
  checksPerSec: number;
  cpuCores: number;
  cpuPerCheckUs: number;
  /** Whole-window CPU / checks, a check on the per-second medians. */
  windowCpuPerCheckUs: number;
  rssMaxMiB: number;
}

/** Samples `pid` every second for SECONDS, counting checks at the simulator. */
async function measure(pid: number, sim: ChildProcess): Promise<Measured> {
  const reqs = async () => (await call<{ requests: number }>(sim, 'totals')).requests;
  const samples: Sample[] = [];
  let prevCpu = cpuMicros(pid);
  let prevReq = await reqs();
  let prevT = performance.now();
  const cpu0 = prevCpu;
  const req0 = prevReq;
  let rssMax = 0;
  for (let s = 0; s < SECONDS; s++) {
    await sleep(1000);
    const cpu = cpuMicros(pid);
    const req = await reqs();
    const t = performance.now();
    const rss = rssMiB(pid).rss;
    rssMax = Math.max(rssMax, rss);
    const dt = (t - prevT) / 1000;
    const checks = req - prevReq;
    samples.push({ checksPerSec: checks / dt, cpuCores: (cpu - prevCpu) / 1e6 / dt, cpuPerCheckUs: checks > 0 ? (cpu - prevCpu) / checks : NaN, rssMiB: rss });
    prevCpu = cpu;
    prevReq = req;
    prevT = t;
  }
  return {
    samples,
    checksPerSec: median(samples.map((x) => x.checksPerSec)),
    cpuCores: median(samples.map((x) => x.cpuCores)),
    cpuPerCheckUs: median(samples.map((x) => x.cpuPerCheckUs)),
    windowCpuPerCheckUs: (prevCpu - cpu0) / Math.max(1, prevReq - req0),
    rssMaxMiB: rssMax,
  };
}

async function benchSize(n: number) {
  const sim = forkChild('sim-child.js');
  const backends = await call<{ address: string; port: number }[]>(sim, 'start', { addresses: addresses(n), service: SERVICE });
  try {
    // poold
    const targets: ScheduledTarget[] = backends.map((b, i) => ({
      service: { dc: 'bench', cluster: 'bench', service: SERVICE },
      host: `backend${i}.bench`,
      address: b.address,
      port: b.port,
      check: CHECK,
      flapping: { transitions: 0, windowMs: 0 },
      initialUp: true,
    }));
    const poold = forkChild('poold-child.js', process.env.BENCH_POOLD_NODE_ARGS ?? '');
    await call(poold, 'start', { targets });
    await sleep(WARMUP * 1000);
    await call(poold, 'resetStats');
    const pooldM = await measure(poold.pid!, sim);
    const st = await call<{ lateness: { p50: number; p99: number; max: number }; completed: number; failures: number; failureCodes: Record<string, number>; missedSlots: number; queueFullDrops: number }>(poold, 'stats');
    await call(poold, 'stop');
    await sleep(1500); // let TIME_WAIT and the simulator settle between the two peers

    // HAProxy
    const hap = await startHaproxy(backends);
    let hapM: Measured;
    try {
      await sleep(WARMUP * 1000);
      hapM = await measure(hap.child.pid!, sim);
    } finally {
      await hap.stop();
    }
    const result = {
      backends: n,
      seconds: SECONDS,
      poold: { ...pooldM, samples: undefined, lateness: st.lateness, failures: st.failures, failureCodes: st.failureCodes, missedSlots: st.missedSlots, queueFullDrops: st.queueFullDrops },
      haproxy: { ...hapM, samples: undefined },
      ratioCpuPerCheck: pooldM.cpuPerCheckUs / hapM.cpuPerCheckUs,
      samples: { poold: pooldM.samples, haproxy: hapM.samples },
    };
    return result;
  } finally {
    await call(sim, 'stop').catch(() => sim.kill());
  }
}

const f1 = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : 'n/a');
const f2 = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : 'n/a');

const results = [];
for (const n of SIZES) {
  process.stderr.write(`bench checks: ${n} backends...\n`);
  const r = await benchSize(n);
  results.push(r);
  process.stderr.write(
    `  poold   ${f1(r.poold.checksPerSec)} checks/s, ${f1(r.poold.cpuPerCheckUs)} µs/check, ${f2(r.poold.cpuCores)} cores, RSS ${f1(r.poold.rssMaxMiB)} MiB, lateness p99 ${r.poold.lateness.p99} ms, failures ${r.poold.failures}\n` +
      `  haproxy ${f1(r.haproxy.checksPerSec)} checks/s, ${f1(r.haproxy.cpuPerCheckUs)} µs/check, ${f2(r.haproxy.cpuCores)} cores, RSS ${f1(r.haproxy.rssMaxMiB)} MiB\n` +
      `  ratio   ${f2(r.ratioCpuPerCheck)}x\n`,
  );
}

console.log('| backends | poold checks/s | poold µs CPU/check | poold cores | poold RSS MiB | lateness p50/p99 ms | HAProxy checks/s | HAProxy µs CPU/check | HAProxy cores | ratio poold/HAProxy |');
console.log('|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
for (const r of results) {
  console.log(
    `| ${r.backends} | ${f1(r.poold.checksPerSec)} | ${f1(r.poold.cpuPerCheckUs)} | ${f2(r.poold.cpuCores)} | ${f1(r.poold.rssMaxMiB)} | ${r.poold.lateness.p50}/${r.poold.lateness.p99} | ${f1(r.haproxy.checksPerSec)} | ${f1(r.haproxy.cpuPerCheckUs)} | ${f2(r.haproxy.cpuCores)} | ${f2(r.ratioCpuPerCheck)} |`,
  );
}
if (JSON_OUT) writeFileSync(JSON_OUT, JSON.stringify({ at: new Date().toISOString(), node: process.version, results }, null, 2));
