// The backends the checkers under test probe: every address answers `GET /_info` with 200.
//
// Two kinds (run.ts --sim):
// - haproxy (default): ONE HAProxy process, one thread, one listener on 0.0.0.0:<port>, which
//   answers on every 127.x address; `http-request return` answers without any backend. It costs a
//   few tens of µs per request, so on a 2-core machine the checker under test gets most of a core
//   for itself (the Node simulators below cost ~120 µs per request: ~1.2 cores at 10k checks/s,
//   which saturated the machine and measured the harness rather than the checker). Requests
//   answered are read from its runtime socket (`show stat`, the frontend's req_tot).
// - node: src/sim (Node HTTP servers, one listener per address, split over `procs` child
//   processes), as before; for comparison.
// Either way "checks/s" means requests answered by the backends, as before.
import { execFileSync, fork, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { call } from './ipc.js';
import { cpuMicros } from './proc.js';
import { freePort, HAPROXY } from './haproxy.js';

export type SimKind = 'haproxy' | 'node';

export interface Backend {
  address: string;
  port: number;
}

export interface Sims {
  readonly kind: SimKind;
  readonly backends: Backend[];
  /** Process ids of the simulator processes (for pinning and CPU). */
  readonly pids: number[];
  /** Requests answered so far, over all simulator processes. */
  requests(): Promise<number>;
  /** utime + stime of the simulator processes so far, µs. */
  cpuMicros(): number;
  stop(): Promise<void>;
}

export interface SimOptions {
  /** Node simulator: how many child processes share the addresses. */
  procs?: number;
  /** Pins each simulator process (taskset) right after it starts. */
  pin?: (pid: number) => void;
  service?: string;
}

export async function startSims(kind: SimKind, addresses: string[], opts: SimOptions = {}): Promise<Sims> {
  if (kind === 'haproxy') return startHaproxySim(addresses, opts);
  if (kind === 'node') return startNodeSims(addresses, opts);
  throw new Error(`unknown simulator ${JSON.stringify(kind)} (haproxy or node)`);
}

export function simKind(text: string): SimKind {
  if (text === 'haproxy' || text === 'node') return text;
  throw new Error(`--sim must be haproxy or node, got ${JSON.stringify(text)}`);
}

// ---- HAProxy ----

export function haproxySimConfig(port: number, socketPath: string): string {
  return [
    'global',
    '  nbthread 1',
    // Connections live a millisecond or so; the fd limit here is 20000 (maxconn needs 2 fds each).
    '  maxconn 8000',
    `  stats socket ${socketPath} mode 600 level user`,
    'defaults',
    '  mode http',
    '  timeout client 5s',
    '  timeout http-request 5s',
    'frontend sim',
    `  bind 0.0.0.0:${port}`,
    '  http-request return status 200 content-type text/plain string "ok\\n" if { path /_info }',
    '  http-request return status 404 content-type text/plain string "not found\\n"',
  ].join('\n') + '\n';
}

/** One runtime-socket command, its whole answer. */
function socketCommand(path: string, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(path, () => s.end(`${command}\n`));
    let out = '';
    s.setEncoding('utf8');
    s.on('data', (d: string) => (out += d));
    s.on('error', reject);
    s.on('end', () => resolve(out));
  });
}

/** req_tot of frontend `sim` from `show stat` CSV. */
export function frontendRequests(csv: string, frontend = 'sim'): number {
  const lines = csv.trim().split('\n');
  const header = (lines[0] ?? '').replace(/^# /, '').split(',');
  const col = header.indexOf('req_tot');
  if (col < 0) throw new Error(`haproxy show stat: no req_tot column in ${JSON.stringify(lines[0])}`);
  for (const line of lines.slice(1)) {
    const v = line.split(',');
    if (v[0] === frontend && v[1] === 'FRONTEND') return Number(v[col]);
  }
  throw new Error(`haproxy show stat: no FRONTEND row for ${frontend}`);
}

async function startHaproxySim(addresses: string[], opts: SimOptions): Promise<Sims> {
  const dir = mkdtempSync(join(tmpdir(), 'poold-bench-sim-'));
  const sock = join(dir, 'stats.sock');
  const cfg = join(dir, 'sim.cfg');
  const port = await freePort();
  writeFileSync(cfg, haproxySimConfig(port, sock));
  execFileSync(HAPROXY, ['-c', '-q', '-f', cfg]);
  const child = spawn(HAPROXY, ['-f', cfg, '-db'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  opts.pin?.(child.pid!);
  // Ready when the runtime socket answers (it is bound after the listeners).
  const t0 = Date.now();
  for (;;) {
    try {
      frontendRequests(await socketCommand(sock, 'show stat -1 1 -1'));
      break;
    } catch (err) {
      if (child.exitCode !== null || Date.now() - t0 > 10_000) {
        child.kill();
        rmSync(dir, { recursive: true, force: true });
        throw new Error(`haproxy simulator did not come up: ${String(err)}\n${stderr}`, { cause: err });
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return {
    kind: 'haproxy',
    backends: addresses.map((address) => ({ address, port })),
    pids: [child.pid!],
    async requests() {
      return frontendRequests(await socketCommand(sock, 'show stat -1 1 -1'));
    },
    cpuMicros() {
      return cpuMicros(child.pid!);
    },
    async stop() {
      child.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// ---- Node (src/sim) ----

const here = dirname(fileURLToPath(import.meta.url));

async function startNodeSims(all: string[], opts: SimOptions): Promise<Sims> {
  const procs = opts.procs ?? 2;
  const per = Math.ceil(all.length / procs);
  const children: ChildProcess[] = [];
  const lists = await Promise.all(
    Array.from({ length: procs }, (_, k) => {
      const child = fork(join(here, 'sim-child.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      opts.pin?.(child.pid!);
      children.push(child);
      return call<Backend[]>(child, 'start', { addresses: all.slice(k * per, (k + 1) * per), service: opts.service ?? 'benchsvc' });
    }),
  );
  return {
    kind: 'node',
    backends: lists.flat(),
    pids: children.map((c) => c.pid!),
    async requests() {
      const t = await Promise.all(children.map((c) => call<{ requests: number }>(c, 'totals')));
      return t.reduce((a, x) => a + x.requests, 0);
    },
    cpuMicros() {
      return children.reduce((a, c) => a + cpuMicros(c.pid!), 0);
    },
    async stop() {
      await Promise.all(children.map((c) => call(c, 'stop').catch(() => c.kill())));
    },
  };
}
