// etcd cluster faults under a running poold and LVS agent (slow: about 75 s; run alone with
// `npx tap test/faults/etcd-cluster.slow.test.ts`). A 3-member cluster loses its leader, then a
// minority member, then every member for 30 s. Throughout:
// - poold (given all three endpoints) keeps serving /pools, and the agent keeps its IPVS table;
// - an operator's writes, retried after errors, all land exactly once (values and audit records);
// - healthy hosts never flap: no depool or repool in poold's answers or in ipvsadm's log;
// - watches resume: a change after recovery reaches poold and the agent.
import t from 'tap';
import { existsSync, readFileSync } from 'node:fs';
import { startEtcdCluster } from '../helpers/etcd.js';
import { poolctl, poolsDir, sleep, startDaemon, text, waitFor } from '../daemon/harness.js';
import { fakeIpvsadm } from '../lvs/fake-ipvsadm-helper.js';
import { startTestAgent } from '../lvs/agent-helpers.js';
import { startSimulator } from '../../src/sim/simulator.js';
import { GatewayKv } from '../../src/store/kv-gateway.js';
import { Keys } from '../../src/store/keys.js';
import { updateHosts } from '../../src/store/write.js';
import { listAudit } from '../../src/store/audit.js';

const PORT = 18160;
const VIP = '10.2.60.1';
const addr = (n: number) => `127.60.0.${n}`;
const host = (n: number) => `fa100${n}.eqiad.wmnet`;
const KEY = (n: number) => `/conftool/v1/pools/eqiad/faults/fasvc/${host(n)}`;
const OUTAGE_MS = 30_000;

const cluster = await startEtcdCluster(3);
t.teardown(() => cluster.stop());
const sim = await startSimulator({ backends: [1, 2, 3, 4].map((n) => ({ address: addr(n), port: PORT, behaviour: 'ok' as const })) });
t.teardown(() => sim.stop());
const dir = poolsDir({
  'eqiad.yaml': `dc: eqiad
services:
  fasvc:
    cluster: faults
    lvs: { ip: ${VIP}, port: ${PORT} }
    depool_threshold: 0.5
    checks: [{ kind: http, path: /_info, timeout: 500ms, interval: 300ms, rise: 1, fall: 2 }]
    servers:
${[1, 2, 3, 4].map((n) => `      ${host(n)}: { weight: 10, address: ${addr(n)} }`).join('\n')}
`,
});
await poolctl(['sync', dir], cluster.endpoints.join(','));
const daemon = await startDaemon(cluster.endpoints, { observer: 'faults-poold' });
t.teardown(() => daemon.stop());
const fake = fakeIpvsadm();
t.teardown(fake.cleanup);
const agent = await startTestAgent(fake, { kind: 'etcd', etcd: { endpoints: cluster.endpoints } }, { periodMs: 2000 });
t.teardown(() => agent.agent.stop());
const kv = new GatewayKv({ endpoints: cluster.endpoints, timeoutMs: 2000 });
t.teardown(() => kv.close());
const keys = new Keys();

const ALL_POOLED = [1, 2, 3, 4].map((n) => `${host(n)}:\tenabled/up/pooled`).sort().join('\n');
const pools = async () => (await text(`${daemon.url}/pools/fasvc_${PORT}`)).split('\n').filter(Boolean).sort().join('\n');

// --- the operator's writer: weights 11, 12, ... on fa1001, each retried until it lands ---
const written: number[] = [];
let writerErrors = 0;
let writing = true;
const writer = (async () => {
  for (let v = 11; writing && v < 11 + 2000; v++) {
    // Bounded: 200 attempts (with a 250 ms pause after each error) per value.
    for (let attempt = 0; attempt < 200; attempt++) {
      try {
        await updateHosts(kv, [{ key: KEY(1), patch: { weight: v } }], { keys, actor: 'fault-writer', reason: `w${v}` });
        written.push(v);
        break;
      } catch {
        // etcd (or the member we asked) is away: the same write again, as an operator would.
        writerErrors++;
        await sleep(250);
      }
    }
    await sleep(150);
  }
})();

// --- the no-flap sampler: poold's /pools (hosts 1-3 stay healthy) and the agent's table ---
const flaps: string[] = [];
let sampling = true;
let samples = 0;
const sampler = (async () => {
  while (sampling) {
    try {
      const body = await text(`${daemon.url}/pools/fasvc_${PORT}`);
      samples++;
      for (const n of [1, 2, 3]) {
        if (!body.includes(`${host(n)}:\tenabled/up/pooled`)) flaps.push(`poold: ${host(n)} not serving at ${new Date().toISOString()}: ${JSON.stringify(body)}`);
      }
    } catch (err) {
      flaps.push(`poold did not answer /pools: ${String(err)}`);
    }
    await sleep(100);
  }
})();

