// Running the LVS agent in tests: waiting for reconcile reports, writing defs and states to etcd.
import type { AgentHandle, AgentOptions } from '../../src/lvs/agent.js';
import { runAgent } from '../../src/lvs/agent.js';
import type { ReconcileReport } from '../../src/lvs/agent-reconciler.js';
import { Keys } from '../../src/store/keys.js';
import type { Kv } from '../../src/store/kv.js';
import type { PoolState, ServiceDef } from '../../src/model/types.js';
import type { FakeIpvsadm } from './fake-ipvsadm-helper.js';

export interface TestAgent {
  agent: AgentHandle;
  reports: ReconcileReport[];
  logs: { event: string; fields: Record<string, unknown> }[];
  printed: string[];
  /** Resolves with the first report (after `since`, an index into reports) matching `pred`. */
  next(pred: (r: ReconcileReport) => boolean, since?: number, timeoutMs?: number): Promise<ReconcileReport>;
}

export async function startTestAgent(fake: FakeIpvsadm, source: AgentOptions['source'], over: Partial<AgentOptions> = {}): Promise<TestAgent> {
  const reports: ReconcileReport[] = [];
  const logs: TestAgent['logs'] = [];
  const printed: string[] = [];
  const waiters = new Set<() => boolean>();
  const agent = await runAgent({
    host: 'lvs1001',
    source,
    ipvsadmPath: fake.path,
    ipvsadmEnv: fake.env,
    periodMs: 600_000,
    listen: { port: 0 },
    retryMs: 200,
    log: (event, fields) => logs.push({ event, fields }),
    print: (l) => printed.push(l),
    // Tests never use DNS: hosts without an address in their definition resolve here or not at all.
    resolve: async (host) => ({ 'localhost.test': '127.0.0.1' })[host],
    onReport: (r) => {
      reports.push(r);
      for (const w of waiters) w();
    },
    ...over,
  });
  const next = (pred: (r: ReconcileReport) => boolean, since = 0, timeoutMs = 15_000) =>
    new Promise<ReconcileReport>((resolve, reject) => {
      const check = () => {
        const hit = reports.slice(since).find(pred);
        if (!hit) return false;
        waiters.delete(check);
        clearTimeout(timer);
        resolve(hit);
        return true;
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`no matching reconcile report within ${timeoutMs} ms; got ${JSON.stringify(reports.slice(since).map((r) => [r.reason, r.result, r.error]))}`));
      }, timeoutMs);
      waiters.add(check);
      check();
    });
  return { agent, reports, logs, printed, next };
}

const keys = new Keys();

export async function putJson(kv: Kv, key: string, value: unknown): Promise<number> {
  const r = await kv.txn({ compare: [], success: [{ type: 'put', key, value: JSON.stringify(value) }] });
  return r.revision;
}

export const putDef = (kv: Kv, def: ServiceDef) => putJson(kv, keys.service(def), def);
export const putState = (kv: Kv, state: PoolState) => putJson(kv, keys.state(state), state);
