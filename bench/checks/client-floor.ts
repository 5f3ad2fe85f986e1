// How much of a check's CPU is Node's TCP client itself, against HAProxy's in the same run: the
// http checker (conn-socket.ts) vs a minimal raw net.connect/write/read/destroy exchange, against
// the same backends, at a fixed rate in this one thread; then HAProxy checking as many backends at
// 1 s (the same rate) on the same backends. Prints CPU µs per check for each, and the ratios.
//   node dist/bench/checks/client-floor.js [--backends 5000] [--rate 5000] [--seconds 16] [--sim haproxy|node]
//        [--variants onread,checker] [--no-haproxy]
// (--variants: only the variants whose name contains one of these words; --no-haproxy: skip the
// HAProxy peer; both for profiling one variant with --cpu-prof.)
// (--seconds per Node variant, run as interleaved 2 s rounds; medians printed. HAProxy: 5 s warm-up,
// then --seconds, CPU from /proc, checks counted at the backends.) The default rate is what each of
// two check threads carries at 10k checks/s.
import * as net from 'node:net';
import { createChecker } from '../../src/checks/index.js';
import type { HttpCheckDef } from '../../src/model/types.js';
import { arg } from '../args.js';
import { startHaproxy } from './haproxy.js';
import { cpuMicros } from './proc.js';
import { simKind, startSims } from './sims.js';

const RATE = Number(arg('rate', '5000'));
const N = Number(arg('backends', String(RATE)));
const SECONDS = Number(arg('seconds', '16'));

const addresses = Array.from({ length: N }, (_, i) => `127.101.${Math.floor(i / 250)}.${(i % 250) + 1}`);
const sims = await startSims(simKind(arg('sim', 'haproxy')), addresses, { procs: 1, service: 'floor' });
const backends = sims.backends;
const REQ = Buffer.from('GET /_info HTTP/1.1\r\nHost: x\r\nConnection: close\r\nUser-Agent: poold\r\n\r\n');

function raw(b: { address: string; port: number }, reset = false): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: b.address, port: b.port });
    let got = 0;
    s.once('connect', () => s.write(REQ));
    s.on('data', (d) => (got += d.length));
    s.on('error', () => resolve(false));
    s.on('end', () => {
      if (reset) s.resetAndDestroy();
      else s.destroy();
      resolve(got > 0);
    });
  });
}

const READ_BUF = Buffer.allocUnsafe(65536);
/** net.connect's `onread`: reads land in one reused buffer, skipping the readable-stream machinery. */
function rawOnread(b: { address: string; port: number }): Promise<boolean> {
  return new Promise((resolve) => {
    let got = 0;
    const s = net.connect({
      host: b.address,
      port: b.port,
      onread: {
        buffer: READ_BUF,
        callback: (n: number) => {
          got += n;
          return true;
        },
      },
    });
    s.once('connect', () => s.write(REQ));
    s.on('error', () => resolve(false));
    s.on('end', () => {
      s.resetAndDestroy();
      resolve(got > 0);
    });
  });
}

const def: HttpCheckDef = {
  kind: 'http', name: 'http', timeoutMs: 900, intervalMs: 1000, rise: 1, fall: 1, method: 'GET', scheme: 'http', urls: ['/_info'],
  checkAll: false, maxFailures: 0, headers: {}, tls: { verify: true }, expect: { status: [{ from: 200, to: 200 }] }, unclosed: 'warn', unclosedGraceMs: 100, keepAlive: false,
};
const checker = createChecker(def);
const viaChecker = async (b: { address: string; port: number }) => (await checker.check({ host: 'x', address: b.address, port: b.port }, Date.now() + 900)).up;
/** The scheduler's path (Checker.run, no promise inside the checker); one target object per backend, as the scheduler keeps. */
const targetsOf = new Map<string, { host: string; address: string; port: number }>();
const viaRun = (b: { address: string; port: number }) =>
  new Promise<boolean>((resolve) => {
    let t = targetsOf.get(b.address);
    if (!t) targetsOf.set(b.address, (t = { host: 'x', address: b.address, port: b.port }));
    checker.run!(t, Date.now() + 900, (r) => resolve(r?.up === true));
  });

