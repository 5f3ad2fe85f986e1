// Issue 14: the daemon enforces the depool threshold on admin depools from ANY writer. Real etcd, a
// real poold (in-process Daemon), real simulated backends. 7 `pooled: no` values written straight to
// etcd (no poolctl, no audit record) for a 10-host pool at threshold .5 must leave 5 of 10 pooled,
// with /alerts CRITICAL naming the held hosts and "unknown writer"; a poolctl write of a held host
// names its actor (found by the write's revision); `poolctl depool --force` releases one host while
// the others stay held; repooling makes room and releases the rest; a stale force marker is deleted.
import t from 'tap';
import { Etcd3 } from 'etcd3';
import { startEtcd } from '../helpers/etcd.js';
import { startSimulator } from '../../src/sim/simulator.js';
import { lines, poolctl, poolsDir, serviceYaml, startDaemon, text, waitFor } from './harness.js';
import { publishedState } from '../helpers/published.js';
import { GatewayKv } from '../../src/store/kv-gateway.js';

const PORT = 8093;
const N = 10;
const A = Array.from({ length: N }, (_, i) => `127.0.64.${i + 1}`);
const H = Array.from({ length: N }, (_, i) => `ah${1001 + i}.eqiad.wmnet`);
const SECTION = 'ahsvc_8093';
const confKey = (h: string) => `/conftool/v1/pools/eqiad/ahc/ahsvc/${h}`;

const etcd = await startEtcd();
t.teardown(() => etcd.stop());
const sim = await startSimulator({ backends: A.map((address) => ({ address, port: PORT, behaviour: 'ok' as const })) });
t.teardown(() => sim.stop());
const dir = poolsDir({
  'eqiad.yaml': `dc: eqiad\nservices:\n${serviceYaml({ name: 'ahsvc', cluster: 'ahc', ip: '10.9.64.1', port: PORT, threshold: 0.5, servers: Object.fromEntries(H.map((h, i) => [h, A[i]])) })}`,
});
await poolctl(['sync', dir], etcd.clientUrl);
let d = await startDaemon(etcd.endpoints, { observer: 'ah-a' });
t.teardown(() => d.stop());
const client = new Etcd3({ hosts: etcd.endpoints });
t.teardown(() => client.close());
const gkv = new GatewayKv({ endpoints: etcd.endpoints });
t.teardown(() => gkv.close());

const alerts = () => text(`${d.url}/alerts`);
/** Hosts pooled in the PUBLISHED state (what LVS agents apply), read from etcd. */
async function publishedPooled(): Promise<string[]> {
  const s = await publishedState(gkv, `eqiad/${SECTION}`);
  if (s === undefined) return [];
  return Object.keys(s.servers).filter((h) => s.servers[h]!.pooled).sort();
}
interface HostDetail { host: string; admin: { pooled: string }; effective: { pooled: boolean }; adminHold?: { status: string; writer: string | null; requested: string } }
async function detail(): Promise<Map<string, HostDetail>> {
  const r = JSON.parse(await text(`${d.url}/v1/pools/eqiad/${SECTION}`)) as { hosts: HostDetail[] };
  return new Map(r.hosts.map((h) => [h.host, h]));
}
const pooledLines = async () => lines(await text(`${d.url}/pools/${SECTION}`)).filter((l) => l.endsWith('/pooled')).length;

t.test('all ten pooled', async (t) => {
  const p = await waitFor('10 pooled', publishedPooled, (x) => x.length === N, 20_000);
  t.same(p, H);
  t.equal(await alerts(), 'OK - All pools are healthy');
});

t.test('7 raw `pooled: no` writes (no audit record): 5 of 10 stay pooled, /alerts names the held hosts and "unknown writer"', async (t) => {
  // One put per host, as confctl, a script or a mirror replaying a backlog writes them.
  for (const h of H.slice(0, 7)) await client.put(confKey(h)).value('{"weight": 10, "pooled": "no"}');
  const p = await waitFor('5 pooled, 2 held', publishedPooled, (x) => x.length === 5 && x.includes(H[5]) && x.includes(H[6]), 15_000);
  t.same(p, H.slice(5), 'first come first depooled: the 6th and 7th writes are held, 5 of 10 stay pooled');
  const want = `CRITICAL - ${SECTION}: admin depool held by threshold: ${H[5]} (by unknown writer), ${H[6]} (by unknown writer)`;
  t.equal(await waitFor('writers looked up', alerts, (a) => a === want, 10_000), want);
  t.equal(await pooledLines(), 5, '/pools shows 5 pooled');
  const det = await detail();
  t.match(det.get(H[5]), { admin: { pooled: 'no' }, effective: { pooled: true }, adminHold: { status: 'held', requested: 'no', writer: 'unknown writer' } });
  t.equal(det.get(H[0])?.adminHold, undefined);
  t.equal(det.get(H[0])?.effective.pooled, false);
  // poolctl status and the metrics say the same.
  const st = await poolctl(['status', SECTION], etcd.clientUrl);
  const row = st.stdout.split('\n').find((l) => l.includes(H[5])) ?? '';
  t.match(row, /\bno\b.*\bpooled\b.*admin depool held by threshold \(by unknown writer\)/);
  t.match(await text(`${d.url}/metrics`), new RegExp(`poold_admin_depools_held\\{dc="eqiad",service="${SECTION}"\\} 2`));
  // It stays that way across check rounds.
  await new Promise((r) => setTimeout(r, 1000));
  t.same(await publishedPooled(), H.slice(5));
});

