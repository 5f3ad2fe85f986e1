// A real site at full size: Wikimedia's eqiad (116 sections, 52 conftool pools, 440 hosts, 11,095
// (section, host) targets), imported from its pybal.conf, synced, checked against simulated backends on
// loopback and published by one poold, with an LVS agent in etcd mode. Issue 12's "real size" figures.
//
//   npm run bench:site                         (full size: run it on a quiet machine)
//   npx tsc -p tsconfig.json && node dist/bench/site/site.js --scale 0.1 --trials 30 --steady-s 30
//
// Options: --scale F (keep ceil(F × n) hosts of every pool, default 1), --trials N (default 100),
// --warmup N (default 10), --steady-s S (the idle window, default 60), --select-runs N (default 5), --workers W (POOLD_CHECK_WORKERS
// for poold, default auto), --json FILE. poold runs with the V8 flags it is shipped with (bench/poold-node-args.ts)
// unless BENCH_POOLD_NODE_ARGS gives others.
//
// Setup (test/helpers/wmf-site.ts): eqiad's pybal.conf rendered as puppet does, `poolctl import pybal`
// with conftool-data's node file, then every host pointed at its own 127.80.x.y by `address:` in the
// pools/ YAML; the simulator (a child process, dist/src/sim/main.js) listens on every (address, port) a
// section checks, with TLS where the imported check is https. etcd is test/helpers/etcd.ts: DEFAULT limits.
//
// Figures:
//   import, sync     wall time of `poolctl import pybal` and `poolctl sync` (processes, as an operator runs them);
//   published        poold's spawn → every section's state in etcd (hosts "assumed up" until checked);
//   judged           poold's spawn → every (section, host) carries a check's verdict;
//   steady           over --steady-s seconds with nothing changing: poold's CPU (utime+stime of all its
//                    threads, as a share of one core), its RSS (VmRSS, end and max), and etcd's writes
//                    per second (etcd_mvcc_put_total and etcd_mvcc_txn_total from etcd's /metrics, and
//                    the revision delta: each write transaction is one revision);
//   depool → /pools  t0, then what `poolctl depool HOST` does after its start-up (open the context, read
//                    the inventory, threshold guard, one audited write), until poold's view (what
//                    /pools/<section>/<host> serves) has the host `disabled/`: timed by poold's own event
//                    stream (the `state` event the view publishes as it takes the state), then checked
//                    with one GET of /pools; p50/p99. The host is in kubernetes/kubesvc, so one write
//                    reaches 44 sections; the one watched is apertium_4737. These trials run with no
//                    LVS agent on the machine;
//   depool → agent   then the same trials again with the LVS agent running as its own process
//                    (`poolctl lvs agent`, etcd mode, watching apertium_4737's state): the write → the agent has run
//                    `ipvsadm -R` (test/fixtures/fake-ipvsadm, which logs when it applied). The stand-in
//                    is a Node process: its start-up (also printed alone) is in the figure, a real
//                    ipvsadm's is not. Peer: PyBal reads its pool every 1 s when it polls config-master
//                    (0-1000 ms, ~500 ms median, before its own ipvsadm call).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { startEtcd } from '../../test/helpers/etcd.js';
import { prepareWmfSite } from '../../test/helpers/wmf-site.js';
import { shippedAgentNodeArgs } from '../poold-node-args.js';
import { openKv } from '../../src/store/connection.js';
import { Keys } from '../../src/store/keys.js';
import { ASSUMED_UP_REASON } from '../../src/model/coordinator.js';
import { openContext } from '../../src/cli/context.js';
import { readInventory, resolveHost } from '../../src/cli/inventory.js';
import { arg } from '../args.js';
import { shippedPooldNodeArgs } from '../poold-node-args.js';
import { applyAdminChange } from '../../src/cli/admin-change.js';
import { readAssembledStates } from '../../src/store/state-layout.js';
import { decodeAssembledState } from '../../src/store/decode.js';