/** Runs `fn` at RATE per second for `seconds`; returns CPU µs per completed check. */
async function paced(fn: (b: { address: string; port: number }) => Promise<boolean>, seconds: number): Promise<{ perCheck: number; userPerCheck: number; failed: number }> {
  let i = 0;
  let ok = 0;
  let done = 0;
  const pending = new Set<Promise<void>>();
  const c0 = process.cpuUsage();
  const end = Date.now() + seconds * 1000;
  const perTick = RATE / 100;
  while (Date.now() < end) {
    for (let k = 0; k < perTick; k++) {
      const p: Promise<void> = fn(backends[i++ % backends.length]).then((up) => {
        done++;
        if (up) ok++;
        pending.delete(p);
      });
      pending.add(p);
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  await Promise.all(pending);
  const c = process.cpuUsage(c0);
  return { perCheck: (c.user + c.system) / done, userPerCheck: c.user / done, failed: done - ok };
}

const ONLY = arg('variants', '').split(',').filter(Boolean);
const variants = ([
  ['raw net.Socket, FIN close', raw],
  ['raw net.Socket, RST close', (b) => raw(b, true)],
  ['raw onread + RST close', rawOnread],
  ['http checker, check()', viaChecker],
  ['http checker, run()', viaRun],
] as [string, (b: { address: string; port: number }) => Promise<boolean>][]).filter(([name]) => ONLY.length === 0 || ONLY.some((w) => name.includes(w)));
// Short interleaved rounds, medians: the machine's load drifts faster than a long run per variant.
const ROUNDS = Math.max(1, Math.round(SECONDS / 2));
const perVariant = new Map<string, number[]>(variants.map(([n]) => [n, []]));
const userPerVariant = new Map<string, number[]>(variants.map(([n]) => [n, []]));
let failed = 0;
// Round 0 warms the JIT up and is not counted.
for (let round = 0; round <= ROUNDS; round++) {
  for (const [name, fn] of variants) {
    const r = await paced(fn, 2);
    if (round > 0) perVariant.get(name)!.push(r.perCheck);
    if (round > 0) userPerVariant.get(name)!.push(r.userPerCheck);
    failed += r.failed;
  }
}
const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
for (const [name, xs] of perVariant) {
  const user = userPerVariant.get(name)!;
  console.log(`${name.padEnd(26)} median ${med(xs).toFixed(1)} µs CPU/check (rounds: ${xs.map((x) => x.toFixed(0)).join(' ')}); user ${med(user).toFixed(1)} (${user.map((x) => x.toFixed(0)).join(' ')})`);
}
if (failed > 0) console.log(`(${failed} checks failed)`);

if (process.argv.includes('--no-haproxy')) {
  await sims.stop();
  process.exit(0);
}
// HAProxy checking N backends at inter 1 s: RATE checks/s, the same backends.
const hap = await startHaproxy(backends);
await new Promise((r) => setTimeout(r, 5000));
const h0 = cpuMicros(hap.child.pid!);
const q0 = await sims.requests();
await new Promise((r) => setTimeout(r, SECONDS * 1000));
const hapPerCheck = (cpuMicros(hap.child.pid!) - h0) / Math.max(1, (await sims.requests()) - q0);
const hapRate = ((await sims.requests()) - q0) / SECONDS;
await hap.stop();
console.log(`${'HAProxy 2.6 (one thread)'.padEnd(26)} ${hapPerCheck.toFixed(1)} µs CPU/check at ${hapRate.toFixed(0)} checks/s`);
for (const [name, xs] of perVariant) console.log(`ratio ${name.padEnd(26)} ${(med(xs) / hapPerCheck).toFixed(2)}x HAProxy`);
console.log(`node ${process.version}, ${RATE} checks/s in one thread over ${N} backends, backends: ${sims.kind}`);
await sims.stop();