/** The stand-in's table for our VIP: real-server address → weight. */
function weights(): Record<string, number> {
  if (!existsSync(fake.statePath)) return {};
  const tbl = JSON.parse(readFileSync(fake.statePath, 'utf8')) as { services: { address: string; servers: { address: string; weight: number }[] }[] };
  return Object.fromEntries((tbl.services.find((x) => x.address === VIP)?.servers ?? []).map((d) => [d.address, d.weight]));
}
const agentTable = () => Object.keys(weights()).sort();

t.test('steady state: all four serving in poold and IPVS', async (t) => {
  t.equal(await waitFor('all pooled', pools, (b) => b === ALL_POOLED, 20_000), ALL_POOLED);
  await waitFor('agent table', async () => agentTable(), (x) => x.length === 4, 10_000);
  t.same(agentTable(), [1, 2, 3, 4].map(addr));
});

t.test('kill the leader member: service goes on', async (t) => {
  const leader = await cluster.leaderIndex();
  await cluster.members[leader].kill();
  await sleep(5000);
  t.equal(await pools(), ALL_POOLED, 'poold serves all four');
  const before = written.length;
  const after = await waitFor('writes land again', async () => written.length, (n) => n > before + 3, 15_000);
  t.ok(after > before + 3, `writes land without the old leader (${after} so far)`);
  await cluster.members[leader].restart();
});

t.test('kill a minority member (a follower): service goes on', async (t) => {
  const leader = await cluster.leaderIndex();
  const follower = (leader + 1) % 3;
  await cluster.members[follower].kill();
  await sleep(4000);
  t.equal(await pools(), ALL_POOLED);
  const before = written.length;
  const after = await waitFor('writes land', async () => written.length, (n) => n > before + 3, 15_000);
  t.ok(after > before + 3, `writes land without the follower (${after} so far)`);
  await cluster.members[follower].restart();
});

t.test(`every member down for ${OUTAGE_MS / 1000} s: poold and the agent keep serving the last state`, async (t) => {
  await Promise.all(cluster.members.map((m) => m.kill()));
  const tableBefore = agentTable();
  const until = Date.now() + OUTAGE_MS;
  let checks = 0;
  while (Date.now() < until) {
    t.equal(await pools(), ALL_POOLED, 'poold still serves every host');
    t.same(agentTable(), tableBefore, 'IPVS table untouched');
    checks++;
    await sleep(3000);
  }
  t.ok(checks >= 8, `checked ${checks} times during the outage`);
  t.match(await text(`${daemon.url}/alerts`), /stale/, '/alerts says the state is stale');
  await Promise.all(cluster.members.map((m) => m.restart()));
  await waitFor('stale cleared', () => text(`${daemon.url}/alerts`), (a) => a === 'OK - All pools are healthy', 30_000, 200);
});

t.test('after recovery: a change is seen by poold and the agent (watches resumed)', async (t) => {
  const r = await poolctl(['depool', 'fa1004', '--reason', 'after recovery'], cluster.endpoints.join(','));
  t.equal(r.code, 0);
  await waitFor('poold sees the depool', () => text(`${daemon.url}/pools/fasvc_${PORT}/${host(4)}`), (b) => b === 'disabled/up/not pooled\n', 10_000);
  await waitFor('agent removes it', async () => agentTable(), (x) => !x.includes(addr(4)), 10_000);
  // Weight changes flow again too: the writer's latest value reaches IPVS.
  const last = written[written.length - 1];
  await waitFor('the writer\'s latest weight in IPVS', async () => weights()[addr(1)], (w) => w >= last, 10_000);
});

t.test('no write lost or doubled; nothing flapped', async (t) => {
  writing = false;
  await writer;
  sampling = false;
  await sampler;
  t.ok(written.length >= 50, `${written.length} writes landed (${writerErrors} errors retried)`);
  t.ok(writerErrors > 0, 'some writes did fail and were retried (the outage was real)');
  const final = JSON.parse((await kv.get(KEY(1)))!.value) as { weight: number };
  t.equal(final.weight, written[written.length - 1], 'the final value is the last write');
  const recs = (await listAudit(kv, keys, { limit: 5000, keyPrefix: KEY(1), actor: 'fault-writer' })).reverse();
  t.same(recs.map((r) => (r.after as { weight: number }).weight), written, 'one audit record per write, in order: none lost, none doubled');

  t.same(flaps, [], `no healthy host ever left poold's pool (${samples} samples)`);
  const removals = fake.restoreLines().filter((l) => l.startsWith('-d '));
  t.same(removals, [`-d -t ${VIP}:${PORT} -r ${addr(4)}`], 'the only ipvsadm -d is the operator\'s depool');
  const adds = fake.restoreLines().filter((l) => l.startsWith('-a '));
  t.equal(adds.length, 4, 'each real server added once, at start: no repool churn');
});