const here = dirname(fileURLToPath(import.meta.url));
// Works from dist/bench/site (built); the processes it starts are the built ones.
const DIST = [resolve(here, '../..'), resolve(here, '../../dist')].find((d) => {
  try {
    readFileSync(join(d, 'src', 'daemon', 'poold.js'));
    return true;
  } catch {
    return false;
  }
});
const REPO = DIST ? resolve(DIST, '..') : '';
const FAKE = join(REPO, 'test', 'fixtures', 'fake-ipvsadm');

const SCALE = Number(arg('scale', '1'));
const TRIALS = Number(arg('trials', '100'));
const WARMUP = Number(arg('warmup', '10'));
const STEADY_S = Number(arg('steady-s', '60'));
const WORKERS = arg('workers', 'auto');
const JSON_OUT = arg('json', '');
const SELECT_RUNS = Number(arg('select-runs', '5'));
const SECTION = 'apertium_4737';
/**
 * Backends per simulator process. A backend costs a simulator one descriptor for its listener and one
 * per held idle connection; the file limit here is 20,000 and cannot be raised (no CAP_SYS_RESOURCE),
 * so the full size's ~11k backends are spread over several simulator processes.
 */
const BACKENDS_PER_SIM = 6000;

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}
const r1 = (x: number) => Math.round(x * 10) / 10;
const stats = (xs: number[]) => ({ p50: r1(pct(xs, 50)), p90: r1(pct(xs, 90)), p99: r1(pct(xs, 99)), max: r1(Math.max(...xs)), n: xs.length });
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls `read` until `ok`; a read that throws is retried (a transient etcd or HTTP error) and named on timeout. */
async function until<T>(what: string, read: () => Promise<T>, ok: (v: T) => boolean, timeoutMs: number, everyMs: number, alive: () => void = () => undefined): Promise<T> {
  const end = Date.now() + timeoutMs;
  let lastErr: unknown;
  for (;;) {
    alive();
    const v = await read().catch((err: unknown) => { lastErr = err; return undefined; });
    if (v !== undefined && ok(v)) return v;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastErr ? `; last error: ${String(lastErr)}` : ''}`);
    await sleep(everyMs);
  }
}

function spawnNode(args: string[], env: Record<string, string>): ChildProcess {
  const child = spawn(process.execPath, args, { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env } });
  process.on('exit', () => child.kill('SIGKILL'));
  return child;
}

/** What the trials need of one `applied` or `error` line the agent logs (src/lvs/agent.ts defaultLog). */
interface AgentLogged {
  result: 'applied' | 'error';
  reason?: string;
  error?: string;
  commands?: string[];
  /** When the reconcile started (epoch ms): the line's time less its duration, to the millisecond. */
  startedAt: number;
}

function agentLogged(line: string): AgentLogged | undefined {
  if (!line.startsWith('{')) return undefined;
  let e: { time: string; event: string; reason?: string; error?: string; commands?: string[]; durationMs?: number };
  try {
    e = JSON.parse(line) as typeof e;
  } catch (err) {
    throw new Error(`the LVS agent logged a line that is not JSON: ${line}`, { cause: err });
  }
  if (e.event !== 'applied' && e.event !== 'error') return undefined;
  return { result: e.event, reason: e.reason, error: e.error, commands: e.commands, startedAt: Date.parse(e.time) - (e.durationMs ?? 0) };
}

function capture(child: ChildProcess): () => string {
  let out = '';
  const keep = (b: Buffer) => {
    out += b.toString();
    if (out.length > 40_000) out = `${out.slice(0, 8000)}\n...\n${out.slice(-8000)}`;
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return () => out;
}

function runCli(args: string[], env: Record<string, string>): { ms: number; out: string; stdout: string } {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [join(DIST!, 'src', 'cli', 'poolctl.js'), ...args], { cwd: REPO, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', USER: 'bench', ...env }, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`poolctl ${args.join(' ')} exited ${r.status}: ${r.stderr.slice(-2000)}`);
  return { ms: performance.now() - t0, out: r.stdout + r.stderr, stdout: r.stdout };
}

/** utime + stime of a process (all threads), in seconds. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;
  return (Number(f[11]) + Number(f[12])) / ticks;
}
function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** Keys written in revisions [from, to], read back with etcdctl's watch from a past revision. */
function writtenKeys(url: string, from: number, to: number): string[] {
  const r = spawnSync('etcdctl', ['--endpoints', url, 'watch', '--prefix', '/', '--rev', String(from), '-w', 'json'], { env: { ...process.env, ETCDCTL_API: '3' }, encoding: 'utf8', timeout: 3000, maxBuffer: 256 << 20 });
  const keys: string[] = [];
  for (const line of r.stdout.split('\n')) {
    if (!line.startsWith('{')) continue;
    const w = JSON.parse(line) as { Events?: { kv: { key: string; mod_revision: number } }[] };
    for (const e of w.Events ?? []) if (e.kv.mod_revision <= to) keys.push(Buffer.from(e.kv.key, 'base64').toString());
  }
  return keys;
}

/** `key ×n, ...`: the most written keys first. */
function summarizeKeys(keys: string[]): string {
  const n = new Map<string, number>();
  for (const k of keys) n.set(k, (n.get(k) ?? 0) + 1);
  return [...n].sort((a, b) => b[1] - a[1]).slice(0, 8).map(([k, c]) => `${k} ×${c}`).join(', ') + (n.size > 8 ? ` and ${n.size - 8} more keys` : '');
}

async function etcdCounters(url: string): Promise<{ put: number; txn: number }> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const v = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
  return { put: v('etcd_mvcc_put_total'), txn: v('etcd_mvcc_txn_total') };
}

const keepAlive = new Agent({ keepAlive: true, maxSockets: 1 });
function get(url: string): Promise<string> {
  return new Promise((res, rej) => {
    const req = request(url, { agent: keepAlive }, (r) => {
      let body = '';
      r.setEncoding('utf8').on('data', (c: string) => (body += c)).on('end', () => res(body));
    });
    req.on('error', rej);
    req.end();
  });
}

async function main(): Promise<void> {
  if (!DIST) throw new Error('dist/src/daemon/poold.js not found: run npx tsc -p tsconfig.json first');
  if (!(SCALE > 0 && SCALE <= 1)) throw new Error(`--scale ${SCALE}: expected a fraction in (0, 1]`);
  const dir = mkdtempSync(join(tmpdir(), 'poold-site-bench-'));
  const children: ChildProcess[] = [];
  const cleanup: (() => Promise<unknown>)[] = [];
  try {
    const site = await prepareWmfSite(dir, { scale: SCALE, run: async (args) => ({ code: 0, stdout: '', stderr: runCli(args, {}).out }) });
    const sections = site.services.length;
    console.log(`eqiad at scale ${SCALE}: ${sections} sections, ${site.hosts} hosts, ${site.targets} (section, host) targets, ${site.backends.length} simulated backends; import ${Math.round(site.importMs)} ms (${site.importSummary})`);

    // The simulators, in their own processes.
    for (let i = 0; i * BACKENDS_PER_SIM < site.backends.length; i++) {
      const specFile = join(dir, `sim${i}.json`);
      writeFileSync(specFile, JSON.stringify({ backends: site.backends.slice(i * BACKENDS_PER_SIM, (i + 1) * BACKENDS_PER_SIM) }));
      const sim = spawnNode([join(DIST, 'src', 'sim', 'main.js'), '--spec', specFile], {});
      children.push(sim);
      const simOut = capture(sim);
      const simAlive = () => { if (sim.exitCode !== null) throw new Error(`simulator exited ${sim.exitCode}: ${simOut()}`); };
      await until('the simulator', async () => simOut(), (o) => o.includes('"ready":true'), 600_000, 200, simAlive);
    }

    const etcd = await startEtcd();
    cleanup.push(() => etcd.stop());
    const env = { POOLD_ETCD: etcd.clientUrl };
    const sync = runCli(['sync', site.poolsDir, '--yes'], env);
    console.log(`poolctl sync: ${Math.round(sync.ms)} ms`);

    const kv = await openKv({ endpoints: etcd.endpoints }, 'etcd3');
    cleanup.push(() => kv.close());
    const keys = new Keys();
    const states = async () => {
      return (await readAssembledStates(kv, keys)).filter((a) => a.key.dc === 'eqiad').map((a) => decodeAssembledState(a));
    };

    // poold, timed from its spawn.
    const t0 = performance.now();
    // The V8 flags poold is shipped with, or BENCH_POOLD_NODE_ARGS (e.g. add '--cpu-prof --cpu-prof-dir=DIR' to profile it).
    const nodeArgs = process.env.BENCH_POOLD_NODE_ARGS !== undefined ? process.env.BENCH_POOLD_NODE_ARGS.split(' ').filter((a) => a !== '') : shippedPooldNodeArgs(WORKERS);
    const poold = spawnNode([...nodeArgs, join(DIST, 'src', 'daemon', 'poold.js'), '--etcd', etcd.clientUrl, '--observer', 'bench', '--listen', '127.0.0.1:0', '--lease-ttl', '10', '--log-level', 'info'], { POOLD_CHECK_WORKERS: WORKERS });
    children.push(poold);
    const pooldOut = capture(poold);
    const pooldAlive = () => { if (poold.exitCode !== null) throw new Error(`poold exited ${poold.exitCode}: ${pooldOut().slice(-3000)}`); };
    const ready = await until('poold ready', async () => {
      return /"api":"(http:\/\/[^"]+)"[^\n]*"poold ready"|"poold ready"[^\n]*"api":"(http:\/\/[^"]+)"/.exec(pooldOut());
    }, (m) => m !== null, 300_000, 50, pooldAlive);
    const url = ready![1] ?? ready![2]!;
    const published = await until('every section published', states, (s) => s.length === sections, 900_000, 250, pooldAlive);
    const publishedMs = performance.now() - t0;
    const judged = await until('every (section, host) judged', states, (s) => s.length === sections && s.every((st) => Object.values(st.servers).every((h) => h.reason !== ASSUMED_UP_REASON)), 900_000, 500, pooldAlive);
    const judgedMs = performance.now() - t0;
    const down = judged.flatMap((st) => Object.entries(st.servers).filter(([, h]) => !h.up).map(([h, v]) => `${st.name}/${h}: ${v.reason}`));
    console.log(`published: ${sections} sections ${Math.round(publishedMs)} ms after poold's spawn (${published.length} states); every target judged after ${Math.round(judgedMs)} ms; ${down.length} down${down.length ? ` (e.g. ${down.slice(0, 3).join('; ')})` : ''}`);
    if (poold.exitCode !== null) throw new Error(`poold exited: ${pooldOut()}`);

    // Steady state: nothing changes for STEADY_S seconds.
    await sleep(5000);
    const c0 = cpuSeconds(poold.pid!);
    const e0 = await etcdCounters(etcd.clientUrl);
    const rev0 = (await kv.range({ key: '/', limit: 1 })).revision;
    const w0 = performance.now();
    let rssMax = 0;
    while (performance.now() - w0 < STEADY_S * 1000) {
      rssMax = Math.max(rssMax, rssMiB(poold.pid!));
      await sleep(1000);
    }
    const wS = (performance.now() - w0) / 1000;
    const cpu = (cpuSeconds(poold.pid!) - c0) / wS;
    const e1 = await etcdCounters(etcd.clientUrl);
    const rev1 = (await kv.range({ key: '/', limit: 1 })).revision;
    const rss = rssMiB(poold.pid!);
    const steady = { seconds: r1(wS), cpuShareOfCore: Math.round(cpu * 1000) / 1000, rssMiB: r1(rss), rssMaxMiB: r1(Math.max(rssMax, rss)), etcdPutsPerS: r1((e1.put - e0.put) / wS), etcdTxnsPerS: r1((e1.txn - e0.txn) / wS), etcdRevisionsPerS: r1((rev1 - rev0) / wS) };
    console.log(`steady ${steady.seconds} s: poold CPU ${(cpu * 100).toFixed(1)}% of a core, RSS ${steady.rssMiB} MiB (max ${steady.rssMaxMiB}); etcd ${steady.etcdPutsPerS} puts/s, ${steady.etcdTxnsPerS} txns/s, ${steady.etcdRevisionsPerS} revisions/s`);
    // What wrote while nothing changed: the keys of every revision in the window, from etcd's own history.
    const idleWrites = rev1 > rev0 ? writtenKeys(etcd.clientUrl, rev0 + 1, rev1) : [];
    if (idleWrites.length > 0) console.log(`  written in the idle window: ${summarizeKeys(idleWrites)}`);

    // Depool latency: to poold's /pools/<section>/<host>, and to the LVS agent's ipvsadm -R.
    const def = site.services.find((s) => s.name === SECTION)!;
    const hosts = Object.keys(def.servers);
    const ipvs = { FAKE_IPVSADM_STATE: join(dir, 'ipvs.json'), FAKE_IPVSADM_LOG: join(dir, 'ipvsadm.log'), FAKE_IPVSADM_BIN: FAKE, STAMP_LOG: join(dir, 'stamps.log') };
    // As bench/lvs: ipvsadm fronted by stamp-front.c (compiled here; the shell front without cc), which
    // stamps when `ipvsadm -R` has its input, i.e. when a real ipvsadm would start applying.
    const front = join(dir, 'stamp-front');
    const cc = spawnSync('cc', ['-O2', '-Wall', '-o', front, join(REPO, 'bench', 'lvs', 'stamp-front.c')], { encoding: 'utf8' });
    const FRONT = cc.status === 0 ? front : join(REPO, 'bench', 'lvs', 'stamping-ipvsadm.sh');
    const stamps = (): number[] => readFileSync(ipvs.STAMP_LOG, 'utf8').trim().split('\n').map((l) => Number(BigInt(l) / 1000n) / 1000);
    const alone: number[] = [];
    for (let i = 0; i < 10; i++) {
      const ts = performance.now();
      spawnSync(FAKE, ['-S', '-n'], { env: { ...process.env, ...ipvs } });
      alone.push(performance.now() - ts);
    }
    let waiter: ((r: AgentLogged) => void) | undefined;
    const recent: AgentLogged[] = [];
    const wall = () => performance.timeOrigin + performance.now();
    const readLog = () => readFileSync(ipvs.FAKE_IPVSADM_LOG, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { argv: string[]; stdin: string; at: number });
    // Visibility is timed by poold's own event stream: a `state` event is published when the view (what
    // /pools serves) takes the state; each trial then checks /pools once. Polling /pools every few ms
    // instead cost poold ≈ 500 requests/s of its own CPU while it published (the measurement slowed
    // what it measured).
    const seenAt = new Map<string, number>();
    const seenWaiters = new Map<string, () => void>();
    const sse = new AbortController();
    cleanup.push(async () => sse.abort());
    const stream = await fetch(`${url}/v1/events?types=state&services=eqiad/${SECTION}`, { signal: sse.signal });
    if (!stream.ok || stream.body === null) throw new Error(`poold's event stream: HTTP ${stream.status}`);
    void (async () => {
      const reader = stream.body!.pipeThrough(new TextDecoderStream()).getReader();
      let buf = '';
      for (;;) {
        const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true as const }));
        if (done) return;
        buf += value;
        let at;
        while ((at = buf.indexOf('\n\n')) >= 0) {
          const data = buf.slice(0, at).split('\n').find((l) => l.startsWith('data: '));
          buf = buf.slice(at + 2);
          if (data === undefined) continue;
          const ev = JSON.parse(data.slice(6)) as { type: string; pool?: { name: string }; host?: string; after?: { enabled: boolean } | null };
          if (ev.type !== 'state' || ev.pool?.name !== SECTION || ev.after == null) continue;
          const k = `${ev.host} ${ev.after.enabled}`;
          seenAt.set(k, performance.now());
          seenWaiters.get(k)?.();
        }
      }
    })();
    const visibleAt = (host: string, enabled: boolean) => new Promise<number>((res, rej) => {
      const k = `${host} ${enabled}`;
      const timer = setTimeout(() => rej(new Error(`no state event for ${k} within 20 s`)), 20_000);
      seenWaiters.set(k, () => { clearTimeout(timer); seenWaiters.delete(k); res(seenAt.get(k)!); });
    });
    /** One phase of trials; with the agent, its stand-in ipvsadm (≈ 140 ms of CPU per call) competes with poold for the 2 cores. */
    const phase = async (withAgent: boolean) => {
      const m = { visible: [] as number[], written: [] as number[], inventoryRead: [] as number[], applied1: [] as number[], decided: [] as number[], applied: [] as number[], received: [] as number[], reconcile: [] as number[] };
      for (let i = 0; i < WARMUP + TRIALS; i++) {
        const host = hosts[i % hosts.length]!;
        for (const pooled of ['no', 'yes'] as const) {
          const done = withAgent ? new Promise<AgentLogged>((res, rej) => {
            const timer = setTimeout(() => rej(new Error(`trial ${i} (${host} pooled=${pooled}): the agent applied nothing within 20 s; its last reports: ${JSON.stringify(recent.map((r) => ({ result: r.result, reason: r.reason, error: r.error, commands: r.commands })))}`)), 20_000);
            waiter = (r) => { if (r.result === 'applied' || r.result === 'error') { clearTimeout(timer); res(r); } };
          }) : undefined;
          const seen = visibleAt(host, pooled === 'yes');
          const ta = wall();
          const ts = performance.now();
          const ctx = await openContext({ etcd: etcd.clientUrl });
          // When the inventory was read, and how long that took.
          const read = { at: 0, ms: 0 };
          try {
            const to = performance.now();
            const inv = await readInventory(ctx);
            read.at = performance.now();
            read.ms = read.at - to;
            await applyAdminChange(ctx, inv, resolveHost(inv, host), { pooled }, { reason: 'site bench', yes: true });
          } finally {
            await ctx.close();
          }
          const tw = performance.now();
          const twWall = wall();
          const want = pooled === 'no' ? 'disabled/' : 'enabled/';
          const tv = await seen;
          const shown = await get(`${url}/pools/${SECTION}/${host}`);
          if (!shown.includes(want)) throw new Error(`trial ${i}: the state event came, but /pools/${SECTION}/${host} says ${shown}`);
          const rep = await done;
          if (rep !== undefined && rep.result !== 'applied') throw new Error(`trial ${i}: ${rep.error}`);
          if (i < WARMUP || pooled === 'yes') continue;
          // The leader stamps the state it publishes: split poold's part into deciding and the rest.
          const [header] = await readAssembledStates(kv, keys, [{ dc: 'eqiad', name: SECTION }]);
          const published = decodeAssembledState(header!);
          m.inventoryRead.push(read.ms);
          m.applied1.push(tw - read.at);
          m.decided.push(published.updatedAt - twWall);
          m.written.push(tw - ts);
          m.visible.push(tv - ts);
          if (rep !== undefined) {
            const entry = readLog().filter((e) => e.argv[0] === '-R').at(-1)!;
            if (!entry.stdin.includes(def.servers[host]!.address!)) throw new Error(`trial ${i}: ipvsadm -R did not name ${host}: ${entry.stdin}`);
            m.applied.push(entry.at - ta);
            m.received.push(stamps().at(-1)! - ta);
            m.reconcile.push(rep.startedAt - ta);
          }
        }
      }
      return m;
    };
    // Phase 1: poold alone (no LVS agent on this machine), so /pools shows poold's own latency.
    const alonePhase = await phase(false);
    // Phase 2: the LVS agent (etcd mode) applies every change.
    // The agent as its own process, as on an LVS host (`poolctl lvs agent`, with debian/bin/lvs-agent's
    // V8 flags): inside this process, its spawn of ipvsadm (5-8 ms of a blocked event loop here) and its
    // decoding shared the event loop with the trials' own poolctl work and /pools stream.
    const agentProc = spawnNode([...shippedAgentNodeArgs(), join(DIST, 'src', 'cli', 'poolctl.js'), 'lvs', 'agent', '--etcd', etcd.clientUrl,
      '--host', 'lvs-bench', '--services', `eqiad/${SECTION}`, '--ipvsadm', FRONT, '--period', '600s', '--listen', 'none'], ipvs);
    const agentOutput = capture(agentProc);
    cleanup.push(async () => { agentProc.kill('SIGTERM'); });
    createInterface({ input: agentProc.stderr! }).on('line', (line) => {
      const r = agentLogged(line);
      if (r === undefined) return;
      recent.push(r);
      if (recent.length > 5) recent.shift();
      waiter?.(r);
    });
    agentProc.on('exit', (code) => { if (code !== 0 && code !== null) console.error(`the LVS agent exited with ${code}:\n${agentOutput()}`); });
    // Ready once it has logged putting the service in place (ipvsadm -R and the read-back done), so
    // that no trial takes this first reconcile's line for its own.
    await until("the LVS agent's first reconcile", async () => recent.some((r) => r.result === 'applied'), (v) => v, 20_000, 50)
      .catch((err: unknown) => { throw new Error(`${String(err)}; the agent's output:\n${agentOutput()}`); });
    const agentPhase = await phase(true);
    // The select runs below time poolctl alone, not beside the agent's stand-in ipvsadm (a Node process).
    if (agentProc.exitCode === null && agentProc.signalCode === null) {
      const agentExited = new Promise<void>((res) => agentProc.once('exit', () => res()));
      agentProc.kill('SIGTERM');
      await agentExited;
    }
    const { visible, written, inventoryRead, applied1, decided } = alonePhase;
    const { applied, received, reconcile } = agentPhase;
    // `poolctl select` over the whole 240-host kubesvc pool (a weight change: a depool of all would be
    // refused by the guard), as an operator runs it: process wall time, 44 sections over the pool.
    const selectMs: number[] = [];
    let selected = 0;
    for (let i = 0; i < SELECT_RUNS; i++) {
      const r = runCli(['--json', 'select', 'dc=eqiad,cluster=kubernetes,service=kubesvc', 'weight', String(11 + (i % 2)), '--yes', '--reason', 'site bench'], env);
      selectMs.push(r.ms);
      selected = (JSON.parse(r.stdout) as { changes: unknown[] }).changes.length;
    }
    const result = {
      scale: SCALE, sections, hosts: site.hosts, targets: site.targets, backends: site.backends.length, workers: WORKERS, pooldNodeArgs: nodeArgs.join(' '),
      loadavg: loadavg().map((x) => Math.round(x * 100) / 100), node: process.version,
      importMs: Math.round(site.importMs), syncMs: Math.round(sync.ms), publishedMs: Math.round(publishedMs), judgedMs: Math.round(judgedMs), down: down.length,
      steady,
      depoolWrittenMs: stats(written), depoolInventoryReadMs: stats(inventoryRead), depoolGuardAndWriteMs: stats(applied1), depoolWriteToPublishedStampMs: stats(decided), depoolVisibleMs: stats(visible), depoolWrittenToVisibleMs: stats(visible.map((v, i) => v - written[i]!)),
      withAgent: { depoolWrittenMs: stats(agentPhase.written), depoolVisibleMs: stats(agentPhase.visible), depoolWrittenToVisibleMs: stats(agentPhase.visible.map((v, i) => v - agentPhase.written[i]!)) },
      agentWrittenToReceivedMs: stats(received.map((v, i) => v - agentPhase.written[i]!)), agentReconcileStartMs: stats(reconcile), agentReceivedMs: stats(received), agentAppliedMs: stats(applied), standinAloneMs: stats(alone),
      selectKubesvc: { hosts: selected, runs: selectMs.map(Math.round), medianMs: stats(selectMs).p50 },
      idleWrites: idleWrites.length, idleWrittenKeys: summarizeKeys(idleWrites),
    };
    console.log(`depool → /pools/${SECTION} (${TRIALS} trials without an LVS agent, t0 = poolctl's work after start-up): written p50 ${result.depoolWrittenMs.p50} p99 ${result.depoolWrittenMs.p99}; visible p50 ${result.depoolVisibleMs.p50} p99 ${result.depoolVisibleMs.p99} max ${result.depoolVisibleMs.max} ms`);
    console.log(`  poold's part, per trial (visible − written): p50 ${result.depoolWrittenToVisibleMs.p50} p99 ${result.depoolWrittenToVisibleMs.p99}; the agent's (ipvsadm -R received − written): p50 ${result.agentWrittenToReceivedMs.p50} p99 ${result.agentWrittenToReceivedMs.p99} ms`);
    console.log(`  of which: poolctl reads the inventory p50 ${result.depoolInventoryReadMs.p50} p99 ${result.depoolInventoryReadMs.p99}; guard + audited write p50 ${result.depoolGuardAndWriteMs.p50} p99 ${result.depoolGuardAndWriteMs.p99}; written → the leader's tick that decided p50 ${result.depoolWriteToPublishedStampMs.p50} p99 ${result.depoolWriteToPublishedStampMs.p99} ms`);
    console.log(`  with the LVS agent running (${TRIALS} more trials): poold's part p50 ${result.withAgent.depoolWrittenToVisibleMs.p50} p99 ${result.withAgent.depoolWrittenToVisibleMs.p99}; visible p50 ${result.withAgent.depoolVisibleMs.p50} p99 ${result.withAgent.depoolVisibleMs.p99} ms`);
    console.log(`depool → LVS agent (etcd mode), ms from t0: ipvsadm -R received p50 ${result.agentReceivedMs.p50} p99 ${result.agentReceivedMs.p99}; reconcile started p50 ${result.agentReconcileStartMs.p50} p99 ${result.agentReconcileStartMs.p99}; applied by the Node stand-in p50 ${result.agentAppliedMs.p50} p99 ${result.agentAppliedMs.p99} (the stand-in alone p50 ${result.standinAloneMs.p50}; ipvsadm front: ${FRONT.endsWith('.sh') ? 'shell' : 'compiled'})`);
    console.log(`poolctl select over kubernetes/kubesvc (${selected} hosts written, weight change, ${SELECT_RUNS} runs): median ${result.selectKubesvc.medianMs} ms wall (each: ${result.selectKubesvc.runs.join(', ')} ms)`);
    console.log('  peer: PyBal polling config-master every 1 s sees a depool after 0-1000 ms (~500 ms median), before its own ipvsadm call');
    console.log(`poold: node ${process.version} ${result.pooldNodeArgs}, POOLD_CHECK_WORKERS=${WORKERS}; load average ${result.loadavg.join(' ')}`);
    if (JSON_OUT) writeFileSync(JSON_OUT, `${JSON.stringify(result, null, 2)}\n`);
  } finally {
    // Stopped, and waited for (up to 10 s each): a profiled poold writes its profile as it exits.
    await Promise.all(children.reverse().map((c) => new Promise<void>((res) => {
      if (c.exitCode !== null || c.signalCode !== null) return res();
      const timer = setTimeout(res, 10_000);
      c.once('exit', () => { clearTimeout(timer); res(); });
      c.kill('SIGTERM');
    })));
    for (const f of cleanup.reverse()) await f().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}

main().then(() => process.exit(0), (err: unknown) => {
  console.error(err);
  process.exit(1);
});
