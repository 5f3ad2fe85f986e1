// LVS agent latency: from a change written to etcd to the agent having applied it with ipvsadm -R
// (the time the recording stand-in logged the applied restore). ARCHITECTURE.md §13 target: p99 ≤ 50 ms.
//
//   npm run build && node dist/bench/lvs/agent-latency.js [--mode state|depool] [--source etcd|poold]
//                                                         [--trials 200] [--warmup 20] [--gap-ms 0] [--json out.json]
//
// --mode state   (default) the segment the agent owns: the leader's PoolState write in etcd →
//                etcd watch → reconcile (diff against the cached table) → ipvsadm -R applied.
// --mode depool  the whole path: a conftool depool written with the store call poolctl uses
//                (updateHosts) → the poold daemon publishes the new PoolState → agent → ipvsadm -R.
//                The daemon runs as a child process (dist/src/daemon/poold.js), as in production,
//                with a command check (/bin/true) per host so every host is up.
// --source etcd  (default) the agent watches etcd.
// --source poold the agent reads poold's API: it follows /v1/events?detail=1 (a `pool` event that
//                carries the pool's detail; no GET) with its default 1 s polling as the fallback.
//                --no-inline: events without the detail, each followed by a GET of that pool (as before). Needs --mode depool (the
//                daemon is what serves the API). The summary says whether the stream carried it.
//                --no-stream: polling only (every 1 s), the agent as it was before the stream.
//
// Each trial flips one host of a 10-host pool (depool, then repool the next trial). Per trial we
// record, from the write's start (t0):
//   applied   the stand-in's log time after it applied the -R input (what the brief measures);
//   reconcile when the agent started the reconcile (etcd commit + watch delivery + JSON decoding);
//   received  when `ipvsadm -R` had all its commands: ipvsadm is fronted by stamp-front.c (a small
//             C program that starts as fast as /sbin/ipvsadm; stamping-ipvsadm.sh without cc),
//             which stamps the time, then runs the stand-in on the same input;
//   standin   applied - received: the stand-in's own cost, mostly a Node process start
//             (~80-100 ms on an idle machine) that a real ipvsadm does not have.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startEtcd } from '../../test/helpers/etcd.js';
import { runAgent } from '../../src/lvs/agent.js';
import type { ReconcileReport } from '../../src/lvs/agent-reconciler.js';
import { openKv } from '../../src/store/connection.js';
import { Keys } from '../../src/store/keys.js';
import { serializeConftoolValue } from '../../src/store/conftool-value.js';
import { updateHosts } from '../../src/store/write.js';
import { readAssembledStates } from '../../src/store/state-layout.js';
import { decodeAssembledState } from '../../src/store/decode.js';
import type { Kv } from '../../src/store/kv.js';
import type { EffectiveServer, PoolState, ServiceDef } from '../../src/model/types.js';
import { arg } from '../args.js';
import { poolOf } from '../../src/model/types.js';

const here = dirname(fileURLToPath(import.meta.url));
// Works from bench/lvs (source) and from dist/bench/lvs (built).
const FAKE = [resolve(here, '../../test/fixtures/fake-ipvsadm'), resolve(here, '../../../test/fixtures/fake-ipvsadm')].find((p) => {
  try {
    readFileSync(p);
    return true;
  } catch {
    return false;
  }
});


const MODE = arg('mode', 'state');
const SOURCE = arg('source', 'etcd');
/** --no-stream: the poold source polls only (every 1 s), as before the event stream: the comparison. */
const STREAM = !process.argv.includes('--no-stream');
/** --no-inline: the poold source re-fetches the pool on each event instead of taking the detail it carries. */
const INLINE = !process.argv.includes('--no-inline');
const TRIALS = Number(arg('trials', '200'));
const WARMUP = Number(arg('warmup', '20'));
const JSON_OUT = arg('json', '');
/**
 * --gap-ms N: idle time between trials (default 0: back to back). Back to back, a depool is written
 * the moment the previous one was applied (about three a second, each starting two Node processes for
 * the ipvsadm stand-in); operators' depools are not that dense, so a gap measures one depool alone.
 */
const GAP_MS = Number(arg('gap-ms', '0'));
const HOSTS = Array.from({ length: 10 }, (_, i) => `bench${1001 + i}.eqiad.wmnet`);
const wall = () => performance.timeOrigin + performance.now();

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