t.test('a poolctl write of a held host is still held, and /alerts names the poolctl actor (audit record at its revision)', async (t) => {
  // The guard lets this through (conftool already says no, so by conftool the host does not serve);
  // the daemon knows it still serves and holds the new write under its own revision.
  await poolctl(['decommission', H[6], '--reason', 'rack move'], etcd.clientUrl);
  const want = `CRITICAL - ${SECTION}: admin depool held by threshold: ${H[5]} (by unknown writer), ${H[6]} (by tester)`;
  t.equal(await waitFor('poolctl actor named', alerts, (a) => a === want, 15_000), want);
  t.same(await publishedPooled(), H.slice(5), 'still 5 pooled');
  t.match((await detail()).get(H[6])?.adminHold, { status: 'held', requested: 'inactive', writer: 'tester' });
});

t.test('poolctl depool --force releases that host only, through a force marker in the same transaction', async (t) => {
  const r = await poolctl(['depool', H[5], '--force', '--reason', 'known bad'], etcd.clientUrl);
  t.match(r.stdout + r.stderr, H[5]);
  const conf = await client.get(confKey(H[5])).exec();
  const marker = await client.get(`/poold/v1/force/eqiad/ahc/ahsvc/${H[5]}`).exec();
  t.equal(marker.kvs.length, 1, 'a force marker was written');
  t.equal(marker.kvs[0].mod_revision, conf.kvs[0].mod_revision, 'in the same transaction as the conftool write');
  t.match(JSON.parse(marker.kvs[0].value.toString()), { actor: 'tester', reason: 'known bad', key: confKey(H[5]) });
  const p = await waitFor(`${H[5]} depooled`, publishedPooled, (x) => !x.includes(H[5]), 15_000);
  t.same(p, H.slice(6), `${H[5]} left; ${H[6]} is still held`);
  const want = `CRITICAL - ${SECTION}: admin depool held by threshold: ${H[6]} (by tester)`;
  t.equal(await waitFor('only one held', alerts, (a) => a === want, 10_000), want);
  t.match((await detail()).get(H[5])?.adminHold, { status: 'forced', writer: 'tester' });
});

t.test('repooling hosts makes room: the held host is released when there is room', async (t) => {
  await poolctl(['pool', H[0]], etcd.clientUrl);
  // Serving: ah1001 + ah1007..1010 = 5; decommissioning ah1007 leaves 4 of 9, under ceil(4.5) = 5: still held.
  await waitFor(`${H[0]} pooled`, publishedPooled, (x) => x.includes(H[0]), 15_000);
  t.ok((await publishedPooled()).includes(H[6]), `${H[6]} still held with 5 serving`);
  t.match(await alerts(), `held by threshold: ${H[6]}`);
  await poolctl(['pool', H[1]], etcd.clientUrl);
  const p = await waitFor(`${H[6]} released`, publishedPooled, (x) => !x.includes(H[6]) && x.includes(H[1]), 15_000);
  t.same(p, [H[0], H[1], H[7], H[8], H[9]]);
  t.equal(await waitFor('alerts clear', alerts, (a) => a.startsWith('OK'), 10_000), 'OK - All pools are healthy');
});

t.test('a later unforced write makes the force marker stale: the leader deletes it, and the host is held again when it would break', async (t) => {
  await poolctl(['pool', H[5]], etcd.clientUrl);
  await waitFor('stale marker deleted', async () => (await client.get(`/poold/v1/force/eqiad/ahc/ahsvc/${H[5]}`).exec()).kvs.length, (n) => n === 0, 15_000);
  await waitFor(`${H[5]} pooled`, publishedPooled, (x) => x.includes(H[5]), 15_000);
  // 6 serve now (ah1001, ah1002, ah1006, ah1008..1010); two raw depools: the first fits, the second is held.
  await client.put(confKey(H[0])).value('{"weight": 10, "pooled": "no"}');
  await client.put(confKey(H[1])).value('{"weight": 10, "pooled": "no"}');
  const want = `CRITICAL - ${SECTION}: admin depool held by threshold: ${H[1]} (by unknown writer)`;
  t.equal(await waitFor('held again', alerts, (a) => a === want, 15_000), want);
  t.same(await publishedPooled(), [H[1], H[5], H[7], H[8], H[9]]);
});

t.test('a new leader keeps the hold (replayed from the published state): the held host is never dropped', async (t) => {
  const samples: string[][] = [];
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      samples.push(await publishedPooled());
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  await d.stop();
  // While nobody leads, a forced write of ah1010 is followed by a raw write: its marker is stale.
  const markerKey = `/poold/v1/force/eqiad/ahc/ahsvc/${H[9]}`;
  await client.put(markerKey).value(JSON.stringify({ key: confKey(H[9]), op: 'op-x', actor: 'old', reason: '', time: '2026-12-06T00:00:00.000Z' }));
  await client.put(confKey(H[9])).value('{"weight": 10, "pooled": "yes"}');
  d = await startDaemon(etcd.endpoints, { observer: 'ah-b' });
  await waitFor('new leader', async () => d.isLeader, (x) => x, 15_000);
  await waitFor('stale marker swept on election', async () => (await client.get(markerKey).exec()).kvs.length, (n) => n === 0, 15_000);
  const want = `CRITICAL - ${SECTION}: admin depool held by threshold: ${H[1]} (by unknown writer)`;
  t.equal(await waitFor('held after the change of leader', alerts, (a) => a === want, 15_000), want);
  await new Promise((r) => setTimeout(r, 500));
  sampling = false;
  await sampler;
  t.ok(samples.length > 5, `${samples.length} samples`);
  t.same(samples.filter((p) => !p.includes(H[1])), [], `${H[1]} stayed pooled in every sample`);
  t.same(await publishedPooled(), [H[1], H[5], H[7], H[8], H[9]]);
});
