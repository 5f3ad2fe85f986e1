// `poolctl depool` → visible in a running poold's `/pools/<pool>/<host>`. ARCHITECTURE.md §13 target: p99 ≤ 25 ms
// (PyBal polls its config every 1 s). Also `poolctl depool` wall time as a process (target median ≤ 190 ms).
//
//   npx tsc -p tsconfig.json && node dist/bench/daemon/depool-visible.js [--trials 200] [--warmup 20] [--cli-runs 20] [--json out.json]
//
// Setup: a private etcd (test/helpers/etcd.ts), simulated backends for a 10-host pool (all ok, 1 s
// checks), synced as `poolctl sync` does, and poold as a real child process (dist/src/daemon/poold.js).
//
// Latency trial, in this process so the CLI's process start is not counted: t0, then exactly what
// `poolctl depool <host>` does after start-up — open the CLI context (gateway Kv), read the inventory,
// resolve the host, applyAdminChange (threshold guard + one audited atomic write) — then poll
// `GET /pools/<pool>/<host>` on a keep-alive connection until it reads `disabled/...`. Segments:
//   written  t0 → applyAdminChange resolved (the CLI's work, etcd commit included);
//   visible  t0 → first poll answering `disabled/` (the number the target is about);
//   poold    written → visible: poold's share (watch, coordinator, state write, watch, view, poll).
// The path in between is poold's: admin watch → leader's coordinator → state published to etcd →
// state watch → view. Between trials the host is repooled (untimed) and we wait until it is visible.
//
// CLI wall time: hyperfine (when installed) runs `node dist/src/cli/poolctl.js depool <host>` with a
// `pool` as --prepare, so every timed run is a real change; otherwise our own timer, same commands.
// Warm-up is ours in both cases (pool/depool pairs), never hyperfine's --warmup (see below).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { startEtcd } from '../../test/helpers/etcd.js';
import { startSimulator } from '../../src/sim/simulator.js';
import { syncAtStart } from '../../src/daemon/sync-at-start.js';
import { Keys } from '../../src/store/keys.js';
import { sectionName } from '../../src/model/types.js';
import { openContext } from '../../src/cli/context.js';
import { readInventory, resolveHost } from '../../src/cli/inventory.js';
import { arg } from '../args.js';
import { applyAdminChange } from '../../src/cli/admin-change.js';

const here = dirname(fileURLToPath(import.meta.url));
// Works from bench/daemon (source, via tap's loader) and from dist/bench/daemon (built).
const DIST = [resolve(here, '../../dist'), resolve(here, '../..')].find((d) => {
  try {
    readFileSync(join(d, 'src', 'daemon', 'poold.js'));
    return true;
  } catch {
    return false;
  }
});
if (DIST === undefined) throw new Error('dist/src/daemon/poold.js is missing: run npx tsc -p tsconfig.json first');
const POOLD = join(DIST, 'src', 'daemon', 'poold.js');
const POOLCTL = join(DIST, 'src', 'cli', 'poolctl.js');

const TRIALS = Number(arg('trials', '200'));
const WARMUP = Number(arg('warmup', '20'));
const CLI_RUNS = Number(arg('cli-runs', '20'));
const JSON_OUT = arg('json', '');

const PORT = 8089;
/** The LVS service's PyBal section name (`<service>_<port>`), which /pools/<section> serves. */
const SECTION = sectionName('dvsvc', PORT, 'tcp');
const HOSTS = Array.from({ length: 10 }, (_, i) => `dv${1001 + i}.eqiad.wmnet`);
const ADDR = HOSTS.map((_, i) => `127.0.69.${i + 1}`);

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
}
const summary = (xs: number[]) => ({
  n: xs.length,
  p50: +pct(xs, 50).toFixed(2), p90: +pct(xs, 90).toFixed(2), p99: +pct(xs, 99).toFixed(2),
  max: +Math.max(...xs).toFixed(2), mean: +(xs.reduce((a, b) => a + b, 0) / xs.length).toFixed(2),
});

