// poolctl depool at Wikimedia eqiad's real size, without the daemon: where poolctl's own time goes.
//
//   npx tsc -p tsconfig.json && node dist/bench/cli/depool-eqiad.js --trials 40 --warmup 5 --proc-runs 10
//
// Setup: eqiad's pybal.conf rendered and imported (test/helpers/wmf-site.ts), `poolctl sync` into a
// private etcd (DEFAULT limits), then a published state for every section, all hosts up, in the shape
// the leader writes (what `poolctl depool` reads for its guard; no poold runs, so nothing republishes).
// Each trial depools then repools one host of kubernetes/kubesvc (240 hosts, 44 sections over it).
//
// Figures (ms, p50/p99 over --trials depools after --warmup):
//   in-process   what `poolctl depool HOST` does after its start-up, split: open the context,
//                readInventory, resolve + applyAdminChange (guard + audited write), close;
//   process      `node dist/src/cli/poolctl.js depool HOST --reason bench` wall time (--proc-runs runs,
//                each a real change: repooled in between, untimed).
// --hold keeps etcd running after the trials and prints POOLD_ETCD for profiling by hand, until Ctrl-C.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startEtcd } from '../../test/helpers/etcd.js';
import { prepareWmfSite } from '../../test/helpers/wmf-site.js';
import { openContext } from '../../src/cli/context.js';
import { readInventory, resolveHost } from '../../src/cli/inventory.js';
import { applyAdminChange } from '../../src/cli/admin-change.js';
import { openKv } from '../../src/store/connection.js';
import { Keys } from '../../src/store/keys.js';
import type { EffectiveServer, PoolState, ServiceDef } from '../../src/model/types.js';
import { arg } from '../args.js';

const here = dirname(fileURLToPath(import.meta.url));
const REPO = [resolve(here, '../..'), resolve(here, '../../..')].find((d) => spawnSync('test', ['-f', join(d, 'dist', 'src', 'cli', 'poolctl.js')]).status === 0);
const TRIALS = Number(arg('trials', '40'));
const WARMUP = Number(arg('warmup', '5'));
const PROC_RUNS = Number(arg('proc-runs', '10'));
const HOLD = process.argv.includes('--hold');
const POOL = { dc: 'eqiad', cluster: 'kubernetes', service: 'kubesvc' };

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}
const r1 = (x: number) => Math.round(x * 10) / 10;
const fmt = (xs: number[]) => `p50 ${r1(pct(xs, 50))} p99 ${r1(pct(xs, 99))}`;

/** A state as the leader publishes it with every host checked and up (the size is what matters here). */
function stateFor(s: ServiceDef, revision: number): PoolState {
  const servers: Record<string, EffectiveServer> = {};
  for (const [host, v] of Object.entries(s.servers)) {
    servers[host] = {
      pooledAdmin: 'yes', enabled: true, up: true, pooled: true, weight: typeof v.weight === 'number' ? v.weight : 10,
      reason: 'ok: IdleConnection connected; ProxyFetch HTTP 200', flapping: false, findings: [],
    };
  }
  return { dc: s.dc, name: s.name, pool: s.pool, revision, updatedAt: Date.now(), depoolThreshold: s.depoolThreshold ?? 0.5, servers, pooledDown: [] } as unknown as PoolState;
}

function poolctl(args: string[], env: Record<string, string>): { ms: number; code: number | null; err: string } {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [join(REPO!, 'dist', 'src', 'cli', 'poolctl.js'), ...args], { env: { ...process.env, ...env }, encoding: 'utf8' });
  return { ms: performance.now() - t0, code: r.status, err: r.stderr };
}

async function main(): Promise<void> {
  if (!REPO) throw new Error('dist/src/cli/poolctl.js not found: run npx tsc -p tsconfig.json first');
  const dir = mkdtempSync(join(tmpdir(), 'poolctl-eqiad-bench-'));
  const etcd = await startEtcd();
  try {
    const site = await prepareWmfSite(dir, { run: async (a) => { const r = poolctl(a, {}); return { code: r.code ?? 1, stdout: '', stderr: r.err }; } });
    const env = { POOLD_ETCD: etcd.clientUrl };
    const sync = poolctl(['sync', site.poolsDir, '--yes'], env);
    if (sync.code !== 0) throw new Error(`sync: ${sync.err}`);
    const kv = await openKv({ endpoints: etcd.endpoints }, 'etcd3');
    const keys = new Keys();
    for (const s of site.services) await kv.txn({ compare: [], success: [{ type: 'put', key: keys.state({ dc: s.dc, name: s.name }), value: JSON.stringify(stateFor(s, 1)) }] });
    await kv.close();
    const over = site.services.filter((s) => s.pool.cluster === POOL.cluster && s.pool.service === POOL.service);
    const hosts = Object.keys(over[0]!.servers);
    console.log(`eqiad: ${site.services.length} sections, ${site.hosts} hosts; ${POOL.cluster}/${POOL.service}: ${hosts.length} hosts under ${over.length} sections; sync ${Math.round(sync.ms)} ms`);

    const open: number[] = []; const inv: number[] = []; const apply: number[] = []; const close: number[] = []; const total: number[] = [];
    for (let i = 0; i < WARMUP + TRIALS; i++) {
      const host = hosts[i % hosts.length]!;
      for (const pooled of ['no', 'yes'] as const) {
        const t0 = performance.now();
        const ctx = await openContext({ etcd: etcd.clientUrl });
        const t1 = performance.now();
        const inventory = await readInventory(ctx);
        const t2 = performance.now();
        const r = await applyAdminChange(ctx, inventory, resolveHost(inventory, host), { pooled }, { reason: 'bench', yes: true });
        const t3 = performance.now();
        await ctx.close();
        const t4 = performance.now();
        if (!r.changes.every((c) => c.changed)) throw new Error(`trial ${i}: ${host} pooled=${pooled} changed nothing`);
        if (i < WARMUP || pooled === 'yes') continue;
        open.push(t1 - t0); inv.push(t2 - t1); apply.push(t3 - t2); close.push(t4 - t3); total.push(t4 - t0);
      }
    }
    console.log(`in-process depool (${TRIALS} trials): total ${fmt(total)}; open ${fmt(open)}; readInventory ${fmt(inv)}; resolve+guard+write ${fmt(apply)}; close ${fmt(close)}`);
    const procs: number[] = [];
    for (let i = 0; i < PROC_RUNS; i++) {
      const host = hosts[(i + 7) % hosts.length]!;
      const d = poolctl(['depool', host, '--reason', 'bench'], env);
      if (d.code !== 0) throw new Error(`poolctl depool ${host}: ${d.err}`);
      procs.push(d.ms);
      const p = poolctl(['pool', host, '--reason', 'bench'], env);
      if (p.code !== 0) throw new Error(`poolctl pool ${host}: ${p.err}`);
    }
    if (PROC_RUNS > 0) console.log(`process: poolctl depool (${PROC_RUNS} runs) ${fmt(procs)} ms; node -e 0: ${r1(poolctl(['--version'], env).ms)} ms for --version`);
    console.log(`load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
    if (HOLD) {
      console.log(`holding: POOLD_ETCD=${etcd.clientUrl} ; a kubesvc host: ${hosts[3]}`);
      await new Promise<void>((res) => process.once('SIGINT', () => res()));
    }
  } finally {
    await etcd.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().then(() => process.exit(0), (err: unknown) => {
  console.error(err);
  process.exit(1);
});
