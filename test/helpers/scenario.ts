// One end-to-end world for incident replays: a private etcd, pools/*.yaml synced with the real
// poolctl, simulated backends, a real poold (in-process Daemon), and the LVS agent watching etcd and
// driving the recording ipvsadm stand-in. Every piece is the production code; only ipvsadm is fake.
import { mkdtempSync, readFileSync, existsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Test } from 'tap';
import { startEtcd, type EtcdInstance } from './etcd.js';
import { runPoolctl, type RunResult } from './poolctl.js';
import { startDaemon, waitFor } from '../daemon/harness.js';
import { fakeIpvsadm, type FakeIpvsadm } from '../lvs/fake-ipvsadm-helper.js';
import { startTestAgent, type TestAgent } from '../lvs/agent-helpers.js';
import { startSimulator, type Simulator } from '../../src/sim/simulator.js';
import type { BackendSpec } from '../../src/sim/behaviours.js';
import type { Daemon } from '../../src/daemon/daemon.js';
import { GatewayKv } from '../../src/store/kv-gateway.js';
import type { PoolState } from '../../src/model/types.js';
import { publishedState } from './published.js';

export interface Scenario {
  etcd: EtcdInstance;
  kv: GatewayKv;
  /** The pools/ directory that was synced. */
  dir: string;
  env: Record<string, string>;
  sim: Simulator;
  daemon: Daemon;
  fake: FakeIpvsadm;
  agent: TestAgent;
  poolctl(args: string[], env?: Record<string, string>, timeoutMs?: number): Promise<RunResult>;
  /** The published effective state of dc/cluster/service (undefined before the first publication). */
  state(path: string): Promise<PoolState | undefined>;
  /** The stand-in's IPVS table for one VIP: real-server address → weight. */
  table(vip: string, port: number): Record<string, number>;
  /** Lines of every ipvsadm -R stdin so far. */
  ipvsLines(): string[];
  /**
   * Waits until ipvsadm was given `line` (the stand-in writes its table before its log line, so a
   * changed table does not yet mean a logged command).
   */
  ipvsLine(line: string, timeoutMs?: number): Promise<boolean>;
  alerts(): Promise<string>;
}

export interface ScenarioOptions {
  /** pools/eqiad.yaml */
  pools: string;
  backends: BackendSpec[];
  observer?: string;
}

interface StandInTable {
  services: { address: string; port: number; servers: { address: string; weight: number }[] }[];
}

export async function startScenario(t: Test, o: ScenarioOptions): Promise<Scenario> {
  const etcd = await startEtcd();
  t.teardown(() => etcd.stop());
  const sim = await startSimulator({ backends: o.backends });
  t.teardown(() => sim.stop());
  const dir = mkdtempSync(join(tmpdir(), 'poold-incident-'));
  writeFileSync(join(dir, 'eqiad.yaml'), o.pools);
  const env = { POOLD_ETCD: etcd.clientUrl };
  const poolctl = (args: string[], extra: Record<string, string> = {}, timeoutMs?: number) =>
    runPoolctl(args, { ...env, ...extra }, { timeoutMs });
  const sync = await poolctl(['sync', dir]);
  if (sync.code !== 0) throw new Error(`poolctl sync failed (${sync.code}): ${sync.stderr}${sync.stdout}`);
  const kv = new GatewayKv({ endpoints: etcd.endpoints });
  t.teardown(() => kv.close());
  const daemon = await startDaemon(etcd.endpoints, { observer: o.observer ?? 'incident-poold' });
  t.teardown(() => daemon.stop());
  const fake = fakeIpvsadm();
  t.teardown(fake.cleanup);
  const agent = await startTestAgent(fake, { kind: 'etcd', etcd: { endpoints: etcd.endpoints } }, { periodMs: 2000 });
  t.teardown(() => agent.agent.stop());
  return {
    etcd, kv, dir, env, sim, daemon, fake, agent, poolctl,
    async state(path) {
      return publishedState(kv, path);
    },
    table(vip, port) {
      if (!existsSync(fake.statePath)) return {};
      const tbl = JSON.parse(readFileSync(fake.statePath, 'utf8')) as StandInTable;
      const svc = tbl.services.find((s) => s.address === vip && s.port === port);
      return Object.fromEntries((svc?.servers ?? []).map((d) => [d.address, d.weight]));
    },
    ipvsLines: () => fake.restoreLines(),
    ipvsLine: async (line, timeoutMs = 5000) => {
      await waitFor(`ipvsadm line ${line}`, async () => fake.restoreLines(), (l) => l.includes(line), timeoutMs);
      return true;
    },
    async alerts() {
      const r = await fetch(`${daemon.url}/alerts`, { signal: AbortSignal.timeout(5000) });
      return r.text();
    },
  };
}

/** Waits until every host of `path` is published up and pooled, and the agent's table has them all. */
export async function waitAllServing(s: Scenario, path: string, hosts: number, vip: string, port: number, timeoutMs = 15_000): Promise<void> {
  await waitFor(`${path}: ${hosts} hosts up and pooled`, () => s.state(path),
    (st) => st !== undefined && Object.values(st.servers).filter((x) => x.up && x.pooled).length === hosts, timeoutMs);
  await waitFor(`agent table for ${vip}:${port} with ${hosts} servers`, async () => s.table(vip, port),
    (tb) => Object.keys(tb).length === hosts, timeoutMs);
}

export { waitFor, sleep } from '../daemon/harness.js';