function stats(xs: number[]) {
  const r = (x: number) => Math.round(x * 10) / 10;
  return { p50: r(pct(xs, 50)), p90: r(pct(xs, 90)), p99: r(pct(xs, 99)), max: r(Math.max(...xs)), n: xs.length };
}

interface LogEntry {
  argv: string[];
  stdin: string;
  startedAt: number;
  at: number;
}

/**
 * The ipvsadm the agent runs: bench/lvs/stamp-front.c compiled with cc when possible (starts in
 * well under 1 ms, like /sbin/ipvsadm), else the shell version (a few ms: sh, cat and date forks).
 */
function stampingFront(fake: string, dir: string): string {
  const src = fake.replace(/test\/fixtures\/fake-ipvsadm$/, 'bench/lvs/stamp-front.c');
  const bin = join(dir, 'stamp-front');
  const cc = spawnSync('cc', ['-O2', '-Wall', '-o', bin, src], { encoding: 'utf8' });
  if (cc.status === 0) return bin;
  console.error(`cc failed (${cc.error?.message ?? cc.stderr.trim()}); using the shell front, which adds a few ms to "received"`);
  return src.replace(/stamp-front\.c$/, 'stamping-ipvsadm.sh');
}

async function waitFor(cond: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** poold as built (dist/src/daemon/poold.js); resolves with its API URL (from its "poold ready" line). */
async function startDaemon(etcdUrl: string): Promise<{ child: ChildProcess; url: string }> {
  const entry = [resolve(here, '../../src/daemon/poold.js'), resolve(here, '../../dist/src/daemon/poold.js')].find((p) => {
    try {
      readFileSync(p);
      return true;
    } catch {
      return false;
    }
  });
  if (!entry) throw new Error('dist/src/daemon/poold.js not found: run npm run build first');
  const child = spawn(process.execPath, [entry, '--etcd', etcdUrl, '--listen', '127.0.0.1:0', '--lease-ttl', '2', '--observer', 'bench', '--log-level', 'info'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  // Keep the head (the ready line) and the tail (why it died); drop the rest as it comes.
  const keep = (b: Buffer) => {
    out += b.toString();
    if (out.length > 20_000) out = `${out.slice(0, 4000)}\n...\n${out.slice(-4000)}`;
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  child.on('exit', (code) => {
    if (code !== 0 && code !== null) process.stderr.write(`poold exited ${code}: ${out.slice(-2000)}\n`);
  });
  // Never leave the daemon behind, whatever happens to the bench.
  process.on('exit', () => child.kill('SIGKILL'));
  let url = '';
  await waitFor(async () => {
    if (child.exitCode !== null) throw new Error(`poold exited ${child.exitCode}: ${out.slice(-2000)}`);
    url = /"api":"(http:\/\/[^"]+)"[^\n]*"poold ready"|"poold ready"[^\n]*"api":"(http:\/\/[^"]+)"/.exec(out)?.slice(1).find(Boolean) ?? '';
    return url !== '';
  }, 30_000, 'poold to be ready');
  return { child, url };
}

async function main(): Promise<void> {
  if (!FAKE) throw new Error('test/fixtures/fake-ipvsadm not found next to the bench');
  if (MODE !== 'state' && MODE !== 'depool') throw new Error(`--mode ${MODE}: expected state or depool`);
  if (SOURCE !== 'etcd' && SOURCE !== 'poold') throw new Error(`--source ${SOURCE}: expected etcd or poold`);
  if (SOURCE === 'poold' && MODE !== 'depool') throw new Error('--source poold needs --mode depool (the poold daemon serves the API the agent reads)');
  const dir = mkdtempSync(join(tmpdir(), 'poold-lvs-bench-'));
  const env = { FAKE_IPVSADM_STATE: join(dir, 'ipvs.json'), FAKE_IPVSADM_LOG: join(dir, 'ipvsadm.log'), FAKE_IPVSADM_BIN: FAKE, STAMP_LOG: join(dir, 'stamps.log') };
  const FRONT = stampingFront(FAKE, dir);
  const stamps = (): number[] => readFileSync(env.STAMP_LOG, 'utf8').trim().split('\n').map((l) => Number(BigInt(l) / 1000n) / 1000);
  const readLog = (): LogEntry[] => readFileSync(env.FAKE_IPVSADM_LOG, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as LogEntry);

  // Reference: the stand-in alone, as a process start (what a real ipvsadm would not cost).
  const alone: number[] = [];
  for (let i = 0; i < 20; i++) {
    const t = wall();
    spawnSync(FAKE, ['-S', '-n'], { env: { ...process.env, ...env } });
    alone.push(wall() - t);
  }

  const etcd = await startEtcd();
  const keys = new Keys();
  const kv: Kv = await openKv({ endpoints: etcd.endpoints }, 'etcd3');
  const def: ServiceDef = {
    dc: 'eqiad', name: 'web_80', catalog: 'web', pool: { cluster: 'bench', service: 'web' },
    lvs: { ip: '10.2.2.50', port: 80, protocol: 'tcp', scheduler: 'wrr', method: 'g' },
    depoolThreshold: 0.5, checks: [], flapping: { transitions: 6, windowMs: 600_000 }, monitoring: {},
    servers: Object.fromEntries(HOSTS.map((h, i) => [h, { weight: 10, address: `10.64.50.${i + 1}` }])),
  };
  let revision = 1;
  const server = (pooled: boolean): EffectiveServer => ({
    pooledAdmin: pooled ? 'yes' : 'no', enabled: pooled, up: true, pooled, weight: 10, reason: 'ok', flapping: false, findings: [],
  });
  const state = (depooled: string | undefined): PoolState => ({
    dc: def.dc, name: def.name, pool: def.pool, revision: revision++, updatedAt: Date.now(), depoolThreshold: 0.5, pooledDown: [],
    servers: Object.fromEntries(HOSTS.map((h) => [h, server(h !== depooled)])),
  });
  const put = (key: string, value: unknown) => kv.txn({ compare: [], success: [{ type: 'put', key, value: JSON.stringify(value) }] });
  let daemon: ChildProcess | undefined;
  let daemonUrl = '';
  // The write under test: the leader's state (mode state) or an operator's depool (mode depool).
  let write: (host: string, depool: boolean) => Promise<unknown>;
  if (MODE === 'state') {
    await put(keys.service(def), def);
    await put(keys.state(def), state(undefined));
    write = () => put(keys.state(def), state(depooled));
  } else {
    def.checks = [{ kind: 'command', name: 'true', argv: ['/bin/true'], timeoutMs: 1000, intervalMs: 1000, rise: 1, fall: 1 }];
    await put(keys.service(def), def);
    for (const h of HOSTS) {
      await kv.txn({ compare: [], success: [{ type: 'put', key: keys.host({ ...poolOf(def), host: h }), value: serializeConftoolValue({ weight: 10, pooled: 'yes' }) }] });
    }
    ({ child: daemon, url: daemonUrl } = await startDaemon(etcd.clientUrl));
    await waitFor(async () => {
      // Header and server keys, as every reader puts them together (store/state-layout.ts).
      const [a] = await readAssembledStates(kv, keys, [def]);
      const st = a === undefined ? undefined : decodeAssembledState(a);
      return st !== undefined && HOSTS.every((h) => st.servers[h]?.pooled === true);
    }, 30_000, 'poold to publish a state with every host pooled');
    // poolctl's write path: the JSON-gateway Kv and the store's CAS updateHosts (with its audit record).
    const cliKv = await openKv({ endpoints: etcd.endpoints });
    write = (host, depool) =>
      updateHosts(cliKv, [{ key: keys.host({ ...poolOf(def), host }), patch: { pooled: depool ? 'no' : 'yes' } }], { keys, actor: 'bench', reason: 'lvs latency bench' });
  }

  let waiter: ((r: ReconcileReport) => void) | undefined;
  const agent = await runAgent({
    host: 'lvs-bench',
    services: ['eqiad/web_80'],
    source: SOURCE === 'poold' ? { kind: 'poold', url: daemonUrl, stream: STREAM, inlineDetail: INLINE } : { kind: 'etcd', etcd: { endpoints: etcd.endpoints } },
    ipvsadmPath: FRONT,
    ipvsadmEnv: env,
    periodMs: 600_000, // no periodic reconcile in the way of the measurement
    listen: false,
    log: () => undefined,
    onReport: (r) => waiter?.(r),
  });

  const applied: number[] = [];
  const reconcile: number[] = [];
  const received: number[] = [];
  const standin: number[] = [];
  let depooled: string | undefined;
  for (let i = 0; i < WARMUP + TRIALS; i++) {
    // Alternate: depool host k, then repool it.
    const host = HOSTS[Math.floor(i / 2) % HOSTS.length]!;
    depooled = depooled === undefined ? host : undefined;
    const expected = depooled !== undefined ? `-d -t 10.2.2.50:80 -r ${def.servers[host]!.address}\n` : `-a -t 10.2.2.50:80 -r ${def.servers[host]!.address} -w 10\n`;
    const done = new Promise<ReconcileReport>((res, rej) => {
      const timer = setTimeout(() => rej(new Error(`trial ${i}: no apply within 10 s`)), 10_000);
      waiter = (r) => {
        if (r.result === 'applied' || r.result === 'error') {
          clearTimeout(timer);
          res(r);
        }
      };
    });
    if (GAP_MS > 0) await new Promise((r) => setTimeout(r, GAP_MS));
    const t0 = wall();
    await write(host, depooled !== undefined);
    const rep = await done;
    if (rep.result !== 'applied') throw new Error(`trial ${i}: ${rep.error}`);
    const entry = readLog().filter((e) => e.argv[0] === '-R').at(-1)!;
    if (entry.stdin !== expected) throw new Error(`trial ${i}: applied ${JSON.stringify(entry.stdin)}, expected ${JSON.stringify(expected)}`);
    if (i < WARMUP) continue;
    const stamp = stamps().at(-1)!;
    applied.push(entry.at - t0);
    received.push(stamp - t0);
    reconcile.push(rep.startedAt - t0);
    standin.push(entry.at - stamp);
  }
  const sourceDetail = agent.status().source.detail;
  await agent.stop();
  daemon?.kill('SIGTERM');
  await kv.close();
  await etcd.stop();
  rmSync(dir, { recursive: true, force: true });

  const result = {
    mode: MODE,
    source: SOURCE === 'poold' && !STREAM ? 'poold (polling only)' : SOURCE === 'poold' && !INLINE ? 'poold (re-fetch on each event)' : SOURCE,
    trials: TRIALS,
    gapMs: GAP_MS,
    loadavg: loadavg().map((x) => Math.round(x * 100) / 100),
    node: process.version,
    appliedMs: stats(applied),
    receivedMs: stats(received),
    reconcileStartMs: stats(reconcile),
    standinMs: stats(standin),
    standinAloneMs: stats(alone),
    ...(sourceDetail ? { sourceDetail } : {}),
  };
  console.log(`ipvsadm front: ${FRONT.endsWith('.sh') ? 'shell' : 'compiled'}`);
  console.log(`LVS agent latency, mode=${MODE}, source=${result.source}, ${TRIALS} trials (after ${WARMUP} warm-up${GAP_MS > 0 ? `, ${GAP_MS} ms apart` : ', back to back'}), ms from the etcd write; load average ${result.loadavg.join(' ')}:`);
  console.log(`  applied (stand-in logged -R applied)  p50 ${result.appliedMs.p50}  p90 ${result.appliedMs.p90}  p99 ${result.appliedMs.p99}  max ${result.appliedMs.max}`);
  console.log(`  received (ipvsadm -R had its input)   p50 ${result.receivedMs.p50}  p90 ${result.receivedMs.p90}  p99 ${result.receivedMs.p99}  max ${result.receivedMs.max}`);
  console.log(`    of which: reconcile started         p50 ${result.reconcileStartMs.p50}  p90 ${result.reconcileStartMs.p90}  p99 ${result.reconcileStartMs.p99}  max ${result.reconcileStartMs.max}`);
  console.log(`  stand-in's own run (Node start-up)    p50 ${result.standinMs.p50}  p90 ${result.standinMs.p90}  p99 ${result.standinMs.p99}  max ${result.standinMs.max}`);
  console.log(`  stand-in alone, spawnSync -S -n       p50 ${result.standinAloneMs.p50}  p99 ${result.standinAloneMs.p99}`);
  if (sourceDetail) console.log(`  poold source at the end: ${JSON.stringify(sourceDetail)}`);
  if (JSON_OUT) writeFileSync(JSON_OUT, `${JSON.stringify(result, null, 2)}\n`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