const agent = new Agent({ keepAlive: true, maxSockets: 1 });
function get(url: string): Promise<string> {
  return new Promise((res, rej) => {
    const req = request(url, { agent }, (r) => {
      let body = '';
      r.setEncoding('utf8');
      r.on('data', (c: string) => (body += c));
      r.on('end', () => res(body));
    });
    req.on('error', rej);
    req.end();
  });
}

async function until(url: string, prefix: string, timeoutMs = 5000): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const body = await get(url);
    if (body.startsWith(prefix)) return performance.now();
    if (performance.now() > deadline) throw new Error(`${url} did not show '${prefix}' within ${timeoutMs} ms (last: ${JSON.stringify(body)})`);
    // Keep polling light: 0.5 ms between reads bounds the resolution without hogging poold's core.
    await new Promise((r) => setTimeout(r, 0.5));
  }
}

async function main(): Promise<void> {
  const etcd = await startEtcd();
  const sim = await startSimulator({ backends: ADDR.map((address) => ({ address, port: PORT, behaviour: 'ok' as const })) });
  const dir = mkdtempSync(join(tmpdir(), 'poold-bench-dv-'));
  const servers = HOSTS.map((h, i) => `      ${h}: { weight: 10, address: ${ADDR[i]} }`).join('\n');
  writeFileSync(join(dir, 'eqiad.yaml'), `dc: eqiad
services:
  dvsvc:
    cluster: dvc
    lvs: { ip: 10.9.69.1, port: ${PORT} }
    depool_threshold: 0.5
    # Generous timeout and fall 2: on a loaded machine a starved check must not depool a host, or
    # the threshold guard could refuse the benchmark's own depools.
    checks: [{ kind: http, path: /, interval: 1s, timeout: 3s, rise: 1, fall: 2 }]
    servers:
${servers}
`);
  await syncAtStart(dir, { endpoints: etcd.endpoints }, new Keys(), pino({ level: 'warn' }, pino.destination(2)));

  let child: ChildProcess | undefined;
  const cleanup = async () => {
    child?.kill('SIGTERM');
    await sim.stop();
    await etcd.stop();
  };
  try {
    child = spawn(process.execPath, [POOLD, '--etcd', etcd.clientUrl, '--observer', 'bench', '--listen', '127.0.0.1:0', '--lease-ttl', '5', '--log-level', 'info'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout!.setEncoding('utf8').on('data', (c: string) => (out += c));
    const started = Date.now();
    let base = '';
    while (base === '') {
      const m = /"api":"(http:\/\/[^"]+)"[^\n]*"poold ready"/.exec(out);
      if (m) base = m[1]!;
      else if (Date.now() - started > 20_000) throw new Error(`poold did not start: ${out}`);
      else await new Promise((r) => setTimeout(r, 50));
    }
    for (const h of HOSTS) await until(`${base}/pools/${SECTION}/${h}`, 'enabled/up/pooled', 20_000);

    const opts = { etcd: etcd.clientUrl };
    const written: number[] = [];
    const visible: number[] = [];
    const poold: number[] = [];
    for (let i = 0; i < WARMUP + TRIALS; i++) {
      const host = HOSTS[i % HOSTS.length]!;
      const url = `${base}/pools/${SECTION}/${host}`;
      const t0 = performance.now();
      const ctx = await openContext(opts);
      let tw: number;
      try {
        const inv = await readInventory(ctx);
        await applyAdminChange(ctx, inv, resolveHost(inv, host), { pooled: 'no' }, { reason: 'bench', yes: true });
        tw = performance.now();
      } finally {
        await ctx.close();
      }
      const tv = await until(url, 'disabled/');
      if (i >= WARMUP) {
        written.push(tw - t0);
        visible.push(tv - t0);
        poold.push(tv - tw);
      }
      // Repool, untimed, and wait until it is visible so the next trial starts from a settled pool.
      const c2 = await openContext(opts);
      try {
        const inv = await readInventory(c2);
        await applyAdminChange(c2, inv, resolveHost(inv, host), { pooled: 'yes' }, { reason: 'bench', yes: true });
      } finally {
        await c2.close();
      }
      await until(url, 'enabled/');
    }

    // poolctl depool as a process, as an operator runs it.
    const env = { ...process.env, POOLD_ETCD: etcd.clientUrl, USER: 'bench' };
    const host = HOSTS[0]!;
    const depoolCmd = `${process.execPath} ${POOLCTL} depool ${host} --reason bench`;
    const poolCmd = `${process.execPath} ${POOLCTL} pool ${host} --reason bench`;
    let cli: { tool: string; medianMs: number; meanMs: number; minMs: number; maxMs: number; runs: number };
    // Untimed warm-up rounds of our own, each a pool then a depool, so a failing command shows its
    // output here rather than as hyperfine's exit code. hyperfine's own --warmup is not used: some
    // versions run warm-up runs without --prepare, so a second depool of an already depooled host
    // (exit 3) aborted the benchmark. Every timed run below is a `pool` (prepare) then a `depool`.
    for (const c of [poolCmd, depoolCmd, poolCmd, depoolCmd, poolCmd]) {
      const r = spawnSync('/bin/sh', ['-c', c], { env, encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`${c} exited ${r.status}: ${r.stderr}${r.stdout}`);
    }
    const hf = spawnSync('hyperfine', ['--version'], { encoding: 'utf8' });
    if (hf.status === 0) {
      const exportFile = join(dir, 'hyperfine.json');
      const r = spawnSync('hyperfine', ['--runs', String(CLI_RUNS), '--warmup', '0', '--prepare', poolCmd, '--export-json', exportFile, '--style', 'none', depoolCmd], { env, encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`hyperfine exited ${r.status}: ${r.stderr}${r.stdout}`);
      const res = (JSON.parse(readFileSync(exportFile, 'utf8')) as { results: Array<{ median: number; mean: number; min: number; max: number; times: number[] }> }).results[0]!;
      cli = { tool: hf.stdout.trim(), medianMs: +(res.median * 1000).toFixed(1), meanMs: +(res.mean * 1000).toFixed(1), minMs: +(res.min * 1000).toFixed(1), maxMs: +(res.max * 1000).toFixed(1), runs: res.times.length };
    } else {
      const times: number[] = [];
      for (let i = 0; i < CLI_RUNS; i++) {
        spawnSync(process.execPath, [POOLCTL, 'pool', host, '--reason', 'bench'], { env });
        const t0 = performance.now();
        const r = spawnSync(process.execPath, [POOLCTL, 'depool', host, '--reason', 'bench'], { env });
        times.push(performance.now() - t0);
        if (r.status !== 0) throw new Error(`poolctl depool failed: ${String(r.stderr)}`);
      }
      const s = summary(times);
      cli = { tool: 'own timer (hyperfine not installed)', medianMs: s.p50, meanMs: s.mean, minMs: +Math.min(...times).toFixed(1), maxMs: s.max, runs: times.length };
    }

    const result = {
      trials: TRIALS, warmup: WARMUP, loadavg: loadavg().map((x) => +x.toFixed(2)), node: process.version,
      depoolToVisibleMs: summary(visible),
      depoolWrittenMs: summary(written),
      writtenToVisibleMs: summary(poold),
      poolctlDepoolWallMs: cli,
      peer: "conftool's confctl is not installable here (no Debian package or PyPI access); ARCHITECTURE.md §13 quotes its median ≈ 380 ms",
    };
    process.stdout.write(JSON.stringify(result, null, 2) + '\n');
    if (JSON_OUT) writeFileSync(JSON_OUT, JSON.stringify(result, null, 2));
  } finally {
    await cleanup();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
