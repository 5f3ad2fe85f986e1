// How much of a check's CPU is Node's TCP client itself: the http checker (conn-socket.ts)
// vs a minimal raw net.connect/write/read/destroy exchange, against the same simulator backends (in a child process),
// at a fixed rate. Prints CPU µs per check for both. For finding what to optimise, not a target.
//   node dist/bench/checks/client-floor.js [--backends 1000] [--rate 2000] [--seconds 16]
// (--seconds per variant, run as interleaved 2 s rounds; medians printed.)
import { fork } from 'node:child_process';
import * as net from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createChecker } from '../../src/checks/index.js';
import type { HttpCheckDef } from '../../src/model/types.js';
import { arg } from '../args.js';
import { call } from './ipc.js';

const N = Number(arg('backends', '1000'));
const RATE = Number(arg('rate', '2000'));
const SECONDS = Number(arg('seconds', '16'));

const sim = fork(join(dirname(fileURLToPath(import.meta.url)), 'sim-child.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
const addresses = Array.from({ length: N }, (_, i) => `127.101.${Math.floor(i / 250)}.${(i % 250) + 1}`);
const backends = await call<{ address: string; port: number }[]>(sim, 'start', { addresses, service: 'floor' });
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

/** Runs `fn` at RATE per second for `seconds`; returns CPU µs per completed check. */
async function paced(fn: (b: { address: string; port: number }) => Promise<boolean>, seconds: number): Promise<{ perCheck: number; failed: number }> {
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
  return { perCheck: (c.user + c.system) / done, failed: done - ok };
}

const variants: [string, (b: { address: string; port: number }) => Promise<boolean>][] = [
  ['raw net.Socket, FIN close', raw],
  ['raw net.Socket, RST close', (b) => raw(b, true)],
  ['raw onread + RST close', rawOnread],
  ['http checker', viaChecker],
];
// Short interleaved rounds, medians: the machine's load drifts faster than a long run per variant.
const ROUNDS = Math.max(1, Math.round(SECONDS / 2));
const perVariant = new Map<string, number[]>(variants.map(([n]) => [n, []]));
let failed = 0;
for (let round = 0; round < ROUNDS; round++) {
  for (const [name, fn] of variants) {
    const r = await paced(fn, 2);
    perVariant.get(name)!.push(r.perCheck);
    failed += r.failed;
  }
}
const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
for (const [name, xs] of perVariant) {
  console.log(`${name.padEnd(26)} median ${med(xs).toFixed(1)} µs CPU/check (rounds: ${xs.map((x) => x.toFixed(0)).join(' ')})`);
}
if (failed > 0) console.log(`(${failed} checks failed)`);
await call(sim, 'stop');
